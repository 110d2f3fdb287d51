# Loaded by clonage-agent.sh: settings, exit codes, logging, value checks, disks, cleanup.
# Nothing here writes to a disk. Every function keeps its variables `local`; the only globals are
# the settings below, the job (J_*, agent-job.sh) and documented outputs in CAPITALS.

# ---- settings, read once from the environment (tests and init set them; the server sets none).
CMDLINE_FILE=${CLONAGE_CMDLINE:-/proc/cmdline}
DEV_DIR=${CLONAGE_DEV_DIR:-/dev}
SYS_DIR=${CLONAGE_SYS_DIR:-/sys}              # disk detection (agent-disks.sh)
MOUNTS_FILE=${CLONAGE_MOUNTS:-/proc/mounts}
REBOOT_CMD=${CLONAGE_REBOOT_CMD:-reboot -f}
POWEROFF_CMD=${CLONAGE_POWEROFF_CMD:-poweroff -f}
WORK=${CLONAGE_WORK_DIR:-/tmp/clonage}
PROGRESS_SECONDS=${CLONAGE_PROGRESS_SECONDS:-2}
HTTP_TIMEOUT=${CLONAGE_HTTP_TIMEOUT:-15}
TRANSFER_TIMEOUT=${CLONAGE_TRANSFER_TIMEOUT:-600}   # one image piece up or down
COMMIT_TIMEOUT=${CLONAGE_COMMIT_TIMEOUT:-1800}      # the server re-hashes a whole backup
LOG=$WORK/agent.log
UDPLOG=$WORK/udpcast.log

# ---- exit codes: the process exits with OK, FAILED or BOOT_LOCAL; the result posted to the
# server carries the detailed code of the failure (table in docs/boot-environment.md).
EXIT_OK=0
EXIT_FAILED=1          # process: the job ran and failed
EXIT_BAD_JOB=2         # the job's values were refused: nothing touched
EXIT_BOOT_LOCAL=3      # process: refused before any disk was opened, reboot command run
EXIT_NO_DISK=4         # the job's disk (or a partition of it) is not there
EXIT_BAD_ROLE=5        # a role this agent cannot run
EXIT_REFUSED=6         # a check before writing failed (table, store, manifest, sizes): nothing written
EXIT_CORRUPT=7         # an image file is missing or its size / SHA-256 differs: nothing written
EXIT_TRANSFER=8        # reading, sending or writing data failed mid-way (restore/deploy: disk partly written)
EXIT_NOT_RECORDED=9    # the work is done but the server or the store did not record it
EXIT_DAMAGED=10        # a partition was written from a multicast stream whose SHA-256 differs
EXIT_CANCELLED=11      # stopped by the server (410: action cancelled or this PC left out)

# Whole-disk names in /sys/block: sda, vda, hdb, nvme0n1, mmcblk0 (valid_disk checks one name).
DISK_NAMES='^(sd[a-z]+|vd[a-z]+|hd[a-z]+|nvme[0-9]+n[0-9]+|mmcblk[0-9]+)$'

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

# FAIL_MSG is what the result message says; the code is returned for `|| return`.
fail_with() { # exit-code message
  FAIL_MSG=$2
  log "$FAIL_MSG"
  return "$1"
}

# ---- cleanup on any exit: a mounted store is unmounted and the SMB credential file removed,
# whatever ends the agent (error, signal). store_umount is in agent-dirstore.sh.
agent_cleanup() {
  rm -f "$WORK/smb.cred"
  store_umount
}
install_cleanup() {
  trap agent_cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
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
    nvme*p*|mmcblk*p*) return 1 ;;   # partitions (nvme0n1p1), not disks
    nvme[0-9]*n[0-9]*|mmcblk[0-9]*) return 0 ;;
    *[0-9][a-z]*) return 1 ;;
  esac
}
valid_disk_part() { # name number
  case "$1" in ''|*[!a-z0-9]*) return 1 ;; esac
  is_number "$2" 3
}
valid_file() { case "$1" in ''|.*|*[!A-Za-z0-9._-]*) return 1 ;; esac; [ "${#1}" -le 100 ]; }
valid_sha() { case "$1" in *[!0-9a-f]*) return 1 ;; esac; [ "${#1}" -eq 64 ]; }
valid_image_name() { case "$1" in .*|-*|*[!A-Za-z0-9_.-]*) return 1 ;; esac; }

# ---- the machine
guess_iface() {
  local iface
  iface=$(ip route show default 2>/dev/null | sed -n 's/.* dev \([^ ]*\).*/\1/p' | head -n 1)
  [ -n "$iface" ] || iface=$(ls /sys/class/net 2>/dev/null | grep -v '^lo$' | head -n 1)
  echo "$iface"
}

# The whole disks of the machine (tests without a sysfs tree: the plain-letter names under CLONAGE_DEV_DIR).
list_disks() {
  if [ "$DEV_DIR" = /dev ] || [ -n "${CLONAGE_SYS_DIR:-}" ]; then ls "$SYS_DIR/block" 2>/dev/null | grep -E "$DISK_NAMES"
  else ls "$DEV_DIR" 2>/dev/null | grep -E '^[a-z]+$'
  fi
}
first_disk() { list_disks | head -n 1; }

# Waits up to 10 s for a block device (udev-less kernels create nodes a moment after a table is
# written). `file`: a plain file stands for the device too, when tests moved the device directory.
wait_block_device() { # path [file]
  local i=0
  while [ "$i" -lt 20 ]; do
    [ -b "$1" ] && return 0
    [ "${2:-}" = file ] && [ "$DEV_DIR" != /dev ] && [ -f "$1" ] && return 0
    sleep 0.5
    i=$((i + 1))
  done
  return 1
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

uptime_cs() { # centiseconds since boot, for rates (busybox date has no sub-second format)
  local up rest s f
  read -r up rest < /proc/uptime
  s=${up%.*} f=${up#*.}
  f=${f%"${f#??}"}
  f=${f#0}   # "05" would be read as octal
  echo $((s * 100 + ${f:-0}))
}

sha_of() { set -- $(sha256sum "$1"); echo "$1"; }
check_file() { # path bytes sha
  [ "$(stat -c %s "$1" 2>/dev/null)" = "$2" ] && [ "$(sha_of "$1")" = "$3" ]
}
