# Sourced by agent-backup.sh: restore from the server image store (docs/backup-restore.md).
# The manifest first; a target disk smaller than the image's disk is refused; every file is
# downloaded and its SHA-256 checked BEFORE anything is written; then the partition table, the
# boot code, and each partition streamed from pieces checked again into partclone.restore.
# Helpers (get_file, check_file, decompress, part_name, valid_*) are in agent-backup.sh.
# store=partition / smb: the image is read from the mounted directory store (agent-dirstore.sh),
# with the same checks; the storage partition is unmounted while the table is written, and its
# entry in the image's table must be the disk's own (same start and size), else nothing is written.

# The server's line manifest -> r.files (every file, restore order), r.parts, r.chunks, M_*.
parse_manifest() {
  : > "$WORK/r.files"; : > "$WORK/r.parts"; : > "$WORK/r.chunks"
  M_IMAGE= M_DISK_SIZE= M_SS=512 M_HEAD= _cn=0 _end= _line=0 REFUSAL="malformed manifest"
  while IFS=' ' read -r _k _a _b _c _d _e _f _g _h _x; do
    _line=$((_line + 1))
    if [ "$_line" = 1 ]; then [ "$_k $_a" = "clonage-image 1" ] || return 1; continue; fi
    for _w in "$_k" "$_a" "$_b" "$_c" "$_d" "$_e" "$_f" "$_g" "$_h" "$_x"; do valid_value "$_w" || return 1; done
    case "$_k" in
      image) M_IMAGE=$_a ;;
      disk) is_number "$_b" 16 && is_number "$_c" 5 || return 1; M_DISK_SIZE=$_b M_SS=$_c ;;
      table|head)
        valid_file "$_a" && is_number "$_b" 16 && valid_sha "$_c" || return 1
        echo "$_a $_b $_c" >> "$WORK/r.files"
        [ "$_k" = head ] && M_HEAD=$_a ;;
      part)
        valid_disk_part "$_b" "$_a" && is_number "$_g" 16 && is_number "$_h" 16 || return 1
        case "$_e:$_f" in partclone:*|raw:*|none:*) ;; *) return 1 ;; esac
        case "$_f" in none|zstd|gzip|lzop) ;; *) return 1 ;; esac
        echo "$_a $_b $_c $_e $_f $_g" >> "$WORK/r.parts" ;;
      chunk)
        is_number "$_a" 3 && valid_file "$_b" && is_number "$_c" 16 && valid_sha "$_d" || return 1
        echo "$_a $_b $_c $_d" >> "$WORK/r.chunks"
        echo "$_b $_c $_d" >> "$WORK/r.files"
        _cn=$((_cn + 1)) ;;
      end) _end=$_a ;;
      tool|chunk_bytes|store) ;;
      *) return 1 ;;
    esac
  done < "$1"
  [ "$_end" = "$_cn" ] && [ -n "$M_DISK_SIZE" ] && head -n 1 "$WORK/r.files" | grep -q '^table.sfdisk '
}

# stdout: the pieces of partition $1, each checked again before it is passed on.
fetch_pieces() { # number done-bytes total-bytes
  _d=$2
  while read -r _n _f _b _s <&4; do
    [ "$_n" = "$1" ] || continue
    get_file "$_f" "$WORK/piece" && check_file "$WORK/piece" "$_b" "$_s" ||
      { echo "piece $_f changed on $WHERE or could not be read, HTTP ${HTTP_STATUS:-none}" > "$WORK/up.fail"; return 1; }
    cat "$WORK/piece" || return 1
    _d=$((_d + _b))
    _pct=$((_d / ($3 / 100 + 1))); [ "$_pct" -le 99 ] || _pct=99
    _pb=$_d
    post_progress restore "$_pct" "$_d" "$(rate_since "$2")" < /dev/null
  done 4< "$WORK/r.chunks"
  rm -f "$WORK/piece"
}

reread_partitions() { # disk-path
  sync
  blockdev --rereadpt "$1" 2>/dev/null
  # Where the kernel ignores BLKRRPART (loop devices on some kernels) and partx exists.
  command -v partx > /dev/null 2>&1 && partx -u "$1" 2>/dev/null
  return 0
}

run_restore() {
  restore_from_store
  _rc=$?
  store_umount
  return "$_rc"
}

restore_from_store() {
  read_image_keys || fail_with 2 "$REFUSAL" || return
  _disk=$DEV_DIR/$J_DISK
  wait_for_disk "$_disk" && [ -b "$_disk" ] || fail_with 4 "disk $J_DISK not found or not a block device" || return
  WHERE="the server"
  if [ "$J_STORE" != server ]; then
    sfdisk -d "$_disk" > "$WORK/current.sfdisk" 2>/dev/null || : > "$WORK/current.sfdisk"
    open_store ro "$WORK/current.sfdisk" || fail_with 6 "$REFUSAL: nothing written" || return
    WHERE="the $J_STORE store"; [ -z "$SP_NAME" ] || WHERE="the storage partition $SP_NAME"
    dir_choose_image || fail_with 6 "no image ${J_IMAGE:-at all} on $WHERE: nothing written" || return
  fi
  get_file manifest "$WORK/manifest.txt" ||
    fail_with 6 "no image ${J_IMAGE:-at all} on $WHERE for this machine, HTTP ${HTTP_STATUS:-none}: nothing written" || return
  parse_manifest "$WORK/manifest.txt" || fail_with 6 "$REFUSAL: nothing written" || return
  _tsize=$(disk_size "$_disk")
  [ "$_tsize" -ge "$M_DISK_SIZE" ] ||
    fail_with 6 "target disk $J_DISK is smaller than the disk of image $M_IMAGE: $_tsize bytes, $M_DISK_SIZE needed: nothing written" || return
  _tss=$(blockdev --getss "$_disk" 2>/dev/null); is_number "$_tss" 5 || _tss=512
  [ "$_tss" = "$M_SS" ] || fail_with 6 "sector size of $J_DISK is $_tss, the image has $M_SS: nothing written" || return
  _total=$(awk '{ t += $2 } END { printf "%d", t }' "$WORK/r.files")
  log "restore of image $M_IMAGE ($_total bytes) onto $J_DISK: checking every file first"
  # 1. Every file, downloaded and hashed, before the disk is touched.
  post_progress verify 0 0 0
  _d=0
  while read -r _f _b _s <&3; do
    get_file "$_f" "$WORK/piece" && check_file "$WORK/piece" "$_b" "$_s" ||
      fail_with 7 "image file $_f is missing or corrupt on $WHERE, size or SHA-256 differs, HTTP ${HTTP_STATUS:-none}: nothing written" || return
    case "$_f" in table.sfdisk|"$M_HEAD") cp "$WORK/piece" "$WORK/r.$_f" ;; esac
    _d=$((_d + _b))
    post_progress verify $((_d / (_total / 100 + 1))) "$_d" 0
  done 3< "$WORK/r.files"
  rm -f "$WORK/piece"
  if [ -n "$SP_NAME" ]; then
    check_storage_kept "$WORK/r.table.sfdisk" "$WORK/current.sfdisk" || fail_with 6 "$REFUSAL: nothing written" || return
    store_umount   # the kernel re-reads a table only when none of the disk's partitions is mounted
  fi
  # 2. Partition table (without the old device name and last LBA: sfdisk fits a larger disk),
  #    boot code, and on DOS disks the gap before the first partition.
  log "all files verified; writing the partition table of $M_IMAGE"
  grep -v -e '^device:' -e '^last-lba:' "$WORK/r.table.sfdisk" > "$WORK/table.apply"
  sfdisk -q "$_disk" < "$WORK/table.apply" > "$WORK/sfdisk.out" 2>&1 ||
    fail_with 8 "sfdisk could not write the partition table: $(tail -n 1 "$WORK/sfdisk.out")" || return
  if [ -n "$M_HEAD" ]; then
    dd if="$WORK/r.$M_HEAD" of="$_disk" bs=440 count=1 conv=notrunc 2>/dev/null
    _n=$(($(stat -c %s "$WORK/r.$M_HEAD") / M_SS))
    grep -q '^label: dos' "$WORK/r.table.sfdisk" && [ "$_n" -gt 1 ] &&
      dd if="$WORK/r.$M_HEAD" of="$_disk" bs="$M_SS" skip=1 seek=1 count=$((_n - 1)) conv=notrunc 2>/dev/null
  fi
  reread_partitions "$_disk"
  if [ -n "$SP_NAME" ]; then
    _i=0
    while [ ! -b "$DEV_DIR/$SP_NAME" ] && [ "$_i" -lt 20 ]; do sleep 0.5; _i=$((_i + 1)); done
    store_mount ro || fail_with 8 "$REFUSAL after writing the partition table: partitions not written" || return
  fi
  # 3. Partitions, in order, each from its pieces (checked again on the way).
  _d=0
  while read -r _num _name _fs _mode _comp _psize <&3; do
    _dev=$DEV_DIR/$(part_name "$J_DISK" "$_num")
    [ "$_num" != "$SP_NUM" ] || { log "${_dev##*/}: the storage partition, left as it is"; continue; }
    _i=0
    while [ ! -b "$_dev" ] && [ "$_i" -lt 20 ]; do sleep 0.5; _i=$((_i + 1)); done
    [ -b "$_dev" ] || fail_with 8 "partition $_num of $J_DISK did not appear after writing the table" || return
    log "${_dev##*/}: $_fs ($_mode)"
    rm -f "$WORK/up.fail" "$WORK/pc.rc" "$WORK/z.rc"
    STAGE_T0=$(uptime_cs)
    case "$_mode" in
      none) [ "$_fs" = swap ] && mkswap "$_dev" > /dev/null 2>&1; continue ;;
      partclone) set -- partclone.restore -s - -o "$_dev" -L "$WORK/partclone.log" ;;
      raw) set -- dd of="$_dev" bs=1048576 ;;
    esac
    { fetch_pieces "$_num" "$_d" "$_total"; } | { decompress "$_comp"; echo "$?" > "$WORK/z.rc"; } |
      { "$@" > "$WORK/pc.err" 2>&1; echo "$?" > "$WORK/pc.rc"; }
    [ ! -s "$WORK/up.fail" ] || fail_with 8 "${_dev##*/}: $(cat "$WORK/up.fail"), partition partly written" || return
    [ "$(cat "$WORK/z.rc" 2>/dev/null)" = 0 ] || fail_with 8 "${_dev##*/}: decompression failed" || return
    [ "$(cat "$WORK/pc.rc" 2>/dev/null)" = 0 ] || {
      tr '\r' '\n' < "$WORK/pc.err" | grep -v -e Elapsed -e '^ *$' | tail -n 5 >> "$LOG"
      fail_with 8 "${_dev##*/}: $1 failed, exit $(cat "$WORK/pc.rc" 2>/dev/null)"; return; }
    _d=$((_d + $(awk -v n="$_num" '$1 == n { t += $3 } END { printf "%d", t }' "$WORK/r.chunks")))
  done 3< "$WORK/r.parts"
  sync
  log "image $M_IMAGE restored onto $J_DISK"
  post_progress done 100 "$_total" 0
}
