# Sourced by clonage-agent.sh: a receiver of a multicast deploy from the server, udp-sender
# running on the server (docs/backup-restore.md "Multicast deploy from the server").
# Before any write: the image's manifest (the job's source image only: the server refuses any
# other), the disk size and sector size, the partition table and boot area checked by SHA-256.
# Then per partition one udpcast session: `recv-N` is posted first (the server starts the
# session once every receiver still in the action said it), udp-receiver's stdout goes through
# tee (SHA-256 of the compressed stream) into the decompressor and partclone.restore (dd for raw).
# udpcast has no end-to-end checksum: the stream's digest is compared with the one the server
# computed while verifying the image AFTER the partition was written; a mismatch fails the job.
# Helpers come from agent-backup.sh / agent-restore.sh (get_file, check_file, parse_manifest…).

# `stream N bytes sha256` lines of the deploy manifest -> r.streams; the rest is the restore format.
split_deploy_manifest() {
  grep '^stream ' "$1" > "$WORK/r.streams.raw"
  grep -v '^stream ' "$1" > "$WORK/manifest.base"
  : > "$WORK/r.streams"
  while read -r _k _n _b _s _x; do
    is_number "$_n" 3 && is_number "$_b" 16 && valid_sha "$_s" && [ -z "$_x" ] || return 1
    echo "$_n $_b $_s" >> "$WORK/r.streams"
  done < "$WORK/r.streams.raw"
  [ -s "$WORK/r.streams" ]
}

# Bytes udp-receiver has written so far (its last "bytes=" figure).
received_bytes() {
  _l=$(tail -c 400 "$UDPLOG" 2>/dev/null | tr '\r' '\n' | grep 'bytes=' | tail -n 1)
  _rb=$(echo "$_l" | sed 's/^.*bytes= *//; s/ *(.*//; s/ *re-xmits.*//' | tr -d ' ')
  is_number "$_rb" 15 && echo "$_rb" || echo 0
}

# One session: udp-receiver | tee fifo (sha256sum) | decompress | tool. Progress while it runs;
# a 410 (cancelled or left out by the server) kills udp-receiver.
receive_partition() { # number compression done-bytes total-bytes tool...
  _rn=$1 _rc=$2 _rd=$3 _rt=$4
  shift 4
  rm -f "$WORK/s.fifo" "$WORK/s.sha" "$WORK/u.rc" "$WORK/u.pid" "$WORK/z.rc" "$WORK/pc.rc"
  : > "$UDPLOG"
  mkfifo "$WORK/s.fifo" || return 1
  sha256sum < "$WORK/s.fifo" > "$WORK/s.sha" &
  _shapid=$!
  # udp-receiver writes the stream on stdout and ends with the server's session: that end is the
  # partition's end, so nothing has to count bytes on a pipe.
  {
    { udp-receiver --portbase "$J_PORT" --interface "$IFACE" --nokbd --start-timeout "${J_START_TIMEOUT:-1200}" 2>> "$UDPLOG" &
      echo "$!" > "$WORK/u.pid"; wait "$!"; echo "$?" > "$WORK/u.rc"; } |
      tee "$WORK/s.fifo" | { decompress "$_rc"; echo "$?" > "$WORK/z.rc"; } |
      { "$@" > "$WORK/pc.err" 2>&1; echo "$?" > "$WORK/pc.rc"; }
  } &
  _ppid=$!
  CANCELLED=
  while kill -0 "$_ppid" 2>/dev/null; do
    sleep "$PROGRESS_SECONDS"
    kill -0 "$_ppid" 2>/dev/null || break
    _pb=$(received_bytes)
    _pct=$(((_rd + _pb) / (_rt / 100 + 1))); [ "$_pct" -le 99 ] || _pct=99
    post_progress "recv-$_rn" "$_pct" "$((_rd + _pb))" 0
    if [ "$HTTP_STATUS" = 410 ]; then
      log "the server stopped this job: killing udp-receiver"
      CANCELLED=1
      kill -9 "$(cat "$WORK/u.pid" 2>/dev/null)" 2>/dev/null
    fi
  done
  wait "$_ppid"
  wait "$_shapid"
  rm -f "$WORK/s.fifo"
}

run_deploy() {
  read_image_keys || fail_with 2 "$REFUSAL" || return
  _disk=$DEV_DIR/$J_DISK
  wait_for_disk "$_disk" && [ -b "$_disk" ] || fail_with 4 "disk $J_DISK not found or not a block device" || return
  get_file manifest "$WORK/manifest.txt" ||
    fail_with 6 "the server did not give the manifest of image $J_IMAGE, HTTP ${HTTP_STATUS:-none}: nothing written" || return
  split_deploy_manifest "$WORK/manifest.txt" || fail_with 6 "malformed stream lines in the manifest: nothing written" || return
  parse_manifest "$WORK/manifest.base" || fail_with 6 "$REFUSAL: nothing written" || return
  _tsize=$(disk_size "$_disk")
  [ "$_tsize" -ge "$M_DISK_SIZE" ] ||
    fail_with 6 "target disk $J_DISK is smaller than the disk of image $M_IMAGE: $_tsize bytes, $M_DISK_SIZE needed: nothing written" || return
  _tss=$(blockdev --getss "$_disk" 2>/dev/null); is_number "$_tss" 5 || _tss=512
  [ "$_tss" = "$M_SS" ] || fail_with 6 "sector size of $J_DISK is $_tss, the image has $M_SS: nothing written" || return
  # Table and boot area come over HTTP, checked before anything is written.
  while read -r _f _b _s <&3; do
    case "$_f" in table.sfdisk|"$M_HEAD") ;; *) continue ;; esac
    get_file "$_f" "$WORK/r.$_f" && check_file "$WORK/r.$_f" "$_b" "$_s" ||
      fail_with 7 "image file $_f is missing or corrupt on the server, HTTP ${HTTP_STATUS:-none}: nothing written" || return
  done 3< "$WORK/r.files"
  _total=$(awk '{ t += $2 } END { printf "%d", t }' "$WORK/r.streams")
  log "multicast deploy of image $M_IMAGE ($_total bytes in $(wc -l < "$WORK/r.streams") sessions) onto $J_DISK, port $J_PORT"
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
  _d=0
  while read -r _num _name _fs _mode _comp _psize <&3; do
    _dev=$DEV_DIR/$(part_name "$J_DISK" "$_num")
    _i=0
    while [ ! -b "$_dev" ] && [ "$_i" -lt 20 ]; do sleep 0.5; _i=$((_i + 1)); done
    [ -b "$_dev" ] || fail_with 8 "partition $_num of $J_DISK did not appear after writing the table" || return
    case "$_mode" in
      none) [ "$_fs" = swap ] && mkswap "$_dev" > /dev/null 2>&1; continue ;;
      partclone) set -- partclone.restore -s - -o "$_dev" -L "$WORK/partclone.log" ;;
      raw) set -- dd of="$_dev" bs=1048576 ;;
    esac
    _line=$(awk -v n="$_num" '$1 == n { print $2, $3 }' "$WORK/r.streams")
    _sb=${_line% *} _ss=${_line#* }
    valid_sha "$_ss" || fail_with 6 "partition $_num has no stream digest in the manifest, partitions before it written" || return
    log "${_dev##*/}: $_fs ($_mode), waiting for the multicast session ($_sb bytes)"
    post_progress "recv-$_num" $((_d / (_total / 100 + 1))) "$_d" 0
    [ "$HTTP_STATUS" != 410 ] || fail_with 9 "the server left this machine out of the multicast of partition $_num" || return
    receive_partition "$_num" "$_comp" "$_d" "$_total" "$@"
    [ -z "$CANCELLED" ] || fail_with 9 "stopped by the server during partition $_num: disk partly written" || return
    _urc=$(cat "$WORK/u.rc" 2>/dev/null)
    [ "$_urc" = 0 ] || {
      tr '\r' '\n' < "$UDPLOG" | grep -v '^bytes=' | grep -v '^$' | tail -n 3 >> "$LOG"
      fail_with 9 "${_dev##*/}: udp-receiver exit ${_urc:-?}, the multicast of partition $_num did not complete: disk partly written"; return; }
    set -- $(cat "$WORK/s.sha" 2>/dev/null)
    [ "$1" = "$_ss" ] ||
      fail_with 9 "partition $_num written from a damaged stream, its SHA-256 differs from the server: run a unicast restore" || return
    [ "$(cat "$WORK/z.rc" 2>/dev/null)" = 0 ] || fail_with 8 "${_dev##*/}: decompression failed" || return
    [ "$(cat "$WORK/pc.rc" 2>/dev/null)" = 0 ] || {
      tr '\r' '\n' < "$WORK/pc.err" | grep -v -e Elapsed -e '^ *$' | tail -n 5 >> "$LOG"
      fail_with 8 "${_dev##*/}: writing the partition failed, exit $(cat "$WORK/pc.rc" 2>/dev/null)"; return; }
    _d=$((_d + _sb))
    log "${_dev##*/}: stream SHA-256 matches the server's"
  done 3< "$WORK/r.parts"
  sync
  log "image $M_IMAGE deployed onto $J_DISK"
  post_progress done 100 "$_total" 0
}
