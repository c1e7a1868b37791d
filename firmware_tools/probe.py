"""``appliance-tools probe``: what is on each serial port (GSM modem, voice modem, nothing).

It talks plain AT, read-only (identification, SIM, signal, network; the caller-ID
command is tried because a voice modem only says it works by accepting it), so
it is safe on a port the daemon is NOT using: stop the daemon first
(``systemctl stop appliance``), as two programs on one AT port garble each other.
"""

from __future__ import annotations

import glob
import logging
import re
from typing import Any

from appliance.errors import DeviceError
from appliance.modem.errors import AtCommandError
from appliance.modem.modem import GsmModem

log = logging.getLogger(__name__)

PROBE_TIMEOUT_S = 2.0
# Tried in this order: the first a voice modem accepts is the one the line driver will use
# (V.253 standard, then Rockwell/Conexant, then Agere/Lucent dialects: NCID and mgetty's order).
CALLER_ID_COMMANDS = ("AT+VCID=1", "AT#CID=1", "AT%CCID=1")
PORT_PATTERNS = ("/dev/ttyUSB*", "/dev/ttyACM*", "/dev/ttyAMA*", "/dev/serial0", "/dev/ttyS0")
_IMEI = re.compile(r"\b(\d{14,16})\b")


def find_ports() -> list[str]:
    """Serial ports worth probing: USB serial and ACM devices, and the Pi's UART."""
    found: list[str] = []
    try:
        from serial.tools import list_ports

        found.extend(p.device for p in list_ports.comports() if p.device)
    except ImportError:
        pass
    for pattern in PORT_PATTERNS:
        found.extend(glob.glob(pattern))
    return sorted(set(found))


async def _text(modem: GsmModem, command: str) -> str:
    """The informational text of a command's answer, '' when refused."""
    try:
        resp = await modem.at(command, timeout=PROBE_TIMEOUT_S)
    except AtCommandError:
        return ""
    lines = [ln.strip() for ln in resp.lines if ln.strip() and ln.strip().upper() != command.upper()]
    prefix = command[2:].split("=", maxsplit=1)[0].split("?", maxsplit=1)[0] + ":"
    return " ".join(ln[len(prefix):].strip() if ln.upper().startswith(prefix.upper()) else ln for ln in lines)


async def _accepts(modem: GsmModem, command: str) -> bool:
    try:
        await modem.at(command, timeout=PROBE_TIMEOUT_S)
    except AtCommandError:
        return False
    return True


async def probe_port(port: str, baudrate: int = 115200) -> dict[str, Any]:
    """Examine one port; the result names the port, its ``kind`` and what was learnt."""
    result: dict[str, Any] = {"port": port}
    modem = GsmModem(port, baudrate)
    try:
        await modem.open()
    except (DeviceError, OSError) as err:
        return {**result, "kind": "unavailable", "error": str(err)}
    try:
        modem.clear_prompt()
        if not any([await modem.probe(PROBE_TIMEOUT_S) for _ in range(2)]):
            return {**result, "kind": "silent", "error": f"no answer to AT at {baudrate} baud"}
        await _accepts(modem, "ATE0")
        await _accepts(modem, "AT+CMEE=1")
        result["manufacturer"] = await _text(modem, "AT+CGMI")
        result["model"] = await _text(modem, "AT+CGMM")
        result["revision"] = await _text(modem, "AT+CGMR")
        serial = await _text(modem, "AT+CGSN")
        imei = _IMEI.search(serial)
        result["imei"] = imei.group(1) if imei else None
        result["identity"] = await _text(modem, "ATI")
        sim: str | None
        try:
            sim = await modem.sim_state()
        except DeviceError:
            sim = None
        fclass = await _text(modem, "AT+FCLASS=?")
        voice = bool(re.search(r"(^|[,( ])8([,) ]|$)", fclass))
        # a GSM modem has an IMEI or answers AT+CPIN? (a voice modem refuses it: "UNKNOWN")
        sim_answered = sim is not None and sim not in ("UNKNOWN", "BUSY") and not sim.startswith("ERROR")
        if sim_answered or result["imei"]:
            result["kind"] = "gsm"
            result["sim"] = sim or "UNKNOWN"
            result["signal"] = await _optional_call(modem.signal)
            result["registration"] = await _optional_call(modem.registration)
            result["operator"] = await _optional_call(modem.operator)
            result["voice"] = voice
        elif voice:
            result["kind"] = "voice"
            result["caller_id_command"] = None
            for command in CALLER_ID_COMMANDS:
                if await _accepts(modem, command):
                    result["caller_id_command"] = command
                    break
            result["country"] = await _text(modem, "AT+GCI?") or None
            result["voice_formats"] = await _text(modem, "AT+VSM=?") or None
        else:
            result["kind"] = "unknown-at"
        result["use"] = suggested_config(result)
        return result
    except DeviceError as err:
        return {**result, "kind": result.get("kind", "error"), "error": str(err)}
    finally:
        modem.close()


def suggested_config(device: dict[str, Any]) -> dict[str, dict[str, Any]] | None:
    """The config keys that put this device to work (``appliance-tools provision --write`` writes them)."""
    if device.get("kind") == "gsm":
        return {"modem": {"driver": "serial", "port": device["port"]}}
    if device.get("kind") == "voice":
        return {"line": {"driver": "v253", "port": device["port"]}}
    if device.get("kind") == "usb-line-box":
        return {"line": {"driver": "usbbox"}}
    return None


# USB telephone line boxes the usbbox driver knows, by vendor:product id (lsusb), and the voice
# modems the udev rules name /dev/appliance-line.
KNOWN_USB = {
    "0baf:0303": ("voice", "U.S. Robotics USR5637 USB voice modem"),
    "0572:1329": ("voice", "Conexant CX93010 USB voice modem"),
    "1e0e:9001": ("gsm", "SIMCom SIM7600"),
    "2c7c:0125": ("gsm", "Quectel EC25"),
    "12d1:1506": ("gsm", "Huawei modem (serial mode)"),
    # to confirm with the hardware the usbbox driver is written for (docs/FIELD.md)
    "6993:b001": ("usb-line-box", "Yealink USB-P1K/P4K (HID)"),
}


def usb_devices(sysfs: str = "/sys/bus/usb/devices") -> list[dict[str, Any]]:
    """Known USB devices plugged in, by vendor and product id (no driver needed to see them)."""
    found: list[dict[str, Any]] = []
    for vendor_file in sorted(glob.glob(f"{sysfs}/*/idVendor")):
        folder = vendor_file.rsplit("/", 1)[0]
        try:
            with open(vendor_file) as fh:
                vendor = fh.read().strip()
            with open(f"{folder}/idProduct") as fh:
                product = fh.read().strip()
        except OSError:
            continue
        key = f"{vendor}:{product}"
        if key in KNOWN_USB:
            kind, name = KNOWN_USB[key]
            bus_id = folder.rsplit("/", 1)[1]
            device: dict[str, Any] = {"port": f"usb:{bus_id}", "usb_id": key, "name": name, "kind": kind}
            if kind == "usb-line-box":
                device["use"] = suggested_config(device)
            found.append(device)
    return found


async def _optional_call(fn: Any) -> Any:
    try:
        return await fn()
    except DeviceError:
        return None


async def probe_all(ports: list[str], baudrate: int) -> list[dict[str, Any]]:
    return [await probe_port(p, baudrate) for p in ports]
