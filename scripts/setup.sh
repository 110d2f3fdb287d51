#!/usr/bin/env bash
# The README's first command: sets up a checkout on Debian and starts the admin shell on the
# embedded defaults (every packet stays on loopback). Each step says what it does and is skipped
# when already done, so running it again is cheap and changes nothing.
#
#   1. system packages        scripts/install-system-deps.sh (through sudo when not root)
#   2. Node.js check          node >= 20 must be on PATH (Debian 13 ships it; Debian 12: NodeSource)
#   3. npm dependencies       npm ci, skipped when package-lock.json and node did not change
#   4. build                  tsc into dist/
#   5. boot loaders           the files the module copies into its TFTP root (pxelinux, iPXE ...)
#   6. boot environment       pxe/build-bootenv.sh into var/bootenv (reused when its inputs did
#                             not change), installed as the `clonage` toolkit of the data dir
#   7. start                  node dist/src/shell/main.js (what `npm start` runs)
#
# Usage: scripts/setup.sh [--no-start] [--skip-system] [--bootenv-only]
#   --no-start      stop after step 6 (CI, scripts/e2e.sh)
#   --skip-system   do not touch system packages (no root, no sudo)
#   --bootenv-only  only step 6 (`npm run toolkit:build`, scripts/e2e.sh)
# Env: CLONAGE_DATA_DIR (default var/), CLONAGE_BOOTENV_DIR (default var/bootenv).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

START=1 SYSTEM=1 ONLY_BOOTENV=0
for arg in "$@"; do
  case "$arg" in
    --no-start) START=0 ;;
    --skip-system) SYSTEM=0 ;;
    --bootenv-only) ONLY_BOOTENV=1 START=0 ;;
    -h|--help) sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "setup: unknown option $arg (see --help)" >&2; exit 2 ;;
  esac
done
DATA_DIR=${CLONAGE_DATA_DIR:-$ROOT/var}
BOOTENV_DIR=${CLONAGE_BOOTENV_DIR:-$ROOT/var/bootenv}
TOOLKIT_DIR=$DATA_DIR/modules/clonage/toolkits/clonage

step() { printf '\n==> %s\n' "$*"; }
say() { printf '    %s\n' "$*"; }

system_packages() {
  step "system packages (scripts/install-system-deps.sh)"
  if [ "$SYSTEM" = 0 ]; then say "skipped (--skip-system)"; return; fi
  if [ "$(id -u)" = 0 ]; then
    bash scripts/install-system-deps.sh
  elif command -v sudo > /dev/null; then
    say "needs root: running it through sudo"
    sudo bash scripts/install-system-deps.sh
  else
    echo "setup: not root and no sudo: run 'bash scripts/install-system-deps.sh' as root, then again with --skip-system" >&2
    exit 1
  fi
}

node_check() {
  step "Node.js"
  local v
  v=$(node -p 'process.versions.node' 2> /dev/null || true)
  case "$v" in
    '') echo "setup: node is not installed (Node.js 20 or later: 'apt-get install nodejs npm' on Debian 13, NodeSource on Debian 12)" >&2; exit 1 ;;
    1[0-9].*|[0-9].*) echo "setup: node $v is too old: Node.js 20 or later is needed" >&2; exit 1 ;;
  esac
  say "node $v, npm $(npm --version)"
}

npm_dependencies() {
  step "npm dependencies (npm ci)"
  if [ -L node_modules ]; then
    # a worktree sharing another checkout's node_modules: npm ci would empty the shared folder
    say "node_modules is a symbolic link (shared with another checkout): left alone"
    return
  fi
  local stamp=node_modules/.clonage-setup-stamp want
  want="$(sha256sum package-lock.json | cut -c1-64) node $(node -p 'process.versions.modules')"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    say "up to date (package-lock.json and the Node ABI did not change)"
    return
  fi
  npm ci --no-audit --no-fund
  echo "$want" > "$stamp"
}

build() {
  step "build (tsc into dist/)"
  npm run --silent build
  say "done"
}

boot_loaders() {
  step "boot loaders (files the module copies into its TFTP root)"
  node scripts/check-boot-loaders.js
}

boot_environment() {
  step "boot environment (pxe/build-bootenv.sh $BOOTENV_DIR, then the 'clonage' toolkit)"
  bash pxe/build-bootenv.sh "$BOOTENV_DIR"
  if [ -f "$TOOLKIT_DIR/manifest.json" ] && cmp -s "$BOOTENV_DIR/manifest.json" "$TOOLKIT_DIR/manifest.json"; then
    say "toolkit up to date: $TOOLKIT_DIR"
    return
  fi
  # copy beside, then swap: the shell may be serving the old files right now
  local parent tmp
  parent=$(dirname "$TOOLKIT_DIR")
  mkdir -p "$parent"
  tmp=$(mktemp -d "$parent/.setup-clonage-XXXXXX")
  cp -r "$BOOTENV_DIR"/. "$tmp"/
  chmod 755 "$tmp"
  rm -rf "$TOOLKIT_DIR.old"
  [ ! -e "$TOOLKIT_DIR" ] || mv "$TOOLKIT_DIR" "$TOOLKIT_DIR.old"
  mv "$tmp" "$TOOLKIT_DIR"
  rm -rf "$TOOLKIT_DIR.old"
  say "toolkit installed: $TOOLKIT_DIR"
}

if [ "$ONLY_BOOTENV" = 1 ]; then
  boot_environment
  exit 0
fi
system_packages
node_check
npm_dependencies
build
boot_loaders
boot_environment
if [ "$START" = 0 ]; then
  step "set-up done (--no-start): 'npm start' starts the admin shell"
  exit 0
fi
step "start: the admin shell on the embedded defaults (Ctrl-C stops it)"
exec node dist/src/shell/main.js
