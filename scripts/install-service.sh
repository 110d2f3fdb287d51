#!/usr/bin/env bash
# Installs, upgrades or removes clonage as a systemd service (docs/service.md):
#   /usr/lib/clonage            the application (dist/, pages, pxe, production node_modules)
#   /etc/clonage/config.json    the shell's configuration (written once, never overwritten)
#   /etc/clonage/clonage.env    optional secrets read by systemd as root (0600)
#   /var/lib/clonage            data: SQLite, images, boot root (0700, owned by the service user)
#   /etc/systemd/system/clonage.service
#   /usr/bin/clonage            the command line (docs/cli.md): a wrapper running dist/src/cli/main.js
# The service runs as the system user `clonage` with CAP_NET_BIND_SERVICE only (TFTP on 69).
#
# Usage: scripts/install-service.sh [install]   [--root DIR] [--no-systemctl] [--ldap-url URL --base-dn DN]
#        scripts/install-service.sh uninstall [--purge] [--root DIR] [--no-systemctl]
#   install     first install or upgrade (same command): the data and config are kept, the
#               database is copied to /var/lib/clonage/backups/ before the new version migrates it
#   uninstall   removes the service and the application; config and data (images) stay unless --purge
#   --root DIR  install under DIR instead of / (tests, packaging); the user goes into DIR/etc/passwd
#   --no-systemctl  do not call systemctl (also automatic when systemd is not running)
# Run from a checkout prepared by `scripts/setup.sh --no-start` (needs dist/ and node_modules/).
set -euo pipefail
SRC=$(cd "$(dirname "$0")/.." && pwd)

ACTION=install ROOT=/ PURGE=0 SYSTEMCTL=1 LDAP_URL=ldap://127.0.0.1 BASE_DN=
while [ $# -gt 0 ]; do
  case "$1" in
    install|uninstall) ACTION=$1 ;;
    --root) ROOT=${2:?--root needs a folder}; shift ;;
    --purge) PURGE=1 ;;
    --no-systemctl) SYSTEMCTL=0 ;;
    --ldap-url) LDAP_URL=${2:?--ldap-url needs a URL}; shift ;;
    --base-dn) BASE_DN=${2:?--base-dn needs a DN}; shift ;;
    -h|--help) sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "install-service: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done
[ "$(id -u)" = 0 ] || { echo "install-service: run as root" >&2; exit 1; }
case "$ROOT" in /*) ;; *) echo "install-service: --root must be an absolute path" >&2; exit 2 ;; esac
ROOT=${ROOT%/}
[ -d /run/systemd/system ] || SYSTEMCTL=0
case "$LDAP_URL" in ldap://*|ldaps://*) ;; *) echo "install-service: --ldap-url must start with ldap:// or ldaps://" >&2; exit 2 ;; esac
case "$BASE_DN" in *'"'*|*'\'*) echo "install-service: --base-dn must not contain quotes or backslashes" >&2; exit 2 ;; esac

SVC_USER=clonage
APP=$ROOT/usr/lib/clonage
ETC=$ROOT/etc/clonage
DATA=$ROOT/var/lib/clonage
UNIT=$ROOT/etc/systemd/system/clonage.service
CLI=$ROOT/usr/bin/clonage
say() { echo "install-service: $*"; }
systemctl_() { if [ "$SYSTEMCTL" = 1 ]; then systemctl "$@"; fi; }

do_uninstall() {
  systemctl_ disable --now clonage.service 2> /dev/null || true
  rm -f "$UNIT"
  systemctl_ daemon-reload
  rm -rf "$APP" "$APP.new" "$APP.old"
  remove_cli
  say "removed the service, $APP and $CLI"
  if [ "$PURGE" = 1 ]; then
    rm -rf "$ETC" "$DATA"
    remove_user
    say "purged $ETC, $DATA (images included) and the user $SVC_USER"
  else
    say "kept $ETC and $DATA (images, database): remove them with --purge"
  fi
}

ensure_user() {
  # systemd-sysusers: the Debian way for a system user, and it writes into --root's user database
  install -D -m 0644 "$SRC/scripts/systemd/clonage.sysusers" "$ROOT/usr/lib/sysusers.d/clonage.conf"
  if grep -q "^$SVC_USER:" "$ROOT/etc/passwd" 2> /dev/null; then return; fi
  systemd-sysusers --root="${ROOT:-/}" clonage.conf
  say "created the system user $SVC_USER"
}

remove_user() {
  rm -f "$ROOT/usr/lib/sysusers.d/clonage.conf"
  grep -q "^$SVC_USER:" "$ROOT/etc/passwd" 2> /dev/null || return 0
  if [ "$ROOT" = "" ]; then
    userdel "$SVC_USER"
  else
    local f
    for f in passwd group shadow gshadow; do
      [ -f "$ROOT/etc/$f" ] && sed -i "/^$SVC_USER:/d" "$ROOT/etc/$f"
    done
  fi
}

# the CLI on the PATH; the paths inside are the installed system's, not --root's
install_cli() {
  install -d -m 0755 "$(dirname "$CLI")"
  printf '#!/bin/sh\n# clonage command line (docs/cli.md), written by install-service.sh\nexec /usr/bin/node /usr/lib/clonage/dist/src/cli/main.js "$@"\n' > "$CLI.new"
  chmod 0755 "$CLI.new"
  mv "$CLI.new" "$CLI"
}

remove_cli() {
  # only our wrapper: never a file another package put there
  if grep -q 'written by install-service.sh' "$CLI" 2> /dev/null; then rm -f "$CLI"; fi
}

# numeric ids from the target's passwd (with --root they are not the running system's)
user_ids() { awk -F: -v u="$SVC_USER" '$1 == u { print $3 ":" $4 }' "$ROOT/etc/passwd"; }

stage_app() {
  for f in dist/src/shell/main.js node_modules/better-sqlite3 module.json; do
    [ -e "$SRC/$f" ] || { echo "install-service: $SRC/$f missing: run scripts/setup.sh --no-start first" >&2; exit 1; }
  done
  rm -rf "$APP.new"
  mkdir -p "$APP.new"
  # what the shell and the module read at run time; test/ (demo directory, fixtures) stays out
  local item
  for item in package.json package-lock.json module.json dist src pages hooks pxe netlogon docs README.md; do
    [ -e "$SRC/$item" ] && cp -a "$SRC/$item" "$APP.new/"
  done
  # production dependencies only (no jest, typescript, playwright): the paths npm resolves for them
  local nm dep
  nm=$(cd "$SRC/node_modules" && pwd -P)
  mkdir -p "$APP.new/node_modules"
  (cd "$SRC" && npm ls --omit=dev --all --parseable) | while IFS= read -r dep; do
    case "$dep" in "$SRC"/node_modules/*) dep=$nm/${dep#"$SRC"/node_modules/} ;; "$nm"/*) ;; *) continue ;; esac
    # nested node_modules come with their parent package
    case "${dep#"$nm"/}" in */node_modules/*) continue ;; esac
    mkdir -p "$APP.new/node_modules/$(dirname "${dep#"$nm"/}")"
    cp -a "$dep" "$APP.new/node_modules/${dep#"$nm"/}"
  done
  chown -R root:root "$APP.new"
  chmod -R u=rwX,go=rX "$APP.new"
}

starter_config() {
  [ -n "$BASE_DN" ] || BASE_DN=dc=example,dc=org
  cat << EOF
{
  "listen": { "host": "127.0.0.1", "port": 8080 },
  "dataDir": "/var/lib/clonage",
  "directory": { "kind": "ldap", "url": "$LDAP_URL", "baseDn": "$BASE_DN" },
  "delegations": [],
  "seedReservationsFromDirectory": false,
  "dhcp": { "configFile": "/var/lib/clonage/dnsmasq.conf" },
  "moduleSettings": { "clonage": { "tftp.port": 69 } }
}
EOF
}

backup_database() {
  local db=$DATA/shell.sqlite dest
  [ -f "$db" ] || return 0
  mkdir -p "$DATA/backups"
  dest=$DATA/backups/shell-$(date -u +%Y%m%dT%H%M%SZ).sqlite
  # SQLite's online backup (WAL included) through the new application's own better-sqlite3
  node -e 'const D = require(process.argv[1]); const db = new D(process.argv[2], { readonly: true });
    db.backup(process.argv[3]).then(() => db.close(), (e) => { console.error(e.message); process.exit(1); });' \
    "$APP.new/node_modules/better-sqlite3" "$db" "$dest"
  # keep the last 5 copies
  ls -1 "$DATA"/backups/shell-*.sqlite | sort | head -n -5 | xargs -r rm -f
  say "database copied to $dest"
}

do_install() {
  local ids was_active=0
  ensure_user
  ids=$(user_ids)
  [ -n "$ids" ] || { echo "install-service: no uid for $SVC_USER in $ROOT/etc/passwd" >&2; exit 1; }
  stage_app
  if [ "$SYSTEMCTL" = 1 ] && systemctl is-active --quiet clonage.service; then was_active=1; systemctl stop clonage.service; fi

  install -d -m 0750 -o root -g "${ids#*:}" "$ETC"
  if [ ! -e "$ETC/config.json" ]; then
    starter_config > "$ETC/config.json"
    say "wrote $ETC/config.json (directory $LDAP_URL, base ${BASE_DN}): edit it, see docs/service.md"
  else
    say "kept $ETC/config.json"
  fi
  chown root:"${ids#*:}" "$ETC/config.json"
  chmod 0640 "$ETC/config.json"
  if [ ! -e "$ETC/clonage.env" ]; then
    printf '# Read by systemd as root. CLONAGE_ADMIN_PASSWORD=... enables the local super-admin.\n' > "$ETC/clonage.env"
  fi
  chown root:root "$ETC/clonage.env"
  chmod 0600 "$ETC/clonage.env"

  install -d -m 0700 -o "${ids%:*}" -g "${ids#*:}" "$DATA"
  backup_database
  # the boot environment built by scripts/setup.sh, as the `clonage` toolkit, unless one is there
  local tk=$DATA/modules/clonage/toolkits/clonage
  if [ -f "$SRC/var/bootenv/manifest.json" ] && ! cmp -s "$SRC/var/bootenv/manifest.json" "$tk/manifest.json" 2> /dev/null; then
    rm -rf "$tk.new"
    mkdir -p "$(dirname "$tk")"
    cp -r "$SRC/var/bootenv" "$tk.new"
    rm -rf "$tk"
    mv "$tk.new" "$tk"
    say "installed the boot environment of $SRC/var/bootenv as toolkit clonage"
  fi
  chown -R "$ids" "$DATA"

  rm -rf "$APP.old"
  [ ! -e "$APP" ] || mv "$APP" "$APP.old"
  mv "$APP.new" "$APP"
  rm -rf "$APP.old"
  say "application in $APP (version $(node -p 'require(process.argv[1]).version' "$APP/package.json"))"
  install_cli
  say "command line in $CLI (clonage --help; docs/cli.md)"

  install -d -m 0755 "$(dirname "$UNIT")"
  install -m 0644 "$SRC/scripts/systemd/clonage.service" "$UNIT"
  systemctl_ daemon-reload
  if [ "$SYSTEMCTL" = 1 ]; then
    systemctl enable clonage.service
    systemctl restart clonage.service
    say "service started ($( [ $was_active = 1 ] && echo upgraded || echo installed )): journalctl -u clonage -f"
  else
    say "systemd not used: start it with 'systemctl enable --now clonage' once systemd runs"
  fi
}

case "$ACTION" in
  install) do_install ;;
  uninstall) do_uninstall ;;
esac
