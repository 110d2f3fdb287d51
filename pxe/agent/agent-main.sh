# Loaded by clonage-agent.sh: the agent's flow. The command line, then either manual mode
# (maintenance menu, no server) or a server job: fetch, check, run, report, reboot as told.
# Globals set here for every other file: SERVER JOB TOKEN SESSION BASE (the job's URL) IFACE; the
# roles set DISK_TOUCHED once they start writing the job's disk (restore, deploy, receiver);
# resolve_disk (agent-disks.sh) sets J_DISK and DISK_NOTE when the job named no disk.

agent_main() {
  mkdir -p "$WORK" || exit "$EXIT_BOOT_LOCAL"
  : > "$LOG"
  install_cleanup
  [ -r "$CMDLINE_FILE" ] || boot_local "cannot read $CMDLINE_FILE"
  parse_cmdline "$CMDLINE_FILE"
  IFACE=${CLONAGE_IFACE:-$(guess_iface)}
  valid_iface "$IFACE" || boot_local "no usable network interface"
  if [ -n "$CL_MANUAL" ]; then run_manual; else run_server_job; fi
}

# Manual mode (maintenance menu, protected by the menu password): no server, no token. The PC
# stays on afterwards so that the technician reads the result.
run_manual() {
  local rc
  case "$CL_MANUAL" in
    sender|receiver|report) ;;
    shell) log "maintenance shell asked"; exit "$EXIT_OK" ;;
    backup|restore) log "manual $CL_MANUAL is not available in this boot environment yet"; exit "$EXIT_FAILED" ;;
    *) boot_local "bad clonage.manual" ;;
  esac
  manual_job
  check_job_values || boot_local "bad manual values"
  log "manual mode: role=$J_ROLE disk=${J_DISK:-auto} port=$J_PORT compression=$J_COMPRESSION"
  run_role
  rc=$?
  if [ "$rc" = 0 ]; then log "manual $J_ROLE: success"; exit "$EXIT_OK"; fi
  log "manual $J_ROLE: FAILED (exit $rc)"
  exit "$EXIT_FAILED"
}

run_server_job() {
  local rc status msg
  valid_server "$CL_SERVER" || boot_local "missing or invalid clonage.server"
  valid_job_id "$CL_JOB" || boot_local "missing or invalid clonage.job"
  valid_token "$CL_TOKEN" || boot_local "missing or invalid clonage.token"
  SERVER=$CL_SERVER JOB=$CL_JOB TOKEN=$CL_TOKEN
  BASE=$SERVER/api/agent/jobs/$JOB
  # The job fetch is never retried: the server consumes the boot plan when it answers 200, and
  # without an answer the safe way is the local disk.
  log "fetching job $JOB from $SERVER on $IFACE"
  SESSION=
  http GET "" "$WORK/job.txt" || boot_local "job refused or unreachable (HTTP ${HTTP_STATUS:-none})"
  # Every later call needs the session secret of this answer (docs/agent-protocol.md "Sessions").
  SESSION=$(take_session "$WORK/http.err") || boot_local "the job answer carried no session secret"
  if ! parse_job "$WORK/job.txt" "$JOB" || ! check_job_values; then
    # The plan is consumed: tell the server why nothing happens, then boot the local disk.
    post_result failed "$EXIT_BAD_JOB" "agent refused the job: $REFUSAL" > /dev/null
    boot_local "malformed job: $REFUSAL"
  fi
  log "job accepted: role=$J_ROLE disk=${J_DISK:-auto} port=$J_PORT compression=$J_COMPRESSION"
  FAIL_MSG= DISK_TOUCHED=
  run_role
  rc=$?
  if [ "$rc" = 0 ]; then status=succeeded msg="$J_ROLE finished${J_DISK:+ on $J_DISK}${DISK_NOTE:+, $DISK_NOTE}"; else status=failed msg="$J_ROLE failed: ${FAIL_MSG:-exit $rc}"; fi
  log "result: $status (exit $rc)"
  finish_job "$status" "$rc" "$msg"
}

# The log, then the result, each retried while the server is away (a restart); the server's
# answer decides reboot / stay on / power off; without one, the job's own auto_reboot does.
# A disk left partly written is never rebooted into: the PC stays on and says so on its screen.
finish_job() { # status exit-code message
  local answer once= code=$EXIT_OK dropped=
  [ "$J_ROLE" != sender ] || dropped=$(dropped_receivers)
  [ -z "$dropped" ] || log "udp-sender dropped: $dropped"
  post_log || ! http_retryable || once=once   # away for the whole retry time: one last try
  answer=$(post_result "$1" "$2" "$3" "$dropped" $once)
  case "$answer" in always|never|halt) ;; *)
    case "$J_AUTO_REBOOT" in
      never) answer=never ;;
      success) if [ "$2" = 0 ]; then answer=always; else answer=never; fi ;;
      *) answer=always ;;
    esac ;;
  esac
  [ "$2" = 0 ] || code=$EXIT_FAILED
  if [ "$2" != 0 ] && [ -n "$DISK_TOUCHED" ]; then
    disk_incomplete_banner "$3"
    [ "$answer" = halt ] || answer=stay
  fi
  sync
  case "$answer" in
    # The commands come from the environment (init or tests), never from the server: split on purpose.
    always) log "rebooting"; $REBOOT_CMD ;;
    halt) log "powering off"; $POWEROFF_CMD ;;
    never) log "staying on as asked by the server" ;;
    stay) log "staying on: the disk is incomplete" ;;
  esac
  exit "$code"
}

# On the PC's own screen (ASCII: the console font may lack accents), in French for the people in
# the room: the disk is partly written and must not be booted; what to do.
disk_incomplete_banner() { # reason
  {
    echo
    echo "=================================================================="
    echo " DISQUE INCOMPLET : $J_DISK a ete ecrit en partie ($J_ROLE interrompu)."
    echo " Raison : $1"
    echo " Ne pas demarrer ce PC sur son disque. Sur la page de l'action :"
    echo " << relancer les postes en echec >>, puis redemarrer ce PC :"
    echo " il repartira sur le reseau."
    echo "=================================================================="
    echo
  } >&2
  log "disk $J_DISK incomplete: staying on, not booting it"
}
