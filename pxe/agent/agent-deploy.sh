# Loaded by clonage-agent.sh: a receiver of a multicast deploy from the server, udp-sender
# running on the server (docs/backup-restore.md "Multicast deploy from the server").
# Before any write: the image's manifest (the job's source image only: the server refuses any
# other), the disk size and sector size, the partition table and boot area checked by SHA-256.
# Then per partition one udpcast session: `recv-N` is posted first (the server starts the
# session once every receiver still in the action said it), udp-receiver's stdout goes through
# tee (SHA-256 of the compressed stream) into the decompressor and partclone.restore (dd for raw).
# udpcast has no end-to-end checksum: the stream's digest is compared with the one the server
# computed while verifying the image AFTER the partition was written; a mismatch fails the job.
# Shared helpers (get_file, parse_manifest, write_table …) are in agent-image.sh.

# `stream N bytes sha256` lines of the deploy manifest -> r.streams; the rest is the restore format.
split_deploy_manifest() {
  local k n b s x
  grep '^stream ' "$1" > "$WORK/r.streams.raw"
  grep -v '^stream ' "$1" > "$WORK/manifest.base"
  : > "$WORK/r.streams"
  while read -r k n b s x; do
    is_number "$n" 3 && is_number "$b" 16 && valid_sha "$s" && [ -z "$x" ] || return 1
    echo "$n $b $s" >> "$WORK/r.streams"
  done < "$WORK/r.streams.raw"
  [ -s "$WORK/r.streams" ]
}

run_deploy() {
  local disk=$DEV_DIR/$J_DISK total f b s
  wait_block_device "$disk" || fail_with "$EXIT_NO_DISK" "disk $J_DISK not found or not a block device" || return
  get_file manifest "$WORK/manifest.txt" ||
    fail_with "$EXIT_REFUSED" "the server did not give the manifest of image $J_IMAGE, HTTP ${HTTP_STATUS:-none}: nothing written" || return
  split_deploy_manifest "$WORK/manifest.txt" || fail_with "$EXIT_REFUSED" "malformed stream lines in the manifest: nothing written" || return
  parse_manifest "$WORK/manifest.base" || fail_with "$EXIT_REFUSED" "$REFUSAL: nothing written" || return
  check_target_disk "$disk" || return
  # Table and boot area come over HTTP, checked before anything is written.
  while read -r f b s <&3; do
    case "$f" in table.sfdisk|"$M_HEAD") ;; *) continue ;; esac
    get_file "$f" "$WORK/r.$f" && check_file "$WORK/r.$f" "$b" "$s" ||
      fail_with "$EXIT_CORRUPT" "image file $f is missing or corrupt on the server, HTTP ${HTTP_STATUS:-none}: nothing written" || return
  done 3< "$WORK/r.files"
  total=$(awk '{ t += $2 } END { printf "%d", t }' "$WORK/r.streams")
  log "multicast deploy of image $M_IMAGE ($total bytes in $(wc -l < "$WORK/r.streams") sessions) onto $J_DISK, port $J_PORT"
  DISK_TOUCHED=1
  write_table "$disk" || return
  deploy_partitions "$total" || return
  sync
  log "image $M_IMAGE deployed onto $J_DISK"
  post_progress done 100 "$total" 0
}

deploy_partitions() { # total-bytes
  local total=$1 num name fs mode comp psize sofar=0 line sb ss urc got
  while read -r num name fs mode comp psize <&3; do
    wait_partition "$num" || return
    case "$mode" in none) [ "$fs" = swap ] && mkswap "$PART_DEV" > /dev/null 2>&1; continue ;; esac
    line=$(awk -v n="$num" '$1 == n { print $2, $3 }' "$WORK/r.streams")
    sb=${line% *} ss=${line#* }
    valid_sha "$ss" || fail_with "$EXIT_REFUSED" "partition $num has no stream digest in the manifest, partitions before it written" || return
    log "${PART_DEV##*/}: $fs ($mode), waiting for the multicast session ($sb bytes)"
    post_progress "recv-$num" $((sofar / (total / 100 + 1))) "$sofar" 0
    [ "$HTTP_STATUS" != 410 ] || fail_with "$EXIT_CANCELLED" "the server left this machine out of the multicast of partition $num" || return
    receive_partition "$num" "$comp" "$sofar" "$total" "$mode" "$PART_DEV" ||
      fail_with "$EXIT_CANCELLED" "stopped by the server during partition $num: disk partly written" || return
    urc=$(cat "$WORK/u.rc" 2>/dev/null)
    [ "$urc" = 0 ] || {
      tr '\r' '\n' < "$UDPLOG" | grep -v '^bytes=' | grep -v '^$' | tail -n 3 >> "$LOG"
      fail_with "$EXIT_TRANSFER" "${PART_DEV##*/}: udp-receiver exit ${urc:-?}, the multicast of partition $num did not complete: disk partly written"; return; }
    got=$(cut -d ' ' -f 1 "$WORK/s.sha" 2>/dev/null)
    [ "$got" = "$ss" ] ||
      fail_with "$EXIT_DAMAGED" "partition $num written from a damaged stream, its SHA-256 differs from the server: run a unicast restore" || return
    [ "$(cat "$WORK/z.rc" 2>/dev/null)" = 0 ] || fail_with "$EXIT_TRANSFER" "${PART_DEV##*/}: decompression failed" || return
    [ "$(cat "$WORK/pc.rc" 2>/dev/null)" = 0 ] || {
      tr '\r' '\n' < "$WORK/pc.err" | grep -v -e Elapsed -e '^ *$' | tail -n 5 >> "$LOG"
      fail_with "$EXIT_TRANSFER" "${PART_DEV##*/}: writing the partition failed, exit $(cat "$WORK/pc.rc" 2>/dev/null)"; return; }
    sofar=$((sofar + sb))
    log "${PART_DEV##*/}: stream SHA-256 matches the server's"
  done 3< "$WORK/r.parts"
}

# One session: udp-receiver | tee fifo (sha256sum) | decompress | writer. Progress while it runs;
# a 410 (cancelled or left out by the server) kills udp-receiver and returns 1.
receive_partition() { # number compression done-bytes total-bytes mode device
  local num=$1 comp=$2 sofar=$3 total=$4 mode=$5 dev=$6 shapid ppid pb pct cancelled=
  rm -f "$WORK/s.fifo" "$WORK/s.sha" "$WORK/u.rc" "$WORK/u.pid" "$WORK/z.rc" "$WORK/pc.rc"
  : > "$UDPLOG"
  mkfifo "$WORK/s.fifo" || return 1
  sha256sum < "$WORK/s.fifo" > "$WORK/s.sha" &
  shapid=$!
  # udp-receiver writes the stream on stdout and ends with the server's session: that end is the
  # partition's end, so nothing has to count bytes on a pipe.
  {
    { udp-receiver --portbase "$J_PORT" --interface "$IFACE" --nokbd --start-timeout "${J_START_TIMEOUT:-1200}" \
        --receive-timeout "$(receive_timeout)" 2>> "$UDPLOG" &
      echo "$!" > "$WORK/u.pid"; wait "$!"; echo "$?" > "$WORK/u.rc"; } |
      tee "$WORK/s.fifo" | { decompress "$comp"; echo "$?" > "$WORK/z.rc"; } |
      { write_stream "$mode" "$dev" > "$WORK/pc.err" 2>&1; echo "$?" > "$WORK/pc.rc"; }
  } &
  ppid=$!
  while kill -0 "$ppid" 2>/dev/null; do
    sleep "$PROGRESS_SECONDS"
    kill -0 "$ppid" 2>/dev/null || break
    pb=$(udpcast_bytes wire)
    pct=$(((sofar + pb) / (total / 100 + 1))); [ "$pct" -le 99 ] || pct=99
    post_progress "recv-$num" "$pct" "$((sofar + pb))" 0
    if [ "$HTTP_STATUS" = 410 ]; then
      log "the server stopped this job: killing udp-receiver"
      cancelled=1
      kill -9 "$(cat "$WORK/u.pid" 2>/dev/null)" 2>/dev/null
    fi
  done
  wait "$ppid"
  wait "$shapid"
  rm -f "$WORK/s.fifo"
  [ -z "$cancelled" ]
}
