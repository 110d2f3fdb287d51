# Loaded by clonage-agent.sh: "directory stores", where the agent itself writes and reads the
# image files (docs/backup-restore.md): the storage partition of the PC (store=partition) and,
# once mounted, an SMB share (store=smb, agent-smb.sh). Same files as the server store, under
# $STORE_DIR/<image>/; a backup is written in $STORE_DIR/.incoming-<job>/, every file re-read and
# checked, the line manifest written LAST (manifest.txt.tmp then renamed), then the directory is
# renamed to the image name. A directory without manifest.txt is never an image.

STORE_MNT= STORE_DIR= SP_NAME= SP_NUM=

# "<path> : start= N, size= N, type=T" lines of an sfdisk dump -> "name start size" per line.
table_entries() { # dump-file
  local p s z
  sed -n 's|^\([^ ]*\) : start= *\([0-9]*\), size= *\([0-9]*\),.*|\1 \2 \3|p' "$1" | while read -r p s z; do
    echo "${p##*/} $s $z"
  done
}

# The storage partition of the job's disk -> SP_NAME, SP_NUM. `auto`: the one partition whose
# filesystem label is CLONAGE (none or several: refused). A named one must be of the job's disk.
find_storage_part() { # disk-dump-file
  local p found=0
  if [ "$J_STORAGE_PART" = auto ]; then
    SP_NAME=
    for p in $(table_entries "$1" | awk '{ print $1 }'); do
      valid_disk_part "$p" 1 || continue
      [ "$(blkid -o value -s LABEL "$DEV_DIR/$p" 2>/dev/null)" = CLONAGE ] || continue
      SP_NAME=$p found=$((found + 1))
    done
    [ "$found" = 1 ] || {
      if [ "$found" = 0 ]; then REFUSAL="no partition labelled CLONAGE on $J_DISK, storage_part=auto"
      else REFUSAL="$found partitions labelled CLONAGE on $J_DISK: name the storage partition"; fi
      return 1; }
  else
    SP_NAME=$J_STORAGE_PART
    table_entries "$1" | awk '{ print $1 }' | grep -qx "$SP_NAME" ||
      { REFUSAL="storage partition $SP_NAME is not a partition of $J_DISK"; return 1; }
  fi
  SP_NUM=${SP_NAME##*[!0-9]}
  [ -b "$DEV_DIR/$SP_NAME" ] || { REFUSAL="storage partition $SP_NAME not found"; return 1; }
}

# Mounts the storage partition (ext2/3/4 natively, NTFS with ntfs-3g) on $WORK/store. `peek`
# (reports) is read-only for real: ext4's noload does not replay a dirty journal; a restore's `ro`
# lets the kernel replay it, so that the images are read from a consistent filesystem.
store_mount() { # rw|ro|peek
  local fs left
  STORE_MNT=$WORK/store
  mkdir -p "$STORE_MNT"
  fs=$(blkid -o value -s TYPE "$DEV_DIR/$SP_NAME" 2>/dev/null)
  case "$fs:$1" in
    ext2:rw|ext3:rw|ext4:rw) mount -t "$fs" "$DEV_DIR/$SP_NAME" "$STORE_MNT" ;;
    ext2:ro|ext3:ro|ext4:ro) mount -t "$fs" -o ro "$DEV_DIR/$SP_NAME" "$STORE_MNT" ;;
    ext2:peek|ext3:peek|ext4:peek) mount -t "$fs" -o ro,noload "$DEV_DIR/$SP_NAME" "$STORE_MNT" ;;
    ntfs:rw) ntfs-3g "$DEV_DIR/$SP_NAME" "$STORE_MNT" ;;
    ntfs:ro|ntfs:peek) ntfs-3g -o ro "$DEV_DIR/$SP_NAME" "$STORE_MNT" ;;
    *) REFUSAL="storage partition $SP_NAME holds ${fs:-no filesystem}, ext4 or NTFS expected"; return 1 ;;
  esac 2> "$WORK/mount.err" || { REFUSAL="storage partition $SP_NAME could not be mounted ($1): $(head -n 1 "$WORK/mount.err")"; return 1; }
  STORE_DIR=$STORE_MNT/clonage
  if [ "$1" = rw ]; then
    mkdir -p "$STORE_DIR" || { REFUSAL="cannot create clonage/ on $SP_NAME"; store_umount; return 1; }
    # Leftovers of a backup that died: only one agent uses this partition at a time.
    for left in "$STORE_DIR"/.incoming-* "$STORE_DIR"/.trash-*; do [ -e "$left" ] && rm -rf "$left"; done
  fi
  return 0
}

# Also the agent's exit trap (agent_cleanup): a no-op when nothing is mounted.
store_umount() {
  [ -n "$STORE_MNT" ] && grep -q " $STORE_MNT " /proc/mounts || return 0
  sync
  umount "$STORE_MNT" 2>/dev/null || { sleep 1; umount "$STORE_MNT" 2>/dev/null; } || log "could not unmount $STORE_MNT"
}

# backup: one file into the job's staging dir, read back and compared (sets PUT_BYTES PUT_SHA).
dir_put() { # local-file name
  PUT_BYTES=$(stat -c %s "$1") PUT_SHA=$(sha_of "$1") PUT_ERR= HTTP_STATUS=
  mkdir -p "$STORE_DIR/.incoming-$JOB" && cp "$1" "$STORE_DIR/.incoming-$JOB/$2" 2> "$WORK/cp.err" ||
    { PUT_ERR=$(head -n 1 "$WORK/cp.err" | sed 's|^.*: ||' | tr -c 'A-Za-z0-9 ._:/,-' '_'); return 1; }
  check_file "$STORE_DIR/.incoming-$JOB/$2" "$PUT_BYTES" "$PUT_SHA" || { PUT_ERR="file read back differs"; return 1; }
}

# restore: one file of the chosen image (`manifest` is its manifest.txt).
dir_get() { # name outfile
  local src=$STORE_DIR/$M_DIR/$1
  [ "$1" = manifest ] && src=$STORE_DIR/$M_DIR/manifest.txt
  HTTP_STATUS=none
  cp "$src" "$2" 2>/dev/null
}

# The image a restore reads: the job's, or the newest directory with a manifest.txt.
dir_choose_image() {
  local m n
  if [ -n "$J_IMAGE" ]; then M_DIR=$J_IMAGE; [ -f "$STORE_DIR/$M_DIR/manifest.txt" ]; return; fi
  M_DIR=
  for m in $(ls -t "$STORE_DIR"/*/manifest.txt 2>/dev/null); do
    n=${m%/manifest.txt}; n=${n##*/}
    valid_image_name "$n" || continue
    M_DIR=$n; return 0
  done
  return 1
}

# backup: every file listed is read again (size + SHA-256), then manifest.txt, then the rename.
dir_commit() { # manifest-file
  local stage=$STORE_DIR/.incoming-$JOB f b s
  awk '$1 == "table" || $1 == "head" { print $2, $3, $4 } $1 == "chunk" { print $3, $4, $5 }' "$1" > "$WORK/d.files"
  while read -r f b s; do
    check_file "$stage/$f" "$b" "$s" || { REFUSAL="$f differs on the ${J_STORE} store after writing"; return 1; }
  done < "$WORK/d.files"
  cp "$1" "$stage/manifest.txt.tmp" && sync && mv "$stage/manifest.txt.tmp" "$stage/manifest.txt" ||
    { REFUSAL="manifest not written"; return 1; }
  if [ -e "$STORE_DIR/$J_IMAGE" ]; then mv "$STORE_DIR/$J_IMAGE" "$STORE_DIR/.trash-$JOB" || { REFUSAL="old $J_IMAGE not moved aside"; return 1; }; fi
  mv "$stage" "$STORE_DIR/$J_IMAGE" || { REFUSAL="rename to $J_IMAGE failed"; return 1; }
  rm -rf "$STORE_DIR/.trash-$JOB"
  sync
}

# Retention decided by the server: the `deleted=a,b` line of its commit answer.
dir_retention() { # commit-answer
  local n
  for n in $(sed -n 's/^deleted=//p' "$1" | head -n 1 | tr ',' ' '); do
    valid_image_name "$n" || continue
    [ -n "$n" ] && [ "$n" != "$J_IMAGE" ] && [ -d "$STORE_DIR/$n" ] || continue
    mv "$STORE_DIR/$n" "$STORE_DIR/.trash-$JOB" && rm -rf "$STORE_DIR/.trash-$JOB" && log "retention: removed $n from the ${J_STORE} store"
  done
  sync
}

# Restore from the storage partition: the image's entry for it must be the disk's own, same
# start and size, or writing the image's table would move, shrink or overlap it.
check_storage_kept() { # image-table current-dump
  local img cur
  img=$(table_entries "$1" | awk -v n="$SP_NUM" '{ k = $1; sub(/.*[^0-9]/, "", k); if (k == n) print $2, $3 }')
  cur=$(table_entries "$2" | awk -v p="$SP_NAME" '$1 == p { print $2, $3 }')
  [ -n "$cur" ] && [ "$img" = "$cur" ] && return 0
  REFUSAL="the partition table of image $M_IMAGE would move or overwrite the storage partition $SP_NAME, start and size on the disk: ${cur:-none}, in the image: ${img:-none}"
  return 1
}

# Report: the images on the storage partition(s) of the listed disks, one line each:
# "backup <partition> <image> <mtime-epoch> <bytes> complete|incomplete". Complete = a
# manifest.txt that parses and every file it lists present with its size (not re-hashed).
report_store() {
  local d p dir n state t f b s
  for d in $(report_disks); do
    valid_disk "$d" || continue
    sfdisk -d "$DEV_DIR/$d" > "$WORK/rs.dump" 2>/dev/null || continue
    for p in $(table_entries "$WORK/rs.dump" | awk '{ print $1 }'); do
      valid_disk_part "$p" 1 || continue
      [ "$(blkid -o value -s LABEL "$DEV_DIR/$p" 2>/dev/null)" = CLONAGE ] || continue
      SP_NAME=$p
      echo "storage $p"
      store_mount peek 2>/dev/null || { echo "error $p not mountable"; continue; }
      for dir in "$STORE_DIR"/*; do
        [ -d "$dir" ] || continue
        n=${dir##*/}
        case "$n" in -*|*[!A-Za-z0-9_.-]*) continue ;; esac
        state=incomplete t=$(stat -c %Y "$dir" 2>/dev/null)
        if [ -f "$dir/manifest.txt" ] && parse_manifest "$dir/manifest.txt" 2>/dev/null; then
          state=complete t=$(stat -c %Y "$dir/manifest.txt")
          while read -r f b s; do [ "$(stat -c %s "$dir/$f" 2>/dev/null)" = "$b" ] || state=incomplete; done < "$WORK/r.files"
        fi
        echo "backup $p $n ${t:-0} $(($(du -sk "$dir" | awk '{ print $1 }') * 1024)) $state"
      done
      store_umount
      STORE_MNT= STORE_DIR=
    done
  done
}
