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
# Environment (tests, init; the server sets none): see agent-lib.sh "settings".
# CLONAGE_AGENT_LOAD_ONLY=1 loads the functions and returns (test/unit/agent-functions.test.ts).

# This file is the one loader: every agent file, in this order, then agent_main (agent-main.sh).
# pxe/build-bootenv.sh packs clonage-agent.sh and every pxe/agent/agent-*.sh.
AGENT_DIR=${CLONAGE_AGENT_DIR:-$(dirname "$0")}
for agent_file in \
  agent-lib.sh \
  agent-disks.sh \
  agent-job.sh \
  agent-http.sh \
  agent-image.sh \
  agent-run.sh \
  agent-clone.sh \
  agent-backup.sh \
  agent-restore.sh \
  agent-deploy.sh \
  agent-dirstore.sh \
  agent-smb.sh \
  agent-main.sh
do
  . "$AGENT_DIR/$agent_file" || { echo "clonage-agent: cannot load $agent_file" >&2; exit 3; }
done
unset agent_file

[ -z "${CLONAGE_AGENT_LOAD_ONLY:-}" ] || return 0
agent_main
