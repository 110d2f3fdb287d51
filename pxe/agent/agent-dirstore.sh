# Sourced by agent-backup.sh: "directory stores", where the agent itself writes and reads the
# image files (docs/backup-restore.md): the storage partition of the PC (store=partition) and,
# once mounted, an SMB share (store=smb, agent-smb.sh). Same files as the server store, under
# $STORE_DIR/<image>/; a backup is written in $STORE_DIR/.incoming-<job>/, every file re-read and
# checked, the line manifest written LAST (manifest.txt.tmp then renamed), then the directory is
# renamed to the image name. A directory without manifest.txt is never an image.

STORE_MNT= STORE_DIR= SP_NAME= SP_NUM=

# "<path> : start= N, size= N, type=T" lines of an sfdisk dump -> "name start size" per line.
table_entries() { # dump-file
  sed -n 's|^\([^ ]*\) : start= *\([0-9]*\), size= *\([0-9]*\),.*|\1 \2 \3|p' "$1" | while read -r _p _s _z; do
    echo "${_p##*/} $_s $_z"
  done
}

# The storage partition of the job's disk -> SP_NAME, SP_NUM. `auto`: the one partition whose
# filesystem label is CLONAGE (none or several: refused). A named one must be of the job's disk.
find_storage_part() { # disk-dump-file
  if [ "$J_STORAGE_PART" = auto ]; then
    SP_NAME= _found=0
    for _p in $(table_entries "$1" | awk '{ print $1 }'); do
      valid_disk_part "$_p" 1 || continue
      [ "$(blkid -o value -s LABEL "$DEV_DIR/$_p" 2>/dev/null)" = CLONAGE ] || continue
      SP_NAME=$_p _found=$((_found + 1))
    done
    [ "$_found" = 1 ] || {
      if [ "$_found" = 0 ]; then REFUSAL="no partition labelled CLONAGE on $J_DISK, storage_part=auto"
      else REFUSAL="$_found partitions labelled CLONAGE on $J_DISK: name the storage partition"; fi
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
  STORE_MNT=$WORK/store
  mkdir -p "$STORE_MNT"
  _t=$(blkid -o value -s TYPE "$DEV_DIR/$SP_NAME" 2>/dev/null)
  case "$_t:$1" in
    ext2:rw|ext3:rw|ext4:rw) mount -t "$_t" "$DEV_DIR/$SP_NAME" "$STORE_MNT" ;;
    ext2:ro|ext3:ro|ext4:ro) mount -t "$_t" -o ro "$DEV_DIR/$SP_NAME" "$STORE_MNT" ;;
    ext2:peek|ext3:peek|ext4:peek) mount -t "$_t" -o ro,noload "$DEV_DIR/$SP_NAME" "$STORE_MNT" ;;
    ntfs:rw) ntfs-3g "$DEV_DIR/$SP_NAME" "$STORE_MNT" ;;
    ntfs:ro|ntfs:peek) ntfs-3g -o ro "$DEV_DIR/$SP_NAME" "$STORE_MNT" ;;
    *) REFUSAL="storage partition $SP_NAME holds ${_t:-no filesystem}, ext4 or NTFS expected"; return 1 ;;
  esac 2> "$WORK/mount.err" || { REFUSAL="storage partition $SP_NAME could not be mounted ($1): $(head -n 1 "$WORK/mount.err")"; return 1; }
  STORE_DIR=$STORE_MNT/clonage
  if [ "$1" = rw ]; then
    mkdir -p "$STORE_DIR" || { REFUSAL="cannot create clonage/ on $SP_NAME"; store_umount; return 1; }
    # Leftovers of a backup that died: only one agent uses this partition at a time.
    for _l in "$STORE_DIR"/.incoming-* "$STORE_DIR"/.trash-*; do [ -e "$_l" ] && rm -rf "$_l"; done
  fi
  return 0
}

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
  _src=$STORE_DIR/$M_DIR/$1
  [ "$1" = manifest ] && _src=$STORE_DIR/$M_DIR/manifest.txt
  HTTP_STATUS=none
  cp "$_src" "$2" 2>/dev/null
}

# The image a restore reads: the job's, or the newest directory with a manifest.txt.
dir_choose_image() {
  if [ -n "$J_IMAGE" ]; then M_DIR=$J_IMAGE; [ -f "$STORE_DIR/$M_DIR/manifest.txt" ]; return; fi
  M_DIR=
  for _m in $(ls -t "$STORE_DIR"/*/manifest.txt 2>/dev/null); do
    _n=${_m%/manifest.txt}; _n=${_n##*/}
    case "$_n" in .*|-*|*[!A-Za-z0-9_.-]*) continue ;; esac
    M_DIR=$_n; return 0
  done
  return 1
}

# backup: every file listed is read again (size + SHA-256), then manifest.txt, then the rename.
dir_commit() { # manifest-file
  _stage=$STORE_DIR/.incoming-$JOB
  awk '$1 == "table" || $1 == "head" { print $2, $3, $4 } $1 == "chunk" { print $3, $4, $5 }' "$1" > "$WORK/d.files"
  while read -r _f _b _s; do
    check_file "$_stage/$_f" "$_b" "$_s" || { REFUSAL="$_f differs on the ${J_STORE} store after writing"; return 1; }
  done < "$WORK/d.files"
  cp "$1" "$_stage/manifest.txt.tmp" && sync && mv "$_stage/manifest.txt.tmp" "$_stage/manifest.txt" ||
    { REFUSAL="manifest not written"; return 1; }
  if [ -e "$STORE_DIR/$J_IMAGE" ]; then mv "$STORE_DIR/$J_IMAGE" "$STORE_DIR/.trash-$JOB" || { REFUSAL="old $J_IMAGE not moved aside"; return 1; }; fi
  mv "$_stage" "$STORE_DIR/$J_IMAGE" || { REFUSAL="rename to $J_IMAGE failed"; return 1; }
  rm -rf "$STORE_DIR/.trash-$JOB"
  sync
}

# Retention decided by the server: the `deleted=a,b` line of its commit answer.
dir_retention() { # commit-answer
  _del=$(sed -n 's/^deleted=//p' "$1" | head -n 1)
  for _n in $(echo "$_del" | tr ',' ' '); do
    case "$_n" in .*|-*|*[!A-Za-z0-9_.-]*) continue ;; esac
    [ "$_n" != "$J_IMAGE" ] && [ -d "$STORE_DIR/$_n" ] || continue
    mv "$STORE_DIR/$_n" "$STORE_DIR/.trash-$JOB" && rm -rf "$STORE_DIR/.trash-$JOB" && log "retention: removed $_n from the ${J_STORE} store"
  done
  sync
}

# Restore from the storage partition: the image's entry for it must be the disk's own, same
# start and size, or writing the image's table would move, shrink or overlap it.
check_storage_kept() { # image-table current-dump
  _img=$(table_entries "$1" | awk -v n="$SP_NUM" '{ k = $1; sub(/.*[^0-9]/, "", k); if (k == n) print $2, $3 }')
  _cur=$(table_entries "$2" | awk -v p="$SP_NAME" '$1 == p { print $2, $3 }')
  [ -n "$_cur" ] && [ "$_img" = "$_cur" ] && return 0
  REFUSAL="the partition table of image $M_IMAGE would move or overwrite the storage partition $SP_NAME, start and size on the disk: ${_cur:-none}, in the image: ${_img:-none}"
  return 1
}

# Report: the images on the storage partition(s) of the listed disks, one line each:
# "backup <partition> <image> <mtime-epoch> <bytes> complete|incomplete". Complete = a
# manifest.txt that parses and every file it lists present with its size (not re-hashed).
report_store() {
  for _d in $(report_disks); do
    valid_disk "$_d" || continue
    sfdisk -d "$DEV_DIR/$_d" > "$WORK/rs.dump" 2>/dev/null || continue
    for _p in $(table_entries "$WORK/rs.dump" | awk '{ print $1 }'); do
      valid_disk_part "$_p" 1 || continue
      [ "$(blkid -o value -s LABEL "$DEV_DIR/$_p" 2>/dev/null)" = CLONAGE ] || continue
      SP_NAME=$_p
      echo "storage $_p"
      store_mount peek 2>/dev/null || { echo "error $_p not mountable"; continue; }
      for _i in "$STORE_DIR"/*; do
        [ -d "$_i" ] || continue
        _n=${_i##*/}
        case "$_n" in -*|*[!A-Za-z0-9_.-]*) continue ;; esac
        _state=incomplete _t=$(stat -c %Y "$_i" 2>/dev/null)
        if [ -f "$_i/manifest.txt" ] && parse_manifest "$_i/manifest.txt" 2>/dev/null; then
          _state=complete _t=$(stat -c %Y "$_i/manifest.txt")
          while read -r _f _b _s; do [ "$(stat -c %s "$_i/$_f" 2>/dev/null)" = "$_b" ] || _state=incomplete; done < "$WORK/r.files"
        fi
        echo "backup $_p $_n ${_t:-0} $(($(du -sk "$_i" | awk '{ print $1 }') * 1024)) $_state"
      done
      store_umount
      STORE_MNT= STORE_DIR=
    done
  done
}
