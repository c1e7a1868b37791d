#!/usr/bin/env bash
# Install (or upgrade, or remove) the lab appliance on Raspberry Pi OS bookworm (arm64), or any
# Debian bookworm. Run as root from an unpacked source tree:
#
#   sudo scripts/install-pi.sh                 install or upgrade; re-running is harmless
#   sudo scripts/install-pi.sh --uninstall     remove the program; keep config and data
#   sudo scripts/install-pi.sh --uninstall --purge   also remove config, data and the user
#   sudo scripts/install-pi.sh --rollback      back to the previous version and its database
#
# What it does: run-time system packages (scripts/system-deps.sh --runtime), the service user
# and its groups (systemd-sysusers), the project in a venv under /opt/appliance with its C
# extension compiled on this machine and Python packages at the versions of constraints.txt,
# /etc/appliance/appliance.toml from systemd/appliance.toml.example (only when missing), the
# systemd unit and the udev rules (stable /dev/appliance-modem, /dev/appliance-line; ModemManager
# told to leave those ports alone), and the service enabled and (re)started.
#
# Without a running systemd (a chroot, an image being built) it does everything but start.
# Options: --source DIR (default: this script's tree), --no-apt (system packages are there),
# --no-start, --site-id ID (for a new config; default: the host name).
set -euo pipefail

PREFIX=/opt/appliance
ETC=/etc/appliance
DATA=/var/lib/appliance
UNIT_DIR=/etc/systemd/system
UDEV_DIR=/etc/udev/rules.d
SYSUSERS_DIR=/usr/lib/sysusers.d
SOURCE="$(cd "$(dirname "$0")/.." && pwd)"
ACTION=install
PURGE=0
APT=1
START=1
SITE_ID=""
UPGRADED=0
BUILT=0

say() { echo "install-pi: $*" >&2; }
die() { echo "install-pi: error: $*" >&2; exit 1; }

while [ $# -gt 0 ]; do
  case "$1" in
    --uninstall) ACTION=uninstall ;;
    --rollback) ACTION=rollback ;;
    --purge) PURGE=1 ;;
    --no-apt) APT=0 ;;
    --no-start) START=0 ;;
    --source) SOURCE="$2"; shift ;;
    --site-id) SITE_ID="$2"; shift ;;
    -h|--help) sed -n '2,22p' "$0"; exit 0 ;;
    *) echo "install-pi: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done
[ "$PURGE" = 1 ] && [ "$ACTION" != uninstall ] && { echo "install-pi: --purge goes with --uninstall" >&2; exit 2; }
[ "$(id -u)" -eq 0 ] || die "run as root (sudo $0)"

# systemd as PID 1: start/stop services; otherwise (chroot, image build) only files and links
systemd_running() { [ -d /run/systemd/system ]; }

stop_service() {
  if systemd_running && systemctl is-active --quiet appliance.service 2>/dev/null; then
    say "stopping appliance.service"
    systemctl stop appliance.service
  fi
}

start_service() {
  if [ "$START" = 1 ] && systemd_running; then
    say "starting appliance.service"
    # Type=notify: this returns once the daemon said READY=1, or fails (TimeoutStartSec=60)
    systemctl restart appliance.service || return 1
  else
    say "not starting the service (no running systemd, or --no-start): it starts at the next boot"
  fi
}

do_uninstall() {
  stop_service
  if [ -f "$UNIT_DIR/appliance.service" ]; then
    systemctl disable appliance.service >/dev/null 2>&1 || true
    rm -f "$UNIT_DIR/appliance.service"
    systemd_running && systemctl daemon-reload
  fi
  rm -f "$UDEV_DIR/90-appliance-modems.rules" "$SYSUSERS_DIR/appliance.conf"
  systemd_running && udevadm control --reload 2>/dev/null || true
  rm -rf "$PREFIX"
  if [ "$PURGE" = 1 ]; then
    say "purging configuration $ETC, data $DATA and the user 'appliance'"
    rm -rf "$ETC" "$DATA"
    if getent passwd appliance >/dev/null; then userdel appliance 2>/dev/null || true; fi
    if getent group appliance >/dev/null; then groupdel appliance 2>/dev/null || true; fi
  else
    say "kept configuration $ETC and data $DATA (--purge removes them)"
  fi
  say "uninstalled"
}

do_rollback() {
  [ -d "$PREFIX/venv.previous" ] || die "no previous version in $PREFIX/venv.previous"
  stop_service
  mv "$PREFIX/venv" "$PREFIX/venv.failed"
  mv "$PREFIX/venv.previous" "$PREFIX/venv"
  rm -rf "$PREFIX/venv.failed"
  # the database as it was before the upgrade migrated it (taken by 'appliance upgrade-db')
  local backup="$DATA/backups/pre-upgrade.db"
  if [ -f "$backup" ]; then
    say "restoring the pre-upgrade database $backup"
    runuser -u appliance -- env APPLIANCE_DATA_DIR="$DATA" "$PREFIX/venv/bin/appliance" \
      --config "$ETC/appliance.toml" restore "$backup"
  fi
  start_service || die "the previous version does not start either: journalctl -u appliance"
  say "rolled back to $("$PREFIX/venv/bin/appliance" --version)"
}

write_config() {
  install -d -m 0750 -o root -g appliance "$ETC"
  if [ -f "$ETC/appliance.toml" ]; then
    say "keeping the existing $ETC/appliance.toml"
  else
    local site=${SITE_ID:-$(hostname -s 2>/dev/null || cat /etc/hostname)}
    site=$(printf '%s' "$site" | tr -c 'A-Za-z0-9_.-' '-' | cut -c1-64)
    sed "s/@SITE_ID@/$site/" "$SOURCE/systemd/appliance.toml.example" > "$ETC/appliance.toml.new"
    chown root:appliance "$ETC/appliance.toml.new"
    chmod 0640 "$ETC/appliance.toml.new"
    mv "$ETC/appliance.toml.new" "$ETC/appliance.toml"
    say "wrote $ETC/appliance.toml (site.id = $site): check it, or run appliance-tools provision"
  fi
}

source_hash() {
  (cd "$SOURCE" && find appliance sync firmware_tools native setup.py pyproject.toml constraints.txt \
     -type f \( -name '*.py' -o -name '*.c' -o -name '*.h' -o -name '*.cdef' -o -name '*.sql' \
     -o -name '*.json' -o -name '*.html' -o -name '*.toml' -o -name '*.txt' -o -name '*.css' -o -name '*.js' \) \
     -not -path '*/__pycache__/*' -print0 | sort -z | xargs -0 sha256sum | sha256sum | cut -c1-16)
}

install_venv() {
  local want; want=$(source_hash)
  if [ -x "$PREFIX/venv/bin/appliance" ] && [ "$(cat "$PREFIX/venv/.source-hash" 2>/dev/null)" = "$want" ]; then
    say "the venv already holds this source ($want)"
    return
  fi
  say "building the venv (the C extension compiles for $(uname -m); a few minutes on a Pi)"
  # venvs are not relocatable: build it under its final name, the old one kept for --rollback
  if [ -d "$PREFIX/venv" ]; then
    rm -rf "$PREFIX/venv.previous"
    mv "$PREFIX/venv" "$PREFIX/venv.previous"
  fi
  if ! { python3 -m venv "$PREFIX/venv" &&
         "$PREFIX/venv/bin/pip" install -q --upgrade -c "$SOURCE/constraints.txt" pip setuptools wheel cffi &&
         "$PREFIX/venv/bin/pip" install -q -c "$SOURCE/constraints.txt" "$SOURCE" &&
         "$PREFIX/venv/bin/python" -c "import appliance._native"; }; then
    rm -rf "$PREFIX/venv"
    [ -d "$PREFIX/venv.previous" ] && mv "$PREFIX/venv.previous" "$PREFIX/venv"
    die "building the venv failed; the previous version (if any) is back in place"
  fi
  echo "$want" > "$PREFIX/venv/.source-hash"
  BUILT=1
  if [ -d "$PREFIX/venv.previous" ]; then UPGRADED=1; fi
  install -m 0644 "$SOURCE/README.md" "$PREFIX/README.md"
}

do_install() {
  [ -f "$SOURCE/setup.py" ] && [ -f "$SOURCE/constraints.txt" ] || die "$SOURCE is not the appliance's source tree"
  if [ -r /etc/os-release ]; then
    . /etc/os-release
    [ "${VERSION_CODENAME:-}" = bookworm ] || say "warning: made for Debian/Raspberry Pi OS bookworm, this is ${PRETTY_NAME:-unknown}"
  fi
  case "$(uname -m)" in aarch64|x86_64) ;; *) say "warning: untested architecture $(uname -m) (made for aarch64)" ;; esac

  if [ "$APT" = 1 ]; then
    say "system packages"
    "$SOURCE/scripts/system-deps.sh" --runtime
  fi

  say "service user and groups"
  install -m 0644 "$SOURCE/systemd/appliance.sysusers.conf" "$SYSUSERS_DIR/appliance.conf"
  systemd-sysusers "$SYSUSERS_DIR/appliance.conf"
  install -d -m 0750 -o appliance -g appliance "$DATA" "$DATA/backups"

  install -d -m 0755 "$PREFIX"
  install_venv
  write_config

  say "unit and udev rules"
  install -m 0644 "$SOURCE/systemd/90-appliance-modems.rules" "$UDEV_DIR/90-appliance-modems.rules"
  if systemd_running; then
    udevadm control --reload || true
    udevadm trigger --subsystem-match=tty --action=change || true
  fi
  install -m 0644 "$SOURCE/systemd/appliance.service" "$UNIT_DIR/appliance.service"
  systemd_running && systemctl daemon-reload
  systemctl enable appliance.service >/dev/null 2>&1 || die "systemctl enable appliance.service failed"

  stop_service
  # the database's migration, with a backup to go back to (scripts/install-pi.sh --rollback)
  say "database"
  # the pre-upgrade backup belongs to venv.previous: a new build replaces it (made only if the schema changes)
  if [ "$BUILT" = 1 ]; then rm -f "$DATA/backups/pre-upgrade.db"; fi
  runuser -u appliance -- env APPLIANCE_DATA_DIR="$DATA" "$PREFIX/venv/bin/appliance" \
    --config "$ETC/appliance.toml" upgrade-db --backup "$DATA/backups/pre-upgrade.db"
  if ! start_service; then
    journalctl -u appliance.service -n 20 --no-pager >&2 || true
    if [ "$UPGRADED" = 1 ] && [ -d "$PREFIX/venv.previous" ]; then
      say "the new version did not start: rolling back to the previous version and its database"
      do_rollback
      exit 1
    fi
    die "appliance.service did not start (journalctl -u appliance; a config error exits 2)"
  fi
  say "installed $("$PREFIX/venv/bin/appliance" --version); status: appliance status, journalctl -u appliance"
}

case "$ACTION" in
  install) do_install ;;
  uninstall) do_uninstall ;;
  rollback) do_rollback ;;
esac
