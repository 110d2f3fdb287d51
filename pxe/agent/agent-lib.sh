# Sourced by clonage-agent.sh: logging, validation, HTTP and job parsing (busybox sh).
# Nothing here writes to a disk; the disk work lives in agent-run.sh.

log() {
  echo "clonage-agent: $*" >&2
  echo "$*" >> "$LOG"
}

# Refusal path: no disk touched. The reboot goes back to PXE, where the server's boot plan
# (absent, consumed or refused) sends the PC to its local disk.
boot_local() {
  log "BOOT LOCAL: $*"
  sync
  $REBOOT_CMD
  exit "$EXIT_BOOT_LOCAL"
}

# ---- validation: `case` only, so a value never reaches a shell parser.
is_number() { # value [max digits]
  case "$1" in ''|*[!0-9]*) return 1 ;; esac
  [ "${#1}" -le "${2:-9}" ]
}
valid_value() { case "$1" in *[!A-Za-z0-9._:/,@+-]*) return 1 ;; esac; }
valid_job_id() {
  case "$1" in ''|*[!A-Za-z0-9_-]*) return 1 ;; esac
  [ "${#1}" -le 64 ]
}
# base64url of 32 random bytes: exactly 43 characters (src/boot/boot-plan.ts TOKEN_PATTERN).
valid_token() {
  case "$1" in ''|*[!A-Za-z0-9_-]*) return 1 ;; esac
  [ "${#1}" -eq 43 ]
}
# http(s)://host[:port][/path] as the server builds it (checkServerUrl): no credentials, query,
# fragment, spaces or quotes. busybox wget does not verify certificates: https hides the token
# from passive listeners only.
valid_server() {
  case "$1" in http://?*|https://?*) ;; *) return 1 ;; esac
  case "${1#*://}" in *[!A-Za-z0-9.:/_~-]*|/*|*/../*|*/..) return 1 ;; esac
  [ "${#1}" -le 200 ]
}
valid_iface() {
  case "$1" in ''|*[!A-Za-z0-9_.-]*) return 1 ;; esac
  [ "${#1}" -le 15 ]
}
# Whole-disk names as the doc lists them: sda, vda, hdb, nvme0n1, mmcblk0 ...
valid_disk() {
  case "$1" in ''|*[!a-z0-9]*|[0-9]*) return 1 ;; esac
  [ "${#1}" -le 16 ] || return 1
  case "$1" in
    nvme[0-9]*n[0-9]*|mmcblk[0-9]*) return 0 ;;
    *[0-9][a-z]*) return 1 ;;
  esac
}

guess_iface() {
  _i=$(ip route show default 2>/dev/null | sed -n 's/.* dev \([^ ]*\).*/\1/p' | head -n 1)
  [ -n "$_i" ] || _i=$(ls /sys/class/net 2>/dev/null | grep -v '^lo$' | head -n 1)
  echo "$_i"
}

first_disk() {
  if [ "$DEV_DIR" = /dev ]; then
    ls /sys/block 2>/dev/null | grep -E '^(sd[a-z]+|vd[a-z]+|hd[a-z]+|nvme[0-9]+n[0-9]+|mmcblk[0-9]+)$' | head -n 1
  else
    ls "$DEV_DIR" 2>/dev/null | grep -E '^[a-z]+$' | head -n 1
  fi
}

# ---- HTTP: busybox wget. Its -T option crashes busybox 1.35 (segfault), so `timeout` bounds it.
# http METHOD PATH-SUFFIX OUTFILE [CONTENT-TYPE BODYFILE]; sets HTTP_STATUS, returns 0 on 2xx.
http() {
  _url=$BASE$2
  _out=$3
  : > "$_out"
  set -- -q -S -Y off -O "$_out" --header "Authorization: Bearer $TOKEN"
  [ -n "${_ctype:-}" ] && set -- "$@" --header "Content-Type: $_ctype" --post-file "$_body"
  timeout "$HTTP_TIMEOUT" wget "$@" "$_url" 2> "$WORK/http.err"
  HTTP_STATUS=$(sed -n 's/^ *HTTP\/1\.[01] \([0-9][0-9][0-9]\).*/\1/p' "$WORK/http.err" | tail -n 1)
  case "$HTTP_STATUS" in 2??) return 0 ;; esac
  return 1
}
http_post() { # PATH-SUFFIX CONTENT-TYPE BODYFILE OUTFILE
  _ctype=$2 _body=$3
  http POST "$1" "$4"
  _r=$?
  _ctype= _body=
  return "$_r"
}

# Form values: messages are ours (constants and validated values); escape what form syntax needs.
form_escape() {
  printf '%s' "$1" | tr -c 'A-Za-z0-9 ._:/,@+=&%-' '_' | sed 's/%/%25/g; s/+/%2B/g; s/&/%26/g; s/=/%3D/g; s/ /+/g'
}

post_progress() { # stage percent bytes rate_kbps
  printf 'stage=%s&percent=%s&bytes=%s&rate_kbps=%s' "$1" "$2" "$3" "$4" > "$WORK/progress.form"
  http_post /progress application/x-www-form-urlencoded "$WORK/progress.form" "$WORK/progress.out" ||
    log "progress not accepted (HTTP ${HTTP_STATUS:-none})"
}

# The log is the agent's own lines plus udpcast's output with progress lines squeezed.
post_log() {
  {
    cat "$LOG"
    if [ -f "$UDPLOG" ]; then
      echo "--- udpcast"
      tr '\r' '\n' < "$UDPLOG" | grep -v '^bytes=' | grep -v '^$'
      tr '\r' '\n' < "$UDPLOG" | grep '^bytes=' | tail -n 1
    fi
  } | tail -c 65536 > "$WORK/log.txt"
  http_post /log text/plain "$WORK/log.txt" "$WORK/log.out" || log "log not accepted (HTTP ${HTTP_STATUS:-none})"
}

# Prints the server's reboot answer (always|never|halt), or nothing when it cannot be had.
post_result() { # status exit_code message
  printf 'status=%s&exit_code=%s&message=%s' "$1" "$2" "$(form_escape "$3")" > "$WORK/result.form"
  http_post /result application/x-www-form-urlencoded "$WORK/result.form" "$WORK/result.out" || {
    log "result not accepted (HTTP ${HTTP_STATUS:-none})"
    return 1
  }
  while IFS= read -r _l || [ -n "$_l" ]; do
    case "$_l" in reboot=always|reboot=never|reboot=halt) echo "${_l#reboot=}"; return 0 ;; esac
  done < "$WORK/result.out"
  return 1
}

# ---- job parsing: key=value lines, read with `read -r`, never evaluated. Any value outside
# the documented charset makes the whole job malformed (it may be a sign of tampering).
parse_job() {
  J_JOB= J_ROLE= J_DISK= J_PORT= J_COMPRESSION=none J_MIN_RECEIVERS= J_MIN_WAIT= J_MAX_WAIT=
  J_START_TIMEOUT= J_AUTO_REBOOT=always J_MAX_BITRATE= J_RETRIES=
  REFUSAL=
  _n=0
  while IFS= read -r _line || [ -n "$_line" ]; do
    _n=$((_n + 1))
    [ "$_n" -le 200 ] || { REFUSAL="too many lines"; return 1; }
    _line=${_line%"$(printf '\r')"}
    [ -n "$_line" ] || continue
    case "$_line" in *=*) ;; *) REFUSAL="line $_n is not key=value"; return 1 ;; esac
    _k=${_line%%=*} _v=${_line#*=}
    case "$_k" in ''|*[!a-z_]*) REFUSAL="bad key on line $_n"; return 1 ;; esac
    valid_value "$_v" || { REFUSAL="bad value for $_k"; return 1 ; }
    [ "${#_v}" -le 128 ] || { REFUSAL="value too long for $_k"; return 1; }
    case "$_k" in
      job) J_JOB=$_v ;;
      role) J_ROLE=$_v ;;
      disk) J_DISK=$_v ;;
      port) J_PORT=$_v ;;
      compression) J_COMPRESSION=$_v ;;
      min_receivers) J_MIN_RECEIVERS=$_v ;;
      min_wait) J_MIN_WAIT=$_v ;;
      max_wait) J_MAX_WAIT=$_v ;;
      start_timeout) J_START_TIMEOUT=$_v ;;
      auto_reboot) J_AUTO_REBOOT=$_v ;;
      max_bitrate) J_MAX_BITRATE=$_v ;;
      retries_until_drop) J_RETRIES=$_v ;;
    esac
  done < "$1"
  [ "$_n" -gt 0 ] || { REFUSAL="empty job"; return 1; }
  if [ -n "$J_JOB" ] && [ "$J_JOB" != "$JOB" ]; then REFUSAL="job id mismatch"; return 1; fi
  return 0
}

# Shape checks per key, shared by server jobs and manual mode. Sets REFUSAL.
check_job_values() {
  REFUSAL=
  case "$J_ROLE" in
    sender|receiver|report|backup|restore|memtest|deploy) ;;
    *) REFUSAL="bad role"; return 1 ;;
  esac
  if [ -n "$J_DISK" ] || [ "$J_ROLE" = sender ] || [ "$J_ROLE" = receiver ] || [ "$J_ROLE" = deploy ]; then
    valid_disk "$J_DISK" || { REFUSAL="bad disk"; return 1; }
  fi
  if [ -n "$J_PORT" ] || [ "$J_ROLE" = sender ] || [ "$J_ROLE" = receiver ] || [ "$J_ROLE" = deploy ]; then
    is_number "$J_PORT" 5 && [ "$J_PORT" -ge 1024 ] && [ "$J_PORT" -le 65534 ] &&
      [ $((J_PORT % 2)) = 0 ] || { REFUSAL="bad port"; return 1; }
  fi
  case "$J_COMPRESSION" in none|zstd|gzip|lzop) ;; *) REFUSAL="bad compression"; return 1 ;; esac
  case "$J_AUTO_REBOOT" in always|success|never) ;; *) REFUSAL="bad auto_reboot"; return 1 ;; esac
  for _pair in "min_receivers:$J_MIN_RECEIVERS" "min_wait:$J_MIN_WAIT" "max_wait:$J_MAX_WAIT" \
               "start_timeout:$J_START_TIMEOUT" "retries_until_drop:$J_RETRIES"; do
    _v=${_pair#*:}
    [ -z "$_v" ] || is_number "$_v" 6 || { REFUSAL="bad ${_pair%%:*}"; return 1; }
  done
  case "$J_MAX_BITRATE" in '') ;; *[!0-9kmgKMG]*|[!0-9]*) REFUSAL="bad max_bitrate"; return 1 ;;
    *[kmgKMG]?*) REFUSAL="bad max_bitrate"; return 1 ;; esac
  return 0
}
