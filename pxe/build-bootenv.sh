#!/bin/bash
# Builds the clonage boot environment into OUTPUT_DIR: vmlinuz, initrd.img and manifest.json.
# Everything comes from Debian packages fetched with `apt-get download` (never installed) into a
# cache, so the build needs no root, and the same packages + SOURCE_DATE_EPOCH give the same bytes.
#
# Usage: pxe/build-bootenv.sh OUTPUT_DIR
# Env:   CLONAGE_DEB_CACHE      .deb cache and unpacked trees (default <repo>/var/cache/debs)
#        CLONAGE_KERNEL_PACKAGE linux-image-<version> (default: what linux-image-amd64 depends on)
#        SOURCE_DATE_EPOCH      timestamps in the initrd and the manifest (default: last commit)
#        CLONAGE_INITRD_COMPRESSION zstd (default) | gzip
#        CLONAGE_FORCE=1        rebuild even when the manifest says the inputs did not change
set -euo pipefail
export LC_ALL=C

OUT=${1:?usage: build-bootenv.sh OUTPUT_DIR}
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$HERE")
CACHE=${CLONAGE_DEB_CACHE:-$ROOT/var/cache/debs}
COMPRESSION=${CLONAGE_INITRD_COMPRESSION:-zstd}
SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git -C "$ROOT" log -1 --format=%ct 2>/dev/null || echo 0)}
case "$SOURCE_DATE_EPOCH" in ''|*[!0-9]*) echo "SOURCE_DATE_EPOCH must be a number" >&2; exit 2 ;; esac
case "$COMPRESSION" in zstd|gzip) ;; *) echo "CLONAGE_INITRD_COMPRESSION: zstd or gzip" >&2; exit 2 ;; esac
for tool in apt-get dpkg-deb depmod modinfo readelf cpio sha256sum "$COMPRESSION"; do
  command -v "$tool" > /dev/null || { echo "build-bootenv: missing host tool: $tool" >&2; exit 2; }
done
mkdir -p "$CACHE" "$OUT"
CACHE=$(cd "$CACHE" && pwd)
OUT=$(cd "$OUT" && pwd)
say() { echo "build-bootenv: $*" >&2; }

# Tools and the packages bringing their shared libraries (the closure is checked below).
TOOL_PKGS=(busybox-static udpcast partclone zstd fdisk util-linux e2fsprogs ntfs-3g)
LIB_PKGS=(libc6 zlib1g liblzma5 liblz4-1 libzstd1 libfdisk1 libsmartcols1 libblkid1 libuuid1
  libtinfo6 libreadline8 libncursesw6 libext2fs2 libcom-err2 libssl3 libntfs-3g89 libgcc-s1)
# Files taken from the unpacked packages: path in the package -> same path in the initrd.
TOOLS=(bin/busybox usr/bin/udp-sender usr/bin/udp-receiver usr/bin/zstd sbin/sfdisk sbin/blkid
  sbin/e2fsck sbin/resize2fs bin/ntfs-3g bin/ntfs-3g.probe usr/sbin/partclone.extfs usr/sbin/partclone.ntfs
  usr/sbin/partclone.fat usr/sbin/partclone.dd usr/sbin/partclone.restore usr/sbin/partclone.info)
# Names the partclone front-ends expect, as symlinks to the real binaries.
TOOL_LINKS=(usr/sbin/partclone.ext2:partclone.extfs usr/sbin/partclone.ext3:partclone.extfs
  usr/sbin/partclone.ext4:partclone.extfs usr/sbin/partclone.vfat:partclone.fat
  sbin/mount.ntfs-3g:/bin/ntfs-3g)

# ---- 1. packages: the candidate version of each, downloaded once into the cache.
KPKG=${CLONAGE_KERNEL_PACKAGE:-$(apt-cache depends linux-image-amd64 2>/dev/null |
  awk '/Depends: linux-image-[0-9]/ { print $2; exit }')}
if [ -z "$KPKG" ]; then   # no apt lists (offline): the newest kernel already in the cache
  KPKG=$(ls "$CACHE" | sed -n 's/^\(linux-image-[0-9][^_]*\)_.*\.deb$/\1/p' | sort -V | tail -n 1)
fi
[ -n "$KPKG" ] || { say "cannot tell which linux-image to use (run apt-get update?)"; exit 1; }
case "$KPKG" in linux-image-[0-9]*) ;; *) say "bad kernel package name: $KPKG"; exit 2 ;; esac
KVER=${KPKG#linux-image-}

ALL_PKGS=("$KPKG" "${TOOL_PKGS[@]}" "${LIB_PKGS[@]}")
# One apt-cache call for all (each call costs seconds): "package version architecture" lines.
CANDIDATES=$(apt-cache show --no-all-versions "${ALL_PKGS[@]}" 2>/dev/null |
  awk '/^Package: /{p=$2} /^Version: /{v=$2} /^Architecture: /{a=$2} /^$/{if (p) print p, v, a; p=""}
       END {if (p) print p, v, a}' || true)
deb_path() { # package -> its .deb in the cache: the apt candidate, or offline the newest cached
  local pkg=$1 line
  line=$(echo "$CANDIDATES" | awk -v p="$pkg" '$1 == p { print $2, $3; exit }')
  [ -z "${CACHE_ONLY:-}" ] || line=
  if [ -n "$line" ]; then
    set -- $line
    echo "$CACHE/${pkg}_${1//:/%3a}_$2.deb"
  else
    ls "$CACHE"/"${pkg}"_*.deb 2>/dev/null | sort -V | tail -n 1
  fi
}
MISSING=()
for pkg in "${ALL_PKGS[@]}"; do
  f=$(deb_path "$pkg")
  [ -n "$f" ] && [ -f "$f" ] && continue
  [ -n "$f" ] || { say "no package $pkg (not in apt lists nor in $CACHE)"; exit 1; }
  MISSING+=("$pkg=$(basename "$f" | cut -d_ -f2 | sed 's/%3a/:/')")
done
if [ ${#MISSING[@]} -gt 0 ]; then
  say "downloading ${MISSING[*]}"
  if ! (cd "$CACHE" && apt-get download -q "${MISSING[@]}" > /dev/null 2>&1); then
    # Mirror unreachable: an older cached version of every package still makes a boot environment.
    CACHE_ONLY=1
    for pkg in "${ALL_PKGS[@]}"; do
      [ -n "$(deb_path "$pkg")" ] || { say "apt-get download failed and no cached $pkg"; exit 1; }
    done
    say "apt-get download failed: using the newest cached packages instead"
  fi
fi
unpacked() { # .deb -> directory where it is unpacked (cached, marked complete by .ok)
  local dir=$CACHE/unpacked/$(basename "$1" .deb)
  if [ ! -f "$dir/.ok" ]; then
    rm -rf "$dir"
    mkdir -p "$dir"
    dpkg-deb -x "$1" "$dir"
    touch "$dir/.ok"
  fi
  echo "$dir"
}

DEBS=()
for pkg in "${ALL_PKGS[@]}"; do
  f=$(deb_path "$pkg")
  [ -f "$f" ] || { say "missing $f after download"; exit 1; }
  DEBS+=("$f")
done
TREES=()
for deb in "${DEBS[@]}"; do TREES+=("$(unpacked "$deb")"); done
KTREE=${TREES[0]}

# ---- 2. did anything change since the last build into OUT?
INPUTS=$( { for deb in "${DEBS[@]}"; do basename "$deb"; done
  echo "$SOURCE_DATE_EPOCH $COMPRESSION"
  (cd "$HERE" && find build-bootenv.sh initramfs agent -type f | sort | xargs sha256sum); } | sha256sum | cut -c1-64)
if [ "${CLONAGE_FORCE:-0}" != 1 ] && [ -f "$OUT/manifest.json" ] && grep -q "\"inputs\": \"$INPUTS\"" "$OUT/manifest.json" &&
   [ -f "$OUT/vmlinuz" ] && [ -f "$OUT/initrd.img" ] &&
   grep -q "\"initrd.img\": \"$(sha256sum "$OUT/initrd.img" | cut -c1-64)\"" "$OUT/manifest.json"; then
  say "up to date: $OUT ($(stat -c %s "$OUT/initrd.img") bytes initrd)"
  exit 0
fi

# ---- 3. staging tree
STAGE=$(mktemp -d "${TMPDIR:-/tmp}/clonage-bootenv.XXXXXX")
trap 'rm -rf "$STAGE"' EXIT
trap 'exit 1' INT TERM HUP PIPE   # so that the EXIT trap also runs when interrupted
S=$STAGE/root
mkdir -p "$S"/{bin,sbin,usr/bin,usr/sbin,lib/x86_64-linux-gnu,lib64,etc,dev,proc,sys,run,tmp,mnt,root}
find_in_trees() { # relative path -> first unpacked package holding it
  local t
  for t in "${TREES[@]}"; do [ -e "$t/$1" ] && { echo "$t/$1"; return 0; }; done
  return 1
}
for f in "${TOOLS[@]}"; do
  src=$(find_in_trees "$f") || { say "no $f in the packages"; exit 1; }
  cp -L "$src" "$S/$f"
done
for l in "${TOOL_LINKS[@]}"; do ln -sf "${l#*:}" "$S/${l%%:*}"; done
# busybox applets as symlinks, except where a real tool (blkid) is already in place.
"$S/bin/busybox" --list-full | while read -r applet; do
  [ -e "$S/$applet" ] || [ -L "$S/$applet" ] || { mkdir -p "$S/$(dirname "$applet")"; ln -s /bin/busybox "$S/$applet"; }
done
install -m 0755 "$HERE/initramfs/init" "$S/init"
mkdir -p "$S/usr/share/clonage/agent"
install -m 0755 "$HERE/initramfs/udhcpc.script" "$S/usr/share/clonage/udhcpc.script"
install -m 0755 "$HERE/initramfs/power" "$S/usr/share/clonage/power"
install -m 0755 "$HERE/agent/clonage-agent.sh" "$S/usr/share/clonage/agent/clonage-agent.sh"
install -m 0644 "$HERE"/agent/agent-*.sh "$S/usr/share/clonage/agent/"
ln -s /proc/mounts "$S/etc/mtab"
printf 'root:x:0:0:root:/root:/bin/sh\n' > "$S/etc/passwd"
printf 'root:x:0:\n' > "$S/etc/group"

# ---- 4. shared libraries: follow DT_NEEDED until closed, taking each from the packages.
ldso=$(find_in_trees lib64/ld-linux-x86-64.so.2) || ldso=$(find_in_trees lib/x86_64-linux-gnu/ld-linux-x86-64.so.2)
cp -L "$ldso" "$S/lib64/ld-linux-x86-64.so.2"
# glibc dlopen()s libgcc_s for pthread_cancel: no DT_NEEDED names it, yet without it udp-sender
# aborts ("libgcc_s.so.1 must be installed for pthread_cancel to work") at the end of a transfer.
gcc_s=$(find_in_trees lib/x86_64-linux-gnu/libgcc_s.so.1) || { say "libgcc_s.so.1 not found (package libgcc-s1)"; exit 1; }
cp -L "$gcc_s" "$S/lib/x86_64-linux-gnu/libgcc_s.so.1"
while :; do
  added=0
  for so in $(find "$S" -type f \( -perm -u+x -o -name '*.so*' \) -exec readelf -d {} + 2>/dev/null |
              sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | sort -u); do
    [ -e "$S/lib/x86_64-linux-gnu/$so" ] || [ "$so" = ld-linux-x86-64.so.2 ] && continue
    src=$(find_in_trees "lib/x86_64-linux-gnu/$so" || find_in_trees "usr/lib/x86_64-linux-gnu/$so") ||
      { say "library $so: add the Debian package holding it to LIB_PKGS"; exit 1; }
    cp -L "$src" "$S/lib/x86_64-linux-gnu/$so"
    added=1
  done
  [ "$added" = 1 ] || break
done

# ---- 5. kernel modules and their dependencies, indexed by depmod for busybox modprobe.
KMOD=$KTREE/lib/modules/$KVER
[ -d "$KMOD" ] || { say "no modules for $KVER in $KPKG"; exit 1; }
SM=$S/lib/modules/$KVER
mkdir -p "$SM"
cp "$KMOD/modules.order" "$KMOD/modules.builtin" "$KMOD/modules.builtin.modinfo" "$SM/"
# "name path" per module, names normalised like the kernel does (crc32c-intel -> crc32c_intel).
(cd "$KMOD" && find kernel -name '*.ko' | sort |
  awk -F/ '{ n = $NF; sub(/\.ko$/, "", n); gsub(/-/, "_", n); print n, $0 }') > "$STAGE/mod-index"
add_module() {
  local name=${1//-/_} path dep
  grep -qx "$name" "$STAGE/mod-done" && return 0
  path=$(awk -v n="$name" '$1 == n { print $2; exit }' "$STAGE/mod-index")
  if [ -z "$path" ]; then
    if sed 's|.*/||; s|\.ko$||; s|-|_|g' "$KMOD/modules.builtin" | grep -qx "$name"; then
      say "module $name is built into $KVER"
      return 0
    fi
    say "module $name not found in $KVER"; exit 1
  fi
  echo "$name" >> "$STAGE/mod-done"
  mkdir -p "$SM/$(dirname "$path")"
  cp "$KMOD/$path" "$SM/$path"
  for dep in $(modinfo -F depends "$KMOD/$path" | tr ',' ' '); do add_module "$dep"; done
}
: > "$STAGE/mod-done"
for m in $(grep -v '^#' "$HERE/initramfs/modules.list"); do add_module "$m"; done
depmod -b "$S" "$KVER"
# busybox modprobe reads the text indexes; the binary ones only cost space.
rm -f "$SM"/*.bin "$SM/modules.builtin.modinfo" "$SM/modules.devname" "$SM/modules.softdep"
DEB_VERSIONS=$(for deb in "${DEBS[@]}"; do dpkg-deb -f "$deb" Package Version | sed 's/^[A-Za-z]*: //' | paste -sd' '; done)
# Derived from the inputs only, so that rebuilding the same inputs gives the same bytes.
VERSION=$(date -u -d "@$SOURCE_DATE_EPOCH" +%Y%m%d)-${INPUTS:0:12}
echo "clonage $VERSION ($KVER)" > "$S/etc/clonage-release"

# ---- 6. the cpio archive: sorted names, owner root, fixed times -> reproducible bytes.
find "$S" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
compress() { if [ "$COMPRESSION" = zstd ]; then zstd -q -19 -T0 -c; else gzip -n -9 -c; fi; }
mkdir -p "$OUT/.tmp"
(cd "$S" && find . -mindepth 1 -print0 | sort -z | cpio --null -o -H newc -R 0:0 --reproducible --quiet) |
  compress > "$OUT/.tmp/initrd.img"
cp "$KTREE/boot/vmlinuz-$KVER" "$OUT/.tmp/vmlinuz"

sha() { sha256sum "$1" | cut -c1-64; }
size() { stat -c %s "$1"; }
{
  echo "{"
  echo "  \"name\": \"clonage\","
  echo "  \"version\": \"$VERSION\","
  echo "  \"entries\": [\"sender\", \"receiver\", \"report\", \"shell\"],"
  echo "  \"kernel\": \"vmlinuz\","
  echo "  \"initrd\": \"initrd.img\","
  echo "  \"kernelVersion\": \"$KVER\","
  echo "  \"initrdCompression\": \"$COMPRESSION\","
  echo "  \"sourceDateEpoch\": $SOURCE_DATE_EPOCH,"
  echo "  \"buildDate\": \"$(date -u -d "@$SOURCE_DATE_EPOCH" +%Y-%m-%dT%H:%M:%SZ)\","
  echo "  \"inputs\": \"$INPUTS\","
  echo "  \"sizes\": { \"vmlinuz\": $(size "$OUT/.tmp/vmlinuz"), \"initrd.img\": $(size "$OUT/.tmp/initrd.img") },"
  echo "  \"sha256\": {"
  echo "    \"vmlinuz\": \"$(sha "$OUT/.tmp/vmlinuz")\","
  echo "    \"initrd.img\": \"$(sha "$OUT/.tmp/initrd.img")\""
  echo "  },"
  echo "  \"packages\": {"
  echo "$DEB_VERSIONS" | awk '{ printf "%s    \"%s\": \"%s\"", (NR > 1 ? ",\n" : ""), $1, $2 } END { print "" }'
  echo "  }"
  echo "}"
} > "$OUT/.tmp/manifest.json"
mv -f "$OUT/.tmp/vmlinuz" "$OUT/.tmp/initrd.img" "$OUT/"
mv -f "$OUT/.tmp/manifest.json" "$OUT/manifest.json"   # last: it vouches for the two others
rmdir "$OUT/.tmp"
say "built $OUT: vmlinuz $(size "$OUT/vmlinuz") bytes, initrd.img $(size "$OUT/initrd.img") bytes ($COMPRESSION), kernel $KVER"
