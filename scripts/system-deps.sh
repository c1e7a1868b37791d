#!/usr/bin/env bash
# Install the system packages the appliance and its tests need, where missing.
# As root it installs them with apt-get; otherwise it names what is missing and fails.
set -euo pipefail

# package:command-or-file that proves it is there
NEEDED=(
  "mosquitto:/usr/sbin/mosquitto"
  "mosquitto-clients:/usr/bin/mosquitto_passwd"
  "libsystemd-dev:/usr/include/systemd/sd-daemon.h"
  "pkg-config:/usr/bin/pkg-config"
  "gcc:/usr/bin/gcc"
  "libspandsp-dev:/usr/include/spandsp.h"
  "espeak-ng:/usr/bin/espeak-ng"
  "sox:/usr/bin/sox"
  "chromium:/usr/bin/chromium"
  "openssl:/usr/bin/openssl"
  # the central's PostgreSQL path: the tests start a private cluster (initdb in a temp dir)
  "postgresql:/usr/share/doc/postgresql/copyright"
  # a second MQTT engine for the sync tests (NATS's MQTT listener, started privately)
  "nats-server:/usr/sbin/nats-server"
  # recorded speech (IVR prompts, five speakers) and music on hold: the DTMF talk-off corpus
  "asterisk-core-sounds-en-wav:/usr/share/asterisk/sounds/en_US_f_Allison/activated.wav"
  "asterisk-core-sounds-es-wav:/usr/share/asterisk/sounds/es_MX_f_Allison/agent-alreadyon.wav"
  "asterisk-core-sounds-fr-wav:/usr/share/asterisk/sounds/fr_CA_f_June/activated.wav"
  "asterisk-core-sounds-it-wav:/usr/share/asterisk/sounds/it_IT_m_Carlo/activated.wav"
  "asterisk-core-sounds-ru-wav:/usr/share/asterisk/sounds/ru_RU_f_IvrvoiceRU/activated.wav"
  "asterisk-moh-opsound-wav:/usr/share/asterisk/moh/macroform-cold_day.wav"
)
[ "${1:-}" = "--runtime" ] && NEEDED=(
  "mosquitto:/usr/sbin/mosquitto"
  "libsystemd-dev:/usr/include/systemd/sd-daemon.h"
  "pkg-config:/usr/bin/pkg-config"
  "gcc:/usr/bin/gcc"
)

missing=()
for entry in "${NEEDED[@]}"; do
  pkg=${entry%%:*}; path=${entry#*:}
  [ -e "$path" ] || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "missing system packages: ${missing[*]}; run as root: apt-get install -y ${missing[*]}" >&2
  exit 1
fi
echo "installing system packages: ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
