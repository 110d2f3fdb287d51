# Loaded by clonage-agent.sh: the kernel command line and the job description, each read once
# into CL_* / J_* variables and checked (docs/agent-protocol.md). Values are assigned, never
# evaluated; any value outside the documented charset makes the whole job malformed (it may be a
# sign of tampering). REFUSAL says why a check failed.

# The clonage.* words of the kernel command line -> CL_*; every other word is ignored.
parse_cmdline() { # file
  local word
  CL_SERVER= CL_JOB= CL_TOKEN= CL_MANUAL= CL_DISK= CL_PORT= CL_COMPRESSION= CL_RECEIVERS=
  set -f   # split the command line into words, but never expand a word as a file pattern
  for word in $(cat "$1"); do
    case "$word" in
      clonage.server=*) CL_SERVER=${word#*=} ;;
      clonage.job=*) CL_JOB=${word#*=} ;;
      clonage.token=*) CL_TOKEN=${word#*=} ;;
      clonage.manual=*) CL_MANUAL=${word#*=} ;;
      clonage.disk=*) CL_DISK=${word#*=} ;;
      clonage.port=*) CL_PORT=${word#*=} ;;
      clonage.compression=*) CL_COMPRESSION=${word#*=} ;;
      clonage.receivers=*) CL_RECEIVERS=${word#*=} ;;
    esac
  done
  set +f
}

# ---- the job keys: one table. Defaults first, then one line per key the agent reads.
job_defaults() {
  J_JOB= J_ROLE= J_DISK= J_PORT= J_COMPRESSION=none J_AUTO_REBOOT=always
  J_MIN_RECEIVERS= J_MIN_WAIT= J_MAX_WAIT= J_START_TIMEOUT= J_RECEIVE_TIMEOUT= J_MAX_BITRATE= J_RETRIES=
  J_IMAGE= J_STORE= J_STORAGE_PART=auto J_CHUNK_MB=64 J_RETRY_SECONDS=
}
set_job_key() { # key value; keys the agent does not know (name, source …) are left aside
  case "$1" in
    job) J_JOB=$2 ;;
    role) J_ROLE=$2 ;;
    disk) J_DISK=$2 ;;
    port) J_PORT=$2 ;;
    compression) J_COMPRESSION=$2 ;;
    auto_reboot) J_AUTO_REBOOT=$2 ;;
    min_receivers) J_MIN_RECEIVERS=$2 ;;       # sender
    min_wait) J_MIN_WAIT=$2 ;;                 # sender, seconds
    max_wait) J_MAX_WAIT=$2 ;;                 # sender, seconds
    max_bitrate) J_MAX_BITRATE=$2 ;;           # sender, udp-sender --max-bitrate
    retries_until_drop) J_RETRIES=$2 ;;        # sender
    start_timeout) J_START_TIMEOUT=$2 ;;       # receiver, deploy: seconds
    receive_timeout) J_RECEIVE_TIMEOUT=$2 ;;   # receiver, deploy: seconds without data once started
    image) J_IMAGE=$2 ;;                       # backup, restore, deploy
    store) J_STORE=$2 ;;                       # server | partition | smb
    storage_part) J_STORAGE_PART=$2 ;;         # store=partition: auto or a partition name
    chunk_mb) J_CHUNK_MB=$2 ;;                 # backup piece size
    retry_seconds) J_RETRY_SECONDS=$2 ;;       # how long calls are retried while the server is away
  esac
}

# key=value lines, read with `read -r`. Sets J_* or REFUSAL.
parse_job() { # file expected-job-id
  local n=0 line k v
  job_defaults
  REFUSAL=
  while IFS= read -r line || [ -n "$line" ]; do
    n=$((n + 1))
    [ "$n" -le 200 ] || { REFUSAL="too many lines"; return 1; }
    line=${line%"$(printf '\r')"}
    [ -n "$line" ] || continue
    case "$line" in *=*) ;; *) REFUSAL="line $n is not key=value"; return 1 ;; esac
    k=${line%%=*} v=${line#*=}
    case "$k" in ''|*[!a-z_]*) REFUSAL="bad key on line $n"; return 1 ;; esac
    valid_value "$v" || { REFUSAL="bad value for $k"; return 1; }
    [ "${#v}" -le 128 ] || { REFUSAL="value too long for $k"; return 1; }
    set_job_key "$k" "$v"
  done < "$1"
  [ "$n" -gt 0 ] || { REFUSAL="empty job"; return 1; }
  if [ -n "$J_JOB" ] && [ "$J_JOB" != "$2" ]; then REFUSAL="job id mismatch"; return 1; fi
  J_CHUNK_MB=${CLONAGE_CHUNK_MB:-$J_CHUNK_MB}   # tests: small pieces from small disks
  return 0
}

# Shape checks per key, shared by server jobs and manual mode. Sets REFUSAL.
check_job_values() {
  local pair v
  REFUSAL=
  case "$J_ROLE" in
    sender|receiver|report|backup|restore|memtest|deploy) ;;
    *) REFUSAL="bad role"; return 1 ;;
  esac
  # No disk named: the agent chooses the first fixed disk (resolve_disk, agent-disks.sh).
  [ -z "$J_DISK" ] || valid_disk "$J_DISK" || { REFUSAL="bad disk"; return 1; }
  if [ -n "$J_PORT" ] || [ "$J_ROLE" = sender ] || [ "$J_ROLE" = receiver ] || [ "$J_ROLE" = deploy ]; then
    is_number "$J_PORT" 5 && [ "$J_PORT" -ge 1024 ] && [ "$J_PORT" -le 65534 ] &&
      [ $((J_PORT % 2)) = 0 ] || { REFUSAL="bad port"; return 1; }
  fi
  case "$J_COMPRESSION" in none|zstd|gzip|lzop) ;; *) REFUSAL="bad compression"; return 1 ;; esac
  case "$J_AUTO_REBOOT" in always|success|never) ;; *) REFUSAL="bad auto_reboot"; return 1 ;; esac
  for pair in "min_receivers:$J_MIN_RECEIVERS" "min_wait:$J_MIN_WAIT" "max_wait:$J_MAX_WAIT" \
              "start_timeout:$J_START_TIMEOUT" "receive_timeout:$J_RECEIVE_TIMEOUT" "retries_until_drop:$J_RETRIES" \
              "retry_seconds:$J_RETRY_SECONDS"; do
    v=${pair#*:}
    [ -z "$v" ] || is_number "$v" 6 || { REFUSAL="bad ${pair%%:*}"; return 1; }
  done
  case "$J_MAX_BITRATE" in '') ;; *[!0-9kmgKMG]*|[!0-9]*) REFUSAL="bad max_bitrate"; return 1 ;;
    *[kmgKMG]?*) REFUSAL="bad max_bitrate"; return 1 ;; esac
  case "$J_ROLE" in backup|restore|deploy) check_image_values ;; esac
}

# The image keys of backup, restore and deploy jobs.
check_image_values() {
  valid_image_name "$J_IMAGE" || { REFUSAL="bad image name"; return 1; }
  case "$J_STORE" in server|partition|smb) ;; *) REFUSAL="image store ${J_STORE:-none} is not supported"; return 1 ;; esac
  case "$J_STORAGE_PART" in
    auto) ;;
    *[!a-z0-9]*|'') REFUSAL="bad storage_part"; return 1 ;;
    *) valid_disk_part "$J_STORAGE_PART" "${J_STORAGE_PART##*[!0-9]}" || { REFUSAL="bad storage_part"; return 1; } ;;
  esac
  is_number "$J_CHUNK_MB" 3 && [ "$J_CHUNK_MB" -ge 1 ] && [ "$J_CHUNK_MB" -le 256 ] || { REFUSAL="bad chunk_mb"; return 1; }
}

# Manual mode (maintenance menu): the job comes from clonage.* words, with the same checks.
manual_job() {
  job_defaults
  J_ROLE=$CL_MANUAL
  J_DISK=$CL_DISK   # empty: chosen by resolve_disk
  J_PORT=${CL_PORT:-9002}
  J_COMPRESSION=${CL_COMPRESSION:-none}
  J_MIN_RECEIVERS=$CL_RECEIVERS
  J_AUTO_REBOOT=never
}
