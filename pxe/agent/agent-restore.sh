# Loaded by clonage-agent.sh: restore from the server image store (docs/backup-restore.md).
# The manifest first; a target disk smaller than the image's disk is refused; every file is
# downloaded and its SHA-256 checked BEFORE anything is written; then the partition table, the
# boot code, and each partition streamed from pieces checked again into partclone.restore.
# store=partition / smb: the image is read from the mounted directory store (agent-dirstore.sh),
# with the same checks; the storage partition is unmounted while the table is written, and its
# entry in the image's table must be the disk's own (same start and size), else nothing is written.
# Shared helpers (get_file, parse_manifest, write_table …) are in agent-image.sh.

run_restore() {
  local rc
  restore_from_store
  rc=$?
  store_umount
  return "$rc"
}

restore_from_store() {
  local disk=$DEV_DIR/$J_DISK total
  wait_block_device "$disk" || fail_with "$EXIT_NO_DISK" "disk $J_DISK not found or not a block device" || return
  WHERE="the server"
  if [ "$J_STORE" != server ]; then
    sfdisk -d "$disk" > "$WORK/current.sfdisk" 2>/dev/null || : > "$WORK/current.sfdisk"
    open_store ro "$WORK/current.sfdisk" || fail_with "$EXIT_REFUSED" "$REFUSAL: nothing written" || return
    WHERE="the $J_STORE store"; [ -z "$SP_NAME" ] || WHERE="the storage partition $SP_NAME"
    dir_choose_image || fail_with "$EXIT_REFUSED" "no image ${J_IMAGE:-at all} on $WHERE: nothing written" || return
  fi
  get_file manifest "$WORK/manifest.txt" ||
    fail_with "$EXIT_REFUSED" "no image ${J_IMAGE:-at all} on $WHERE for this machine, HTTP ${HTTP_STATUS:-none}: nothing written" || return
  parse_manifest "$WORK/manifest.txt" || fail_with "$EXIT_REFUSED" "$REFUSAL: nothing written" || return
  check_target_disk "$disk" || return
  total=$(awk '{ t += $2 } END { printf "%d", t }' "$WORK/r.files")
  log "restore of image $M_IMAGE ($total bytes) onto $J_DISK: checking every file first"
  verify_image_files "$total" || return
  if [ -n "$SP_NAME" ]; then
    check_storage_kept "$WORK/r.table.sfdisk" "$WORK/current.sfdisk" || fail_with "$EXIT_REFUSED" "$REFUSAL: nothing written" || return
    store_umount   # the kernel re-reads a table only when none of the disk's partitions is mounted
  fi
  log "all files verified; writing the partition table of $M_IMAGE"
  DISK_TOUCHED=1
  write_table "$disk" || return
  if [ -n "$SP_NAME" ]; then
    wait_block_device "$DEV_DIR/$SP_NAME"
    store_mount ro || fail_with "$EXIT_TRANSFER" "$REFUSAL after writing the partition table: partitions not written" || return
  fi
  restore_partitions "$total" || return
  sync
  log "image $M_IMAGE restored onto $J_DISK"
  post_progress done 100 "$total" 0
}

# 1. Every file, downloaded and hashed, before the disk is touched; the table and the boot area
# are kept as r.<file> for write_table.
verify_image_files() { # total-bytes
  local f b s sofar=0
  post_progress verify 0 0 0
  while read -r f b s <&3; do
    get_file "$f" "$WORK/piece" && check_file "$WORK/piece" "$b" "$s" ||
      fail_with "$EXIT_CORRUPT" "image file $f is missing or corrupt on $WHERE, size or SHA-256 differs, HTTP ${HTTP_STATUS:-none}: nothing written" || return
    case "$f" in table.sfdisk|"$M_HEAD") cp "$WORK/piece" "$WORK/r.$f" ;; esac
    sofar=$((sofar + b))
    post_progress verify $((sofar / ($1 / 100 + 1))) "$sofar" 0
  done 3< "$WORK/r.files"
  rm -f "$WORK/piece"
}

# 3. Partitions, in order, each from its pieces (checked again on the way).
restore_partitions() { # total-bytes
  local num name fs mode comp psize sofar=0 t0
  while read -r num name fs mode comp psize <&3; do
    [ "$num" != "$SP_NUM" ] || { log "$(part_name "$J_DISK" "$num"): the storage partition, left as it is"; continue; }
    wait_partition "$num" || return
    log "${PART_DEV##*/}: $fs ($mode)"
    rm -f "$WORK/up.fail" "$WORK/pc.rc" "$WORK/z.rc"
    case "$mode" in none) [ "$fs" = swap ] && mkswap "$PART_DEV" > /dev/null 2>&1; continue ;; esac
    t0=$(uptime_cs)
    { fetch_pieces "$num" "$sofar" "$1" "$t0"; } | { decompress "$comp"; echo "$?" > "$WORK/z.rc"; } |
      { write_stream "$mode" "$PART_DEV" > "$WORK/pc.err" 2>&1; echo "$?" > "$WORK/pc.rc"; }
    [ ! -s "$WORK/up.fail" ] || fail_with "$EXIT_TRANSFER" "${PART_DEV##*/}: $(cat "$WORK/up.fail"), partition partly written" || return
    [ "$(cat "$WORK/z.rc" 2>/dev/null)" = 0 ] || fail_with "$EXIT_TRANSFER" "${PART_DEV##*/}: decompression failed" || return
    [ "$(cat "$WORK/pc.rc" 2>/dev/null)" = 0 ] || {
      tr '\r' '\n' < "$WORK/pc.err" | grep -v -e Elapsed -e '^ *$' | tail -n 5 >> "$LOG"
      fail_with "$EXIT_TRANSFER" "${PART_DEV##*/}: writing the partition ($mode) failed, exit $(cat "$WORK/pc.rc" 2>/dev/null)"; return; }
    sofar=$((sofar + $(awk -v n="$num" '$1 == n { t += $3 } END { printf "%d", t }' "$WORK/r.chunks")))
  done 3< "$WORK/r.parts"
}

# stdout: the pieces of partition $1, each checked again before it is passed on.
fetch_pieces() { # number done-bytes total-bytes stage-start-cs
  local n f b s sofar=$2 pct
  while read -r n f b s <&4; do
    [ "$n" = "$1" ] || continue
    get_file "$f" "$WORK/piece" && check_file "$WORK/piece" "$b" "$s" ||
      { echo "piece $f changed on $WHERE or could not be read, HTTP ${HTTP_STATUS:-none}" > "$WORK/up.fail"; return 1; }
    cat "$WORK/piece" || return 1
    sofar=$((sofar + b))
    pct=$((sofar / ($3 / 100 + 1))); [ "$pct" -le 99 ] || pct=99
    post_progress restore "$pct" "$sofar" "$(rate_since "$4" "$sofar" "$2")" < /dev/null
  done 4< "$WORK/r.chunks"
  rm -f "$WORK/piece"
}
