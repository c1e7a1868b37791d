"""``appliance-tools provision``: set up the modem found, check the SIM, write the config.

Steps, each reported: find the GSM modem (``--port`` or every port) and the phone line
(``--line-port``, a voice modem, or a known USB line box); check the SIM PIN without ever
spending the last try; bring the modem up as the daemon does (profile by identity, else the
standard commands: storage with ``AT+CPMS``, routing with ``AT+CNMI``, saved with ``AT&W``);
optionally send a test SMS; optionally run the line self-test; then write the config
(``--write``, default path ``/etc/appliance/appliance.toml``), keeping every other key.

Stop the daemon first (``systemctl stop appliance``): two programs on one AT port garble
each other.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from appliance.errors import DeviceError, UsageError
from appliance.modem.errors import AtCommandError, CmeError
from appliance.modem.modem import GsmModem
from firmware_tools.probe import PROBE_TIMEOUT_S, find_ports, probe_port

log = logging.getLogger(__name__)

# Where each family reports the SIM's remaining PIN tries. Tried in this order: the
# 3GPP standard (TS 27.007 +CPINR) first, so a modem of a family with no entry here is
# still read; then the vendor commands (SIMCom, Quectel, Huawei).
PIN_RETRY_COMMANDS = ('AT+CPINR="SIM PIN"', "AT+SPIC", 'AT+QPINC="SC"', "AT^CPIN?")
STABLE_NAMES = {"modem": "/dev/appliance-modem", "line": "/dev/appliance-line"}


@dataclass
class Report:
    steps: list[dict[str, Any]] = field(default_factory=list)
    config: dict[str, dict[str, Any]] = field(default_factory=dict)
    ok: bool = True

    def step(self, name: str, ok: bool, detail: str, **info: Any) -> None:
        self.steps.append({"step": name, "ok": ok, "detail": detail, **info})
        if not ok:
            self.ok = False

    def as_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "steps": self.steps, "config": self.config}


def parse_pin_retries(command: str, lines: list[str]) -> int | None:
    """Remaining PIN tries from one of :data:`PIN_RETRY_COMMANDS`' answers (None: not in it)."""
    text = "\n".join(lines)
    if command.startswith("AT+CPINR"):
        m = re.search(r"\+CPINR:\s*\"?SIM PIN\"?\s*,\s*(\d+)", text)
    elif command == "AT+SPIC":
        m = re.search(r"\+SPIC:\s*(\d+)", text)
    elif command.startswith("AT+QPINC"):
        m = re.search(r"\+QPINC:\s*\"SC\"\s*,\s*(\d+)", text)
    else:  # ^CPIN: <code>,[<times>],<puk_times>,<pin_times>,<puk2_times>,<pin2_times>
        m = re.search(r"\^CPIN:\s*[^,]*,[^,]*,\s*\d+\s*,\s*(\d+)", text)
    return int(m.group(1)) if m else None


async def pin_retries(modem: GsmModem) -> tuple[int | None, str | None]:
    """(remaining PIN tries, the command that told), or (None, None) when no command works."""
    for command in PIN_RETRY_COMMANDS:
        try:
            resp = await modem.at(command, timeout=PROBE_TIMEOUT_S)
        except AtCommandError:
            continue
        tries = parse_pin_retries(command, list(resp.lines))
        if tries is not None:
            return tries, command
    return None, None


async def check_sim(modem: GsmModem, pin: str, report: Report) -> bool:
    """Unlock the SIM with ``pin`` when it asks, never with fewer than 2 tries left."""
    state = await modem.sim_state()
    tries, via = await pin_retries(modem)
    info = {"sim": state, "pin_tries_left": tries, "pin_tries_command": via}
    if state == "READY":
        report.step("sim", True, "SIM ready (no PIN asked)", **info)
        return True
    if state != "SIM PIN":
        report.step("sim", False, f"SIM not usable: {state} (a PUK is entered with a phone, not here)", **info)
        return False
    if not pin:
        report.step("sim", False, f"the SIM asks for a PIN: give --pin ({tries} tries left)", **info)
        return False
    if tries is None:
        report.step("sim", False, "the SIM asks for a PIN but the modem does not say how many tries are "
                    "left (none of +CPINR, +SPIC, +QPINC, ^CPIN works): not trying; enter it in a phone", **info)
        return False
    if tries <= 1:
        report.step("sim", False, f"only {tries} PIN try left: refusing to spend it (a wrong PIN would "
                    "lock the SIM); check the PIN, or enter it in a phone", **info)
        return False
    try:
        await modem.at(f'AT+CPIN="{pin}"', timeout=10.0)
    except CmeError as err:
        left, _ = await pin_retries(modem)
        report.step("sim", False, f"the SIM refused the PIN ({err.text}); {left} tries left: not retrying",
                    **{**info, "pin_tries_left": left})
        return False
    await asyncio.sleep(1.0)
    state = await modem.sim_state()
    report.step("sim", state == "READY", f"PIN accepted, SIM {state}", **{**info, "sim": state})
    return state == "READY"


async def setup_modem(
    port: str, baudrate: int, pin: str, test_sms: str | None, region: str, report: Report,
) -> bool:
    modem = GsmModem(port, baudrate)
    try:
        await modem.open()
    except (DeviceError, OSError) as err:
        report.step("modem", False, f"cannot open {port}: {err}")
        return False
    try:
        modem.clear_prompt()
        if not any([await modem.probe(PROBE_TIMEOUT_S) for _ in range(3)]):
            report.step("modem", False, f"no answer to AT on {port}")
            return False
        if not await check_sim(modem, pin, report):
            return False
        info = await modem.initialise()  # PIN already dealt with: the SIM is READY
        known = info.profile.name != "generic"
        report.step(
            "modem", True,
            f"{info.identity or 'unidentified modem'}: "
            + (f"profile {info.profile.name}" if known else "no profile for this family: standard commands"),
            profile=info.profile.name, storage=info.storage, cnmi=info.cnmi,
            storage_used=info.storage_used, storage_total=info.storage_total, notes=list(info.notes),
        )
        saved = True
        try:
            await modem.at("AT&W", timeout=PROBE_TIMEOUT_S)
        except AtCommandError:
            saved = False
        report.step("modem-settings", bool(info.cnmi),
                    f"storage {info.storage}, notifications AT+CNMI={info.cnmi or 'refused (the daemon polls)'}"
                    + ("" if saved else "; AT&W refused (the daemon sets them at every start anyway)"))
        if test_sms:
            await send_test_sms(modem, test_sms, region, report)
        return True
    except DeviceError as err:
        report.step("modem", False, f"{port}: {err}")
        return False
    finally:
        modem.close()


async def send_test_sms(modem: GsmModem, number: str, region: str, report: Report) -> None:
    from appliance.errors import ValidationError
    from appliance.phone import to_e164
    from appliance.sms.pdu import encode_submit

    try:
        e164 = to_e164(number, region)
    except (ValueError, UsageError, ValidationError) as err:
        report.step("test-sms", False, f"bad number {number!r}: {err}")
        return
    part = encode_submit(e164, "Lab appliance test message", status_report=False)[0]
    try:
        reference = await modem.send_pdu(part.pdu, part.tpdu_length)
    except DeviceError as err:
        report.step("test-sms", False, f"send refused: {err}")
        return
    report.step("test-sms", True, f"sent (reference {reference})", reference=reference)


def _stable(port: str, kind: str) -> str:
    """The udev stable name when it points at ``port`` (so the config survives re-plugging)."""
    name = STABLE_NAMES[kind]
    try:
        if os.path.realpath(name) == os.path.realpath(port) and os.path.exists(name):
            return name
    except OSError:
        pass
    return port


async def find(kind: str, port: str | None, baudrate: int) -> dict[str, Any] | None:
    ports = [port] if port else find_ports()
    for candidate in ports:
        device = await probe_port(candidate, baudrate)
        if device["kind"] == kind:
            return device
    return None


async def provision(
    *, port: str | None, line_port: str | None, baudrate: int, pin: str, test_sms: str | None,
    line_test: bool, no_line: bool, region: str = "FI",
) -> Report:
    report = Report()
    gsm = await find("gsm", port, baudrate)
    if gsm is None:
        report.step("find-modem", False, f"no GSM modem on {port or 'any serial port'}")
        report.config["modem"] = {"driver": "none"}
    else:
        report.step("find-modem", True, f"GSM modem on {gsm['port']}: {gsm.get('model')}", port=gsm["port"])
        if await setup_modem(gsm["port"], baudrate, pin, test_sms, region, report):
            report.config["modem"] = {"driver": "serial", "port": _stable(gsm["port"], "modem"),
                                      "baudrate": baudrate, **({"pin": pin} if pin else {})}
    if no_line:
        report.config["line"] = {"driver": "none"}
    else:
        voice = await find("voice", line_port, baudrate) if (line_port or port is None) else None
        if voice is None:
            report.step("find-line", False, "no voice modem found (--no-line if this box has no phone line)")
            report.config["line"] = {"driver": "none"}
        else:
            cid = voice.get("caller_id_command")
            report.step("find-line", True, f"voice modem on {voice['port']}, caller ID {cid}", port=voice["port"])
            report.config["line"] = {"driver": "v253", "port": _stable(voice["port"], "line")}
            if line_test:
                from firmware_tools.linetest import line_self_test

                ok, detail, info = await line_self_test(voice["port"], baudrate)
                report.step("line-test", ok, detail, **info)
    return report


# -- the config file ---------------------------------------------------------------------------


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


def update_toml(text: str, values: dict[str, dict[str, Any]]) -> str:
    """``text`` with each ``[section] key`` set to the value given; comments and other keys kept."""
    lines = text.splitlines()
    for section, keys in values.items():
        start = next((i for i, ln in enumerate(lines) if ln.strip() == f"[{section}]"), None)
        if start is None:
            lines += ["", f"[{section}]"] + [f"{k} = {_toml_value(v)}" for k, v in keys.items()]
            continue
        end = next((i for i in range(start + 1, len(lines)) if lines[i].lstrip().startswith("[")), len(lines))
        for key, value in keys.items():
            pattern = re.compile(rf"^\s*{re.escape(key)}\s*=")
            hit = next((i for i in range(start + 1, end) if pattern.match(lines[i])), None)
            if hit is None:
                lines.insert(start + 1, f"{key} = {_toml_value(value)}")
                end += 1
            else:
                lines[hit] = f"{key} = {_toml_value(value)}"
    return "\n".join(lines) + "\n"


def write_config(path: Path, values: dict[str, dict[str, Any]]) -> Path | None:
    """Update (or create) the config at ``path`` atomically; the old one kept as ``.bak``."""
    from appliance.config import load_config

    old = path.read_text() if path.exists() else ""
    new = update_toml(old, values)
    tmp = path.with_name(path.name + ".new")
    tmp.write_text(new)
    try:
        load_config(str(tmp), environ={})  # never leave a config the daemon would refuse
    except Exception:
        tmp.unlink()
        raise
    backup = None
    if path.exists():
        backup = path.with_name(path.name + ".bak")
        backup.write_text(old)
        tmp.chmod(path.stat().st_mode & 0o777)
    tmp.replace(path)
    return backup
