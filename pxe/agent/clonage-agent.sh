#!/bin/sh
# clonage-agent: runs one job of the clonage module inside the boot environment (busybox sh).
# Contract: docs/agent-protocol.md. Behaviour and exit codes: docs/boot-environment.md.
#
# Safety rules, in order of importance:
#  - every value from the kernel command line or from the server is checked with `case`
#    patterns against the documented charset before use, and is never evaluated;
#  - until a well-formed job has been accepted, no disk is opened: any refusal, HTTP error or
#    malformed value ends in EXIT_BOOT_LOCAL after running the reboot command;
#  - programs are run as argument lists ("$@"), never as strings built from server data.
#
# Environment (tests, init): CLONAGE_CMDLINE (file, default /proc/cmdline), CLONAGE_DEV_DIR
# (default /dev), CLONAGE_REBOOT_CMD (default "reboot -f"), CLONAGE_POWEROFF_CMD (default
# "poweroff -f"), CLONAGE_WORK_DIR (default /tmp/clonage), CLONAGE_IFACE (default: guessed),
# CLONAGE_PROGRESS_SECONDS (default 2), CLONAGE_HTTP_TIMEOUT (default 15).

EXIT_OK=0
EXIT_FAILED=1
EXIT_BOOT_LOCAL=3

CMDLINE_FILE=${CLONAGE_CMDLINE:-/proc/cmdline}
DEV_DIR=${CLONAGE_DEV_DIR:-/dev}
REBOOT_CMD=${CLONAGE_REBOOT_CMD:-reboot -f}
POWEROFF_CMD=${CLONAGE_POWEROFF_CMD:-poweroff -f}
WORK=${CLONAGE_WORK_DIR:-/tmp/clonage}
PROGRESS_SECONDS=${CLONAGE_PROGRESS_SECONDS:-2}
HTTP_TIMEOUT=${CLONAGE_HTTP_TIMEOUT:-15}
LOG=$WORK/agent.log
UDPLOG=$WORK/udpcast.log

SCRIPT_DIR=$(dirname "$0")
. "$SCRIPT_DIR/agent-lib.sh"
. "$SCRIPT_DIR/agent-run.sh"
. "$SCRIPT_DIR/agent-backup.sh"
. "$SCRIPT_DIR/agent-deploy.sh"

mkdir -p "$WORK" || exit "$EXIT_BOOT_LOCAL"
: > "$LOG"

# ---- the kernel command line: only clonage.* words matter, the rest is ignored.
SERVER= JOB= TOKEN= MANUAL= M_DISK= M_PORT= M_COMP= M_RECEIVERS=
[ -r "$CMDLINE_FILE" ] || boot_local "cannot read $CMDLINE_FILE"
set -f   # split the command line into words, but never expand a word as a file pattern
for word in $(cat "$CMDLINE_FILE"); do
  case "$word" in
    clonage.server=*) SERVER=${word#*=} ;;
    clonage.job=*) JOB=${word#*=} ;;
    clonage.token=*) TOKEN=${word#*=} ;;
    clonage.manual=*) MANUAL=${word#*=} ;;
    clonage.disk=*) M_DISK=${word#*=} ;;
    clonage.port=*) M_PORT=${word#*=} ;;
    clonage.compression=*) M_COMP=${word#*=} ;;
    clonage.receivers=*) M_RECEIVERS=${word#*=} ;;
  esac
done
set +f

IFACE=${CLONAGE_IFACE:-$(guess_iface)}
valid_iface "$IFACE" || boot_local "no usable network interface"

if [ -n "$MANUAL" ]; then
  # Manual mode (maintenance menu, protected by the menu password): no server, no token.
  # Job values come from clonage.* words and pass the same checks as a server job.
  case "$MANUAL" in
    sender|receiver|report) ;;
    shell) log "maintenance shell asked"; exit "$EXIT_OK" ;;
    backup|restore) log "manual $MANUAL is not available in this boot environment yet"; exit "$EXIT_FAILED" ;;
    *) boot_local "bad clonage.manual" ;;
  esac
  J_ROLE=$MANUAL
  J_DISK=${M_DISK:-$(first_disk)}
  J_PORT=${M_PORT:-9002}
  J_COMPRESSION=${M_COMP:-none}
  J_MIN_RECEIVERS=$M_RECEIVERS
  J_AUTO_REBOOT=never
  check_job_values || boot_local "bad manual values"
  log "manual mode: role=$J_ROLE disk=$J_DISK port=$J_PORT compression=$J_COMPRESSION"
  run_role
  rc=$?
  [ "$rc" = 0 ] && log "manual $J_ROLE: success" || log "manual $J_ROLE: FAILED (exit $rc)"
  # No server to ask: stay on so the technician reads the result.
  [ "$rc" = 0 ] && exit "$EXIT_OK"
  exit "$EXIT_FAILED"
fi

valid_server "$SERVER" || boot_local "missing or invalid clonage.server"
valid_job_id "$JOB" || boot_local "missing or invalid clonage.job"
valid_token "$TOKEN" || boot_local "missing or invalid clonage.token"
BASE=$SERVER/api/agent/jobs/$JOB

# ---- fetch the job: the server consumes the boot plan when it answers 200.
log "fetching job $JOB from $SERVER on $IFACE"
if ! http GET "" "$WORK/job.txt"; then
  boot_local "job refused or unreachable (HTTP ${HTTP_STATUS:-none})"
fi
if ! parse_job "$WORK/job.txt" || ! check_job_values; then
  # The plan is consumed: tell the server why nothing happens, then boot the local disk.
  post_result failed 2 "agent refused the job: $REFUSAL" > /dev/null
  boot_local "malformed job: $REFUSAL"
fi
log "job accepted: role=$J_ROLE disk=$J_DISK port=$J_PORT compression=$J_COMPRESSION"

run_role
rc=$?
if [ "$rc" = 0 ]; then status=succeeded; msg="$J_ROLE finished"; else status=failed; msg="$J_ROLE failed: ${FAIL_MSG:-exit $rc}"; fi
log "result: $status (exit $rc)"
post_log
answer=$(post_result "$status" "$rc" "$msg")
case "$answer" in always|never|halt) ;; *)
  # Server unreachable at the end: fall back on the job's own auto_reboot.
  case "$J_AUTO_REBOOT" in
    never) answer=never ;;
    success) if [ "$rc" = 0 ]; then answer=always; else answer=never; fi ;;
    *) answer=always ;;
  esac ;;
esac
code=$EXIT_OK; [ "$rc" = 0 ] || code=$EXIT_FAILED
sync
case "$answer" in
  # The commands come from the environment (init or tests), never from the server: split on purpose.
  always) log "rebooting"; $REBOOT_CMD ;;
  halt) log "powering off"; $POWEROFF_CMD ;;
  never) log "staying on as asked by the server" ;;
esac
exit "$code"
