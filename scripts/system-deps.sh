#!/usr/bin/env bash
# Install the system packages the appliance needs, where missing.
#   scripts/system-deps.sh --runtime     what a box needs to run the daemon and appliance-tools
#                                        (`make run`, scripts/install-pi.sh)
#   scripts/system-deps.sh               runtime + what the tests need (`make test`, CI)
#   scripts/system-deps.sh --list[-runtime]   print the package names, install nothing
# As root it installs them with apt-get; otherwise it names what is missing and fails.
set -euo pipefail

# package:command-or-file that proves it is there
RUNTIME=(
  "python3:/usr/bin/python3"
  "python3-venv:/usr/lib/python3.11/ensurepip/__main__.py"
  "python3-dev:/usr/include/python3.11/Python.h"
  "gcc:/usr/bin/gcc"
  "libc6-dev:/usr/include/stdio.h"
  "libffi-dev:/usr/include/$(uname -m)-linux-gnu/ffi.h"
  "pkg-config:/usr/bin/pkg-config"
  # systemd-python (journald fields) is built from source on the box
  "libsystemd-dev:/usr/include/systemd/sd-daemon.h"
  # appliance-tools prompts: text to speech, and conversion of recorded WAV/MP3
  "espeak-ng:/usr/bin/espeak-ng"
  "sox:/usr/bin/sox"
  "libsox-fmt-mp3:/usr/lib/$(uname -m)-linux-gnu/sox/libsox_fmt_mp3.so"
)
TEST=(
  "mosquitto:/usr/sbin/mosquitto"
  "mosquitto-clients:/usr/bin/mosquitto_passwd"
  "libspandsp-dev:/usr/include/$(uname -m)-linux-gnu/spandsp.h"
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
  # field tests (tests/field): a Debian root for the install test, arm64 cross build and emulation
  "debootstrap:/usr/sbin/debootstrap"
  "systemd:/usr/bin/systemd-analyze"
  "gcc-aarch64-linux-gnu:/usr/bin/aarch64-linux-gnu-gcc"
  "libc6-dev-arm64-cross:/usr/aarch64-linux-gnu/include/stdio.h"
  "qemu-user:/usr/bin/qemu-aarch64"
  # recorded music of several kinds (game soundtracks): the music talk-off corpus
  # (appliance/dsp/music_corpus.py, tests/dsp/test_music_talkoff.py)
  "wesnoth-1.16-music:/usr/share/games/wesnoth/1.16/data/core/music/nunc_dimittis.ogg"
  "singularity-music:/usr/share/games/singularity/music/Awakening.ogg"
  "nexuiz-music:/usr/share/games/nexuiz/data/music.pk3"
  "warzone2100-music:/usr/share/games/warzone2100/music/menu.opus"
  "hyperrogue-music:/usr/share/hyperrogue/music/hr3-hell.ogg"
  "drascula-music:/usr/share/scummvm/drascula/audio/track1.ogg"
  "opus-tools:/usr/bin/opusdec"
)

case "${1:-}" in
  --runtime) NEEDED=("${RUNTIME[@]}") ;;
  --list-runtime) for e in "${RUNTIME[@]}"; do echo "${e%%:*}"; done; exit 0 ;;
  --list) for e in "${RUNTIME[@]}" "${TEST[@]}"; do echo "${e%%:*}"; done; exit 0 ;;
  "") NEEDED=("${RUNTIME[@]}" "${TEST[@]}") ;;
  *) echo "usage: $0 [--runtime|--list|--list-runtime]" >&2; exit 2 ;;
esac

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
