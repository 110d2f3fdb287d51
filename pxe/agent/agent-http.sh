# Loaded by clonage-agent.sh: the agent's calls to the server (docs/agent-protocol.md).
# busybox wget for small requests; binary uploads go through busybox nc (agent-image.sh).
#
# A server that restarts (upgrade, crash) must not cost a PC its job: every call but the job
# fetch is tried again, with a growing wait, for RETRY_SECONDS (the job's retry_seconds, else
# CLONAGE_RETRY_SECONDS, default 300) while the server does not answer or answers 502/503/504.
# Any other answer is final. Progress is never retried: the next one carries newer figures.
#
# Outputs: HTTP_STATUS (the last answer's code, empty without an answer).

# Under `timeout` because busybox 1.35 wget -T segfaults. Returns 0 on 2xx.
# The one place that adds the credentials (retries included): the boot token, which only the job
# fetch needs, and once the job is fetched the session secret (SESSION, in this shell's memory).
http_call() { # timeout METHOD PATH-SUFFIX OUTFILE [CONTENT-TYPE BODYFILE]
  local limit=$1 url=$BASE$3 out=$4 ctype=${5:-} body=${6:-}
  : > "$out"
  set -- -q -S -Y off -O "$out" --header "Authorization: Bearer $TOKEN"
  [ -z "${SESSION:-}" ] || set -- "$@" --header "X-Clonage-Session: $SESSION"
  [ -z "$ctype" ] || set -- "$@" --header "Content-Type: $ctype" --post-file "$body"
  timeout "$limit" wget "$@" "$url" 2> "$WORK/http.err"
  HTTP_STATUS=$(sed -n 's/^ *HTTP\/1\.[01] \([0-9][0-9][0-9]\).*/\1/p' "$WORK/http.err" | tail -n 1)
  case "$HTTP_STATUS" in 2??) return 0 ;; esac
  return 1
}
http() { http_call "$HTTP_TIMEOUT" "$@"; }

# The session secret the job fetch answered (X-Clonage-Session, in wget -S's header dump on
# tmpfs): printed when well formed; the dump is emptied so that no file keeps it.
take_session() { # header-dump-file
  local s
  s=$(sed -n 's/^ *[Xx]-[Cc]lonage-[Ss]ession: *\([A-Za-z0-9_-]*\).*$/\1/p' "$1" | tail -n 1)
  : > "$1"
  valid_token "$s" || return 1
  echo "$s"
}
http_post() { # PATH-SUFFIX CONTENT-TYPE BODYFILE OUTFILE
  http_call "$HTTP_TIMEOUT" POST "$1" "$4" "$2" "$3"
}

retry_seconds() { echo "${J_RETRY_SECONDS:-${CLONAGE_RETRY_SECONDS:-300}}"; }

# No answer, or a gateway / server that is starting: worth another try.
http_retryable() { case "${HTTP_STATUS:-}" in ''|502|503|504) return 0 ;; esac; return 1; }

# Runs a call ("$@", which sets HTTP_STATUS) until it succeeds, gets a final answer, or the retry
# time has passed since the first failure; waits 1, 2, 4 … 30 s between tries.
with_retry() { # label command args...
  local what=$1 start limit pause=1
  shift
  "$@" && return 0
  http_retryable || return 1
  start=$(uptime_cs) limit=$(retry_seconds)
  while [ $(( ($(uptime_cs) - start) / 100 + pause )) -le "$limit" ]; do
    log "$what: no answer from the server (HTTP ${HTTP_STATUS:-none}), trying again in $pause s"
    sleep "$pause"
    "$@" && return 0
    http_retryable || return 1
    pause=$((pause * 2)); [ "$pause" -le 30 ] || pause=30
  done
  log "$what: the server did not answer for $limit s, giving up"
  return 1
}

# Form values: messages are ours (constants and validated values); escape what form syntax needs.
form_escape() {
  printf '%s' "$1" | tr -c 'A-Za-z0-9 ._:/,@+=&%-' '_' | sed 's/%/%25/g; s/+/%2B/g; s/&/%26/g; s/=/%3D/g; s/ /+/g'
}

# One try: a progress the server missed is replaced by the next one. HTTP_STATUS 410 means
# the action was cancelled or this PC left out: callers stop their work.
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
  with_retry log http_post /log text/plain "$WORK/log.txt" "$WORK/log.out" || {
    log "log not accepted (HTTP ${HTTP_STATUS:-none})"
    return 1
  }
}

# firmware=uefi|bios&secure_boot=on|off|unknown: how this PC booted, sent with every result.
# The SecureBoot EFI variable (efivarfs, mounted by the boot environment's init) is 4 attribute
# bytes then one data byte, 1 = on. efivarfs refuses lseek, so `od -j4` fails there (it printed
# the first attribute byte): read the 5 bytes in one go and keep the 5th.
boot_facts() {
  local efi=${CLONAGE_EFI_DIR:-/sys/firmware/efi}
  [ -d "$efi" ] || { echo 'firmware=bios&secure_boot=off'; return 0; }
  set -- $(od -An -tu1 -N5 "$efi/efivars/SecureBoot-8be4df61-93ca-11d2-aa0d-00e098032b8c" 2>/dev/null)
  case "$#:${5:-}" in
    5:1) echo 'firmware=uefi&secure_boot=on' ;;
    5:0) echo 'firmware=uefi&secure_boot=off' ;;
    *) echo 'firmware=uefi&secure_boot=unknown' ;;
  esac
}

# Prints the server's reboot answer (always|never|halt), or nothing when it cannot be had.
# `dropped`: a sender's receivers that udp-sender gave up on (addresses, comma-separated).
# `once`: a single try (the server was already away for the whole retry time).
# A failed job that started writing its disk says `disk=incomplete`: the server then keeps the PC
# off that disk (its network boot shows DISQUE INCOMPLET until the job is relaunched).
post_result() { # status exit_code message [dropped [once]]
  local line
  printf 'status=%s&exit_code=%s&message=%s&%s' "$1" "$2" "$(form_escape "$3")" "$(boot_facts)" > "$WORK/result.form"
  [ -z "${4:-}" ] || printf '&dropped=%s' "$4" >> "$WORK/result.form"
  [ "$1" = succeeded ] || [ -z "${DISK_TOUCHED:-}" ] || printf '&disk=incomplete' >> "$WORK/result.form"
  if [ "${5:-}" = once ]; then set -- http_post; else set -- with_retry result http_post; fi
  "$@" /result application/x-www-form-urlencoded "$WORK/result.form" "$WORK/result.out" || {
    log "result not accepted (HTTP ${HTTP_STATUS:-none})"
    return 1
  }
  while IFS= read -r line || [ -n "$line" ]; do
    case "$line" in reboot=always|reboot=never|reboot=halt) echo "${line#reboot=}"; return 0 ;; esac
  done < "$WORK/result.out"
  return 1
}
