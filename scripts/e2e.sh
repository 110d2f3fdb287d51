#!/usr/bin/env bash
# Runs the end-to-end suites inside a network namespace created for this run, so QEMU PCs,
# the bridge, dnsmasq and the shell never touch the host's real network. The namespace and
# every process left in it are removed at exit.
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "e2e: needs root (network namespaces, taps)"; exit 1; }
NS="clonage-e2e-$$"
cleanup() {
  # kill what is still running inside the namespace (QEMU, dnsmasq), then remove it
  for pid in $(ip netns pids "$NS" 2>/dev/null); do kill "$pid" 2>/dev/null || true; done
  sleep 0.5
  for pid in $(ip netns pids "$NS" 2>/dev/null); do kill -9 "$pid" 2>/dev/null || true; done
  ip netns del "$NS" 2>/dev/null || true
}
trap cleanup EXIT
ip netns add "$NS"
ip netns exec "$NS" ip link set lo up
# the boot environment of the set-up (var/bootenv): built here only when its inputs changed since
bash scripts/setup.sh --bootenv-only
ip netns exec "$NS" env CLONAGE_E2E_NETNS="$NS" CLONAGE_BOOTENV="${CLONAGE_BOOTENV_DIR:-$PWD/var/bootenv}" node scripts/run-tests.js --config jest.e2e.config.js "$@"
