# Sourced by clonage-agent.sh: the disk work (udpcast sender/receiver, report) and progress.
# Only reached with a job whose values all passed check_job_values.

uptime_cs() { # centiseconds since boot, for rates (busybox date has no sub-second format)
  read -r _up _rest < /proc/uptime
  _s=${_up%.*} _f=${_up#*.}
  _f=${_f%"${_f#??}"}
  _f=${_f#0}   # "05" would be read as octal
  echo $((_s * 100 + ${_f:-0}))
}

disk_size() { # path -> bytes (block device or, in tests, a plain file)
  if [ -b "$1" ]; then
    blockdev --getsize64 "$1" 2>/dev/null || echo $(($(cat "/sys/block/${1##*/}/size") * 512))
  elif [ -f "$1" ]; then
    stat -c %s "$1"
  else
    echo 0
  fi
}

# A plain file stands for a disk only when tests moved the device directory.
wait_for_disk() { # path
  _i=0
  while [ "$_i" -lt 20 ]; do
    [ -b "$1" ] && return 0
    [ "$DEV_DIR" != /dev ] && [ -f "$1" ] && return 0
    sleep 0.5
    _i=$((_i + 1))
  done
  return 1
}

# Last "bytes=" figure printed by udpcast (lines end in \r, digits grouped with spaces).
# A receiver with --pipe prints "bytes= N (x Mbps) M": M is the uncompressed count, preferred.
last_bytes() {
  if [ "$J_ROLE" = sender ] && [ "$J_COMPRESSION" != none ]; then
    sender_read_bytes
    return
  fi
  _l=$(tail -c 400 "$UDPLOG" 2>/dev/null | tr '\r' '\n' | grep 'bytes=' | tail -n 1)
  [ -n "$_l" ] || { echo 0; return; }
  case "$_l" in
    *Mbps\)*[0-9]*) _b=$(echo "${_l##*Mbps)}" | tr -d ' ') ;;
    *) _b=$(echo "$_l" | sed 's/^.*bytes= *//; s/ *(.*//; s/ *re-xmits.*//' | tr -d ' ') ;;
  esac
  is_number "$_b" 15 && echo "$_b" || echo 0
}

# A compressing sender prints compressed bytes only. The compressor udp-sender starts reads the
# disk on its stdin: that file position is the uncompressed progress.
sender_read_bytes() {
  for _c in $(ps -o pid,ppid 2>/dev/null | awk -v p="$_pid" '$2 == p { print $1 }'); do
    _pos=$(sed -n 's/^pos:[[:space:]]*//p' "/proc/$_c/fdinfo/0" 2>/dev/null)
    is_number "$_pos" 15 && [ "$_pos" -gt 0 ] && { echo "$_pos"; return; }
  done
  echo 0
}

# Runs udpcast ("$@") in the background and posts progress every PROGRESS_SECONDS.
run_udpcast() {
  _size=$(disk_size "$DEV_DIR/$J_DISK")
  log "disk $J_DISK: $_size bytes; running: $*"
  : > "$UDPLOG"
  if [ -n "$MANUAL" ]; then
    # In front of the PC: udpcast talks to the console itself (key press to start, progress).
    { "$@"; echo "$?" > "$WORK/udpcast.rc"; } 2>&1 | tee "$UDPLOG"
    _rc=$(cat "$WORK/udpcast.rc" 2>/dev/null)
    sync
    is_number "$_rc" 3 || _rc=1
    [ "$_rc" = 0 ] || FAIL_MSG="$1 exit $_rc"
    return "$_rc"
  fi
  "$@" > "$UDPLOG" 2>&1 < /dev/null &
  _pid=$!
  post_progress waiting 0 0 0
  _lastb=0 _lastt=$(uptime_cs) _n=0 CANCELLED=
  while kill -0 "$_pid" 2>/dev/null; do
    sleep "$PROGRESS_SECONDS"
    kill -0 "$_pid" 2>/dev/null || break
    _b=$(last_bytes) _t=$(uptime_cs)
    if [ "$_b" -gt 0 ]; then
      _stage=transfer
      _dt=$((_t - _lastt)); [ "$_dt" -gt 0 ] || _dt=1
      _rate=$(( (_b - _lastb) * 8 * 100 / 1000 / _dt )); [ "$_rate" -ge 0 ] || _rate=0
      _pct=0; [ "$_size" -gt 0 ] && _pct=$((_b * 100 / _size))
      [ "$_pct" -le 99 ] || _pct=99   # 100 only once udpcast has said it is done
      _lastb=$_b _lastt=$_t
    else
      # Still waiting for the transfer: rates count from its start; a heartbeat every ~5 periods
      # lets a cancellation reach a PC that waits for the others.
      _lastt=$_t _n=$((_n + 1))
      [ $((_n % 5)) = 0 ] || continue
      _stage=waiting _pct=0 _rate=0
    fi
    post_progress "$_stage" "$_pct" "$_b" "$_rate"
    if [ "$HTTP_STATUS" = 410 ]; then
      # 410: the action was cancelled (or the job is over): stop instead of finishing for nobody.
      log "the server cancelled this job: stopping $1"
      CANCELLED=1
      kill "$_pid" 2>/dev/null
      sleep 1
      kill -9 "$_pid" 2>/dev/null   # udp-sender ignores SIGTERM while it waits for its receivers
    fi
  done
  wait "$_pid"
  _rc=$?
  sync
  tr '\r' '\n' < "$UDPLOG" | grep -v '^bytes=' | tail -n 5 >&2
  log "$1 exited with $_rc"
  if [ -n "$CANCELLED" ]; then
    FAIL_MSG="cancelled by the server"
    [ "$_rc" != 0 ] || _rc=1
  elif [ "$_rc" = 0 ]; then
    _b=$(last_bytes); [ "$_b" -gt 0 ] || _b=$_size
    post_progress done 100 "$_b" 0
  else
    FAIL_MSG="$1 exit $_rc"
  fi
  return "$_rc"
}

# Compression runs through udpcast's --pipe with fixed command strings (never server data).
compress_cmd() {
  case "$J_COMPRESSION" in zstd) echo "zstd -1 -c" ;; gzip) echo "gzip -1 -c" ;; lzop) echo "lzop -1 -c" ;; esac
}
decompress_cmd() {
  case "$J_COMPRESSION" in zstd) echo "zstd -d -c" ;; gzip) echo "gzip -d -c" ;; lzop) echo "lzop -d -c" ;; esac
}

run_sender() {
  set -- udp-sender --file "$DEV_DIR/$J_DISK" --portbase "$J_PORT" --interface "$IFACE"
  if [ -n "$J_MIN_RECEIVERS" ]; then
    set -- "$@" --nokbd --min-receivers "$J_MIN_RECEIVERS"
  elif [ -z "$MANUAL" ]; then
    set -- "$@" --nokbd --min-receivers 1
  fi   # manual sender without a count: udpcast waits for a key press on the console
  [ -n "$J_MIN_WAIT" ] && set -- "$@" --min-wait "$J_MIN_WAIT"
  [ -n "$J_MAX_WAIT" ] && set -- "$@" --max-wait "$J_MAX_WAIT"
  [ -n "$J_MAX_BITRATE" ] && set -- "$@" --max-bitrate "$J_MAX_BITRATE"
  [ -n "$J_RETRIES" ] && set -- "$@" --retries-until-drop "$J_RETRIES"
  [ "$J_COMPRESSION" != none ] && set -- "$@" --pipe "$(compress_cmd)"
  run_udpcast "$@"
}

run_receiver() {
  set -- udp-receiver --file "$DEV_DIR/$J_DISK" --portbase "$J_PORT" --interface "$IFACE"
  [ -n "$MANUAL" ] || set -- "$@" --nokbd
  [ -n "$J_START_TIMEOUT" ] && set -- "$@" --start-timeout "$J_START_TIMEOUT"
  [ "$J_COMPRESSION" != none ] && set -- "$@" --pipe "$(decompress_cmd)"
  run_udpcast "$@"
}

# Report: partition tables, filesystems and free space, as "### title" sections of text.
report_disks() {
  if [ -n "$J_DISK" ]; then echo "$J_DISK"
  elif [ "$DEV_DIR" = /dev ]; then
    ls /sys/block | grep -E '^(sd[a-z]+|vd[a-z]+|hd[a-z]+|nvme[0-9]+n[0-9]+|mmcblk[0-9]+)$'
  else ls "$DEV_DIR" | grep -E '^[a-z]+$'
  fi
}
write_report() {
  echo "### agent"
  echo "job=$JOB iface=$IFACE"
  for _d in $(report_disks); do
    valid_disk "$_d" || continue
    echo "### disk $_d"
    echo "size=$(disk_size "$DEV_DIR/$_d")"
    echo "### sfdisk -d $_d"
    sfdisk -d "$DEV_DIR/$_d" 2>&1
  done
  echo "### partitions"
  cat /proc/partitions
  echo "### blkid"
  if [ "$DEV_DIR" = /dev ]; then blkid 2>&1; else for _d in $(report_disks); do blkid "$DEV_DIR/$_d" 2>&1; done; fi
  # Images on a storage partition labelled CLONAGE (agent-dirstore.sh report_store).
  echo "### clonage-store"
  report_store
  echo "### df"
  [ "$DEV_DIR" = /dev ] || return 0   # tests: never mount anything from the host
  mkdir -p /mnt/clonage-report
  for _p in $(awk 'NR > 2 { print $4 }' /proc/partitions); do
    case "$_p" in sd[a-z]*[0-9]|vd[a-z]*[0-9]|hd[a-z]*[0-9]|nvme*p[0-9]*|mmcblk*p[0-9]*) ;; *) continue ;; esac
    # Read-only for real: "noload" stops ext3/4 from replaying a dirty journal onto the disk.
    _t=$(blkid -o value -s TYPE "/dev/$_p" 2>/dev/null)
    case "$_t" in
      ext2|ext3|ext4) mount -t "$_t" -o ro,noload "/dev/$_p" /mnt/clonage-report 2>/dev/null ;;
      vfat|exfat) mount -t "$_t" -o ro "/dev/$_p" /mnt/clonage-report 2>/dev/null ;;
      ntfs) ntfs-3g -o ro "/dev/$_p" /mnt/clonage-report 2>/dev/null ;;
      *) false ;;
    esac || continue
    df -k /mnt/clonage-report | sed "s|/mnt/clonage-report|$_p $_t|"
    umount /mnt/clonage-report
  done
}
run_report() {
  write_report > "$WORK/report.txt" 2>&1
  if [ -n "$MANUAL" ]; then cat "$WORK/report.txt" >&2; return 0; fi
  http_post /report text/plain "$WORK/report.txt" "$WORK/report.out" && return 0
  FAIL_MSG="report not accepted (HTTP ${HTTP_STATUS:-none})"
  return 1
}

run_role() {
  case "$J_ROLE" in
    sender|receiver)
      wait_for_disk "$DEV_DIR/$J_DISK" || { FAIL_MSG="disk $J_DISK not found"; log "$FAIL_MSG"; return 4; }
      "run_$J_ROLE" ;;
    report) run_report ;;
    backup|restore) "run_$J_ROLE" ;;   # agent-backup.sh
    deploy) run_deploy ;;              # agent-deploy.sh
    *) FAIL_MSG="role $J_ROLE is not supported by this agent"; log "$FAIL_MSG"; return 5 ;;
  esac
}
