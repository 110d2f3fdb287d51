# Loaded by clonage-agent.sh: the roles (run_role), the udpcast sender/receiver with its
# progress, and the report. Only reached with a job whose values all passed check_job_values.

run_role() {
  resolve_disk || return
  case "$J_ROLE" in
    sender|receiver)
      wait_block_device "$DEV_DIR/$J_DISK" file || fail_with "$EXIT_NO_DISK" "disk $J_DISK not found" || return
      "run_$J_ROLE" ;;
    report) run_report ;;
    backup) run_backup ;;     # agent-backup.sh
    restore) run_restore ;;   # agent-restore.sh
    deploy) run_deploy ;;     # agent-deploy.sh
    *) fail_with "$EXIT_BAD_ROLE" "role $J_ROLE is not supported by this agent" ;;
  esac
}

# Last "bytes=" figure printed by udpcast (lines end in \r, digits grouped with spaces).
# A receiver with --pipe prints "bytes= N (x Mbps) M": M is the uncompressed count, preferred
# unless the caller counts the stream as it came (`wire`).
udpcast_bytes() { # [wire]
  local line b
  line=$(tail -c 400 "$UDPLOG" 2>/dev/null | tr '\r' '\n' | grep 'bytes=' | tail -n 1)
  [ -n "$line" ] || { echo 0; return; }
  case "${1:-}:$line" in
    wire:*) b=$(echo "$line" | sed 's/^.*bytes= *//; s/ *(.*//; s/ *re-xmits.*//' | tr -d ' ') ;;
    *Mbps\)*[0-9]*) b=$(echo "${line##*Mbps)}" | tr -d ' ') ;;
    *) b=$(echo "$line" | sed 's/^.*bytes= *//; s/ *(.*//; s/ *re-xmits.*//' | tr -d ' ') ;;
  esac
  is_number "$b" 15 && echo "$b" || echo 0
}

# Stops a udpcast child: TERM, then KILL a second later (udp-sender ignores TERM while it waits).
stop_process() { # pid
  kill "$1" 2>/dev/null
  sleep 1
  kill -9 "$1" 2>/dev/null
}

# Maintenance menu (in front of the PC): the whole disk raw, udpcast talking to the console
# itself (key press to start, progress); no server to report to.
run_udpcast_manual() {
  local rc
  log "disk $J_DISK: $(disk_size "$DEV_DIR/$J_DISK") bytes; running: $*"
  { "$@"; echo "$?" > "$WORK/udpcast.rc"; } 2>&1 | tee "$UDPLOG"
  rc=$(cat "$WORK/udpcast.rc" 2>/dev/null)
  sync
  is_number "$rc" 3 || rc=1
  [ "$rc" = 0 ] || fail_with "$EXIT_TRANSFER" "$1 exit $rc"
}

# A server clone: the stream of agent-clone.sh through the compressor and one udpcast session.
# The shell waits on the pipeline (no polling for its end); clone_progress posts progress beside
# it and stops udpcast when the server answers 410. udpcast reads/writes fd 6: an asynchronous
# command's stdin would otherwise be /dev/null.
run_clone() { # udpcast-command...
  local pid lpid urc erc zrc
  log "clone: $J_ROLE of $J_DISK, compression $J_COMPRESSION; running: $*"
  : > "$UDPLOG"
  rm -f "$WORK/u.rc" "$WORK/u.pid" "$WORK/e.rc" "$WORK/z.rc" "$WORK/c.cancel" "$WORK/c.touched"
  echo 0 > "$WORK/c.bytes"
  if [ "$J_ROLE" = sender ]; then
    { { emit_clone_stream; echo "$?" > "$WORK/e.rc"; } | clone_compress |
      { "$@" <&6 > "$UDPLOG" 2>&1 & echo "$!" > "$WORK/u.pid"; wait "$!"; echo "$?" > "$WORK/u.rc"; } 6<&0; } &
  else
    { { "$@" < /dev/null 2> "$UDPLOG" & echo "$!" > "$WORK/u.pid"; wait "$!"; echo "$?" > "$WORK/u.rc"; } |
      { decompress "$J_COMPRESSION"; echo "$?" > "$WORK/z.rc"; } | { consume_clone_stream; echo "$?" > "$WORK/e.rc"; }; } &
  fi
  pid=$!
  clone_progress "$pid" &
  lpid=$!
  wait "$pid"
  kill "$lpid" 2> /dev/null
  wait "$lpid" 2> /dev/null
  [ "$J_ROLE" != receiver ] || sync
  [ ! -e "$WORK/c.touched" ] || DISK_TOUCHED=1
  urc=$(cat "$WORK/u.rc" 2> /dev/null) erc=$(cat "$WORK/e.rc" 2> /dev/null) zrc=$(cat "$WORK/z.rc" 2> /dev/null)
  tr '\r' '\n' < "$UDPLOG" | grep -v '^bytes=' | tail -n 5 >&2
  log "$1 exited with ${urc:-?}"
  [ ! -e "$WORK/c.cancel" ] || { FAIL_MSG="cancelled by the server"; return "$EXIT_CANCELLED"; }
  [ "$urc" = 0 ] || { FAIL_MSG="$1 exit ${urc:-?}"; return "$EXIT_TRANSFER"; }
  if [ "$J_ROLE" = sender ]; then
    [ "$erc" = 0 ] || { FAIL_MSG="reading $J_DISK failed (see the log): the receivers are partly written"; return "$EXIT_TRANSFER"; }
  else
    [ "$zrc" = 0 ] || [ -s "$WORK/c.fail" ] || { FAIL_MSG="decompression failed: the stream is damaged"; return "$EXIT_TRANSFER"; }
    [ "$erc" = 0 ] || { FAIL_MSG=$(cat "$WORK/c.fail" 2> /dev/null); return "$(cat "$WORK/c.code" 2> /dev/null || echo "$EXIT_TRANSFER")"; }
  fi
  post_progress done 100 "$(cat "$WORK/c.bytes")" 0
  return 0
}

# Beside run_clone: progress every PROGRESS_SECONDS from the stream bytes so far (the percent is
# of the disk size: used-blocks streams end below it and jump to 100); a heartbeat every ~5 periods
# while waiting lets a cancellation reach a PC that waits for the others. 410: udpcast stopped.
clone_progress() { # pipeline-pid
  local size lastb=0 lastt b t dt rate pct n=0
  size=$(disk_size "$DEV_DIR/$J_DISK")
  post_progress waiting 0 0 0
  lastt=$(uptime_cs)
  while sleep "$PROGRESS_SECONDS" && kill -0 "$1" 2> /dev/null; do
    b=$(cat "$WORK/c.bytes" 2> /dev/null); is_number "$b" 18 || b=0
    t=$(uptime_cs)
    if [ "$b" -gt 0 ]; then
      dt=$((t - lastt)); [ "$dt" -gt 0 ] || dt=1
      rate=$(( (b - lastb) * 8 * 100 / 1000 / dt )); [ "$rate" -ge 0 ] || rate=0
      pct=0; [ "$size" -gt 0 ] && pct=$((b * 100 / size))
      [ "$pct" -le 99 ] || pct=99
      lastb=$b lastt=$t
      post_progress transfer "$pct" "$b" "$rate"
    else
      lastt=$t n=$((n + 1))
      [ $((n % 5)) = 0 ] || continue
      post_progress waiting 0 0 0
    fi
    if [ "$HTTP_STATUS" = 410 ]; then
      log "the server cancelled this job: stopping udpcast"
      : > "$WORK/c.cancel"
      stop_process "$(cat "$WORK/u.pid" 2> /dev/null)"
    fi
  done
}

# Manual mode compresses through udpcast's --pipe with fixed command strings (never server data).
compress_cmd() {
  case "$J_COMPRESSION" in zstd) echo "zstd -1 -c" ;; gzip) echo "gzip -1 -c" ;; lzop) echo "lzop -1 -c" ;; esac
}
decompress_cmd() {
  case "$J_COMPRESSION" in zstd) echo "zstd -d -c" ;; gzip) echo "gzip -d -c" ;; lzop) echo "lzop -d -c" ;; esac
}
clone_compress() {
  case "$J_COMPRESSION" in zstd) zstd -1 -T0 -q -c ;; gzip) gzip -1 -c ;; lzop) lzop -1 -c ;; *) cat ;; esac
}

run_sender() {
  set -- udp-sender --portbase "$J_PORT" --interface "$IFACE"
  if [ -n "$J_MIN_RECEIVERS" ]; then
    set -- "$@" --nokbd --min-receivers "$J_MIN_RECEIVERS"
  elif [ -z "$CL_MANUAL" ]; then
    set -- "$@" --nokbd --min-receivers 1
  fi   # manual sender without a count: udpcast waits for a key press on the console
  [ -n "$J_MIN_WAIT" ] && set -- "$@" --min-wait "$J_MIN_WAIT"
  [ -n "$J_MAX_WAIT" ] && set -- "$@" --max-wait "$J_MAX_WAIT"
  [ -n "$J_MAX_BITRATE" ] && set -- "$@" --max-bitrate "$J_MAX_BITRATE"
  [ -n "$J_RETRIES" ] && set -- "$@" --retries-until-drop "$J_RETRIES"
  if [ -n "$CL_MANUAL" ]; then
    set -- "$@" --file "$DEV_DIR/$J_DISK"
    [ "$J_COMPRESSION" != none ] && set -- "$@" --pipe "$(compress_cmd)"
    run_udpcast_manual "$@"
    return
  fi
  clone_plan || return
  run_clone "$@"
}

# Once the transfer started, udp-receiver gives up after receive_timeout seconds without data
# (a sender powered off): without it, it would wait for ever.
run_receiver() {
  set -- udp-receiver --portbase "$J_PORT" --interface "$IFACE"
  [ -n "$CL_MANUAL" ] || set -- "$@" --nokbd
  [ -n "$J_START_TIMEOUT" ] && set -- "$@" --start-timeout "$J_START_TIMEOUT"
  set -- "$@" --receive-timeout "$(receive_timeout)"
  if [ -n "$CL_MANUAL" ]; then
    set -- "$@" --file "$DEV_DIR/$J_DISK"
    [ "$J_COMPRESSION" != none ] && set -- "$@" --pipe "$(decompress_cmd)"
    run_udpcast_manual "$@"
    return
  fi
  run_clone "$@"
}

receive_timeout() { echo "${J_RECEIVE_TIMEOUT:-${CLONAGE_RECEIVE_TIMEOUT:-120}}"; }

# The receivers udp-sender dropped after its retries, as addresses: it names them by number
# ("Dropping client #2 because of timeout"), numbered when they came ("New connection from
# 10.0.0.3  (#2) …"). Prints "ip,ip" or nothing.
dropped_receivers() {
  tr '\r' '\n' < "$UDPLOG" 2>/dev/null | awk '
    /New connection from / { for (i = 1; i < NF; i++) if ($i == "from") ip = $(i + 1); n = $0; sub(/.*\(#/, "", n); sub(/\).*/, "", n); addr[n] = ip }
    /Dropping client #/ { n = $0; sub(/.*client #/, "", n); sub(/[^0-9].*/, "", n); if (n in addr) print addr[n] }' |
    grep -E '^[0-9]{1,3}(\.[0-9]{1,3}){3}$' | sort -u | tr '\n' ',' | sed 's/,$//'
}

# Report: partition tables, filesystems and free space, as "### title" sections of text.
report_disks() { if [ -n "$J_DISK" ]; then echo "$J_DISK"; else list_disks; fi; }   # every disk, USB ones too
write_report() {
  local d p fs
  echo "### agent"
  echo "job=$JOB iface=$IFACE"
  for d in $(report_disks); do
    valid_disk "$d" || continue
    echo "### disk $d"
    echo "size=$(disk_size "$DEV_DIR/$d")"
    disk_report_lines "$d"
    [ "$d" != "$AUTO_DISK" ] || echo "auto=yes"
    echo "### sfdisk -d $d"
    sfdisk -d "$DEV_DIR/$d" 2>&1
  done
  echo "### partitions"
  cat /proc/partitions
  echo "### blkid"
  if [ "$DEV_DIR" = /dev ]; then blkid 2>&1; else for d in $(report_disks); do blkid "$DEV_DIR/$d" 2>&1; done; fi
  # Images on a storage partition labelled CLONAGE (agent-dirstore.sh report_store).
  echo "### clonage-store"
  report_store
  echo "### df"
  [ "$DEV_DIR" = /dev ] || return 0   # tests: never mount anything from the host
  mkdir -p /mnt/clonage-report
  for p in $(awk 'NR > 2 { print $4 }' /proc/partitions); do
    case "$p" in sd[a-z]*[0-9]|vd[a-z]*[0-9]|hd[a-z]*[0-9]|nvme*p[0-9]*|mmcblk*p[0-9]*) ;; *) continue ;; esac
    # Read-only for real: "noload" stops ext3/4 from replaying a dirty journal onto the disk.
    fs=$(blkid -o value -s TYPE "/dev/$p" 2>/dev/null)
    case "$fs" in
      ext2|ext3|ext4) mount -t "$fs" -o ro,noload "/dev/$p" /mnt/clonage-report 2>/dev/null ;;
      vfat|exfat) mount -t "$fs" -o ro "/dev/$p" /mnt/clonage-report 2>/dev/null ;;
      ntfs) ntfs-3g -o ro "/dev/$p" /mnt/clonage-report 2>/dev/null ;;
      *) false ;;
    esac || continue
    df -k /mnt/clonage-report | sed "s|/mnt/clonage-report|$p $fs|"
    umount /mnt/clonage-report
  done
}
run_report() {
  AUTO_DISK=$(detect_disk)   # the disk a job without a disk would take
  write_report > "$WORK/report.txt" 2>&1
  if [ -n "$CL_MANUAL" ]; then cat "$WORK/report.txt" >&2; return 0; fi
  with_retry "report" http_post /report text/plain "$WORK/report.txt" "$WORK/report.out" ||
    fail_with "$EXIT_NOT_RECORDED" "report not accepted (HTTP ${HTTP_STATUS:-none})"
}
