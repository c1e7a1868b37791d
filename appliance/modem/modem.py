"""What a GSM modem does, over the AT protocol: bring-up, SIM, network, SMS storage, send.

``GsmModem(url, baudrate)`` opens the port on ``open()``; ``initialise()`` runs the
family profile's bring-up; the other methods are one AT exchange each. Events
the modem reports by itself (a new message, a delivery report, a call) go to
``on_event`` as :class:`ModemEvent` values; the service decides what to do.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from appliance.errors import DeviceError, DeviceGone
from appliance.modem.codes import CMS_ERRORS
from appliance.modem.errors import AtCommandError, CmeError, CmsError
from appliance.modem.framing import CTRL_Z
from appliance.modem.profiles import GENERIC, ModemProfile, choose_profile
from appliance.modem.protocol import AtProtocol, CommandTimeout, Response, Urc, error_code
from appliance.modem.transport import SerialTransport, connect

log = logging.getLogger(__name__)

PROBE_TIMEOUT_S = 2.0  # AT -> OK on a live modem takes milliseconds
SIM_BUSY_RETRIES = 5  # +CPIN? answers "SIM busy" for a few seconds after power-up
SIM_BUSY_WAIT_S = 2.0
PIN_SETTLE_S = 3.0  # after AT+CPIN="...", the SIM needs a moment before SMS commands work
RESET_SETTLE_S = 5.0
# An optional or identification command that gets no answer at all: some minimal modems
# and emulators stay silent on commands they lack instead of saying ERROR. When the modem
# still answers AT afterwards, the command is taken as refused rather than as a hang.
OPTIONAL_TIMEOUT_S = 4.0  # after AT+CFUN=1,1 the modem reboots; USB ports may vanish meanwhile

_QUOTED = re.compile(r'"([^"]*)"')
SIM_BLOCKING_STATES = frozenset({"SIM PIN", "SIM PUK", "SIM PIN2", "SIM PUK2", "NOT INSERTED", "FAILURE", "BUSY"})


@dataclass(frozen=True)
class ModemEvent:
    kind: str  # new_message, message, report_stored, report, ring, caller_id, storage_full, late_send, other
    storage: str | None = None
    index: int | None = None
    pdu: str | None = None
    number: str | None = None
    line: str = ""
    length: int | None = None  # TPDU octets as the header gave them (+CMT/+CDS)
    # late_send: the late answer to a timed-out send (its tag; None when nothing was in doubt)
    tag: object = None
    reference: int | None = None  # a late +CMGS: <mr>
    error: CmsError | None = None  # a late +CMS ERROR


@dataclass(frozen=True)
class StoredPdu:
    index: int
    stat: int  # 0 unread, 1 read, 2 unsent, 3 sent
    pdu: str
    storage: str = ""
    length: int | None = None  # TPDU octets as the +CMGL/+CMGR header gave them


@dataclass
class ModemInfo:
    profile: ModemProfile = GENERIC
    manufacturer: str = ""
    model: str = ""
    revision: str = ""
    imei: str = ""
    identity: str = ""
    storage: str = "SM"
    storage_used: int = 0
    storage_total: int = 0
    direct_ack: bool = False  # AT+CSMS=1 accepted: a direct +CMT/+CDS needs AT+CNMA
    cnmi: str = ""
    notes: list[str] = field(default_factory=list)


class SimLocked(DeviceError):
    """The SIM needs a PIN/PUK the appliance does not have (or was refused)."""


class GsmModem:
    """One GSM modem on one port. Use ``await open()``, ``await initialise()``, then commands."""

    def __init__(
        self,
        url: str,
        baudrate: int = 115200,
        *,
        pin: str = "",
        on_event: Callable[[ModemEvent], None] | None = None,
    ) -> None:
        self.url = url
        self.baudrate = baudrate
        self.pin = pin
        self.on_event = on_event or (lambda event: None)
        self.info = ModemInfo()
        self.protocol: AtProtocol | None = None
        self.transport: SerialTransport | None = None
        self._pin_sent = False
        self.lost = asyncio.Event()

    # -- port --------------------------------------------------------------

    async def open(self) -> None:
        self.lost = asyncio.Event()
        protocol = AtProtocol(self._write, self._urc)
        lost_event = self.lost
        original_lost = protocol.connection_lost

        def connection_lost(exc: BaseException | None) -> None:
            original_lost(exc)
            lost_event.set()

        protocol.connection_lost = connection_lost  # type: ignore[method-assign]
        self.protocol = protocol
        self.transport = await connect(self.url, self.baudrate, protocol)

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()
        self.transport = None
        if self.protocol is not None:
            self.protocol.connection_lost(None)

    def _write(self, data: bytes) -> None:
        if self.transport is None:
            raise DeviceGone("modem port is not open")
        self.transport.write(data)

    async def at(self, command: str, **kw: object) -> Response:
        if self.protocol is None:
            raise DeviceGone("modem port is not open")
        return await self.protocol.command(command, **kw)  # type: ignore[arg-type]

    # -- bring-up ----------------------------------------------------------

    async def probe(self, timeout: float | None = None) -> bool:
        """True when the modem answers ``AT``."""
        try:
            await self.at("AT", timeout=PROBE_TIMEOUT_S if timeout is None else timeout)
        except DeviceGone:
            raise
        except DeviceError:
            return False
        return True

    def clear_prompt(self) -> None:
        """Ctrl-Z: ends a PDU input the modem may still be waiting for (a stuck ``> ``)."""
        if self.protocol is not None:
            self.protocol.write_raw(CTRL_Z)

    async def initialise(self) -> ModemInfo:
        """Identify the modem, unlock the SIM, set PDU mode, storage and notifications."""
        info = ModemInfo()
        self.clear_prompt()
        await asyncio.sleep(0.2)
        for _ in range(3):
            if await self.probe():
                break
        else:
            raise DeviceError(f"modem on {self.url} does not answer AT")
        await self._optional("ATE0")
        await self._optional("AT+CMEE=1")
        info.manufacturer = await self._text("AT+CGMI")
        info.model = await self._text("AT+CGMM")
        info.revision = await self._text("AT+CGMR")
        info.imei = await self._text("AT+CGSN")
        ati = await self._text("ATI")
        info.identity = " ".join(x for x in (ati, info.manufacturer, info.model) if x)
        info.profile = choose_profile(info.identity)
        log.info(
            "modem on %s: %s (profile %s)",
            self.url,
            info.identity or "unidentified",
            info.profile.name,
        )
        await self.unlock_sim()
        await self.at("AT+CMGF=0")
        info.direct_ack = await self._optional("AT+CSMS=1")
        await self.select_storage(info)
        for setting in info.profile.cnmi:
            if await self._optional(f"AT+CNMI={setting}"):
                info.cnmi = setting
                break
        else:
            info.notes.append("AT+CNMI refused: relying on polling")
        for command in info.profile.extra_init:
            await self._optional(command)
        self.info = info
        return info

    async def select_storage(self, info: ModemInfo) -> None:
        storage = info.profile.storage
        commands = (
            [f'AT+CPMS="{storage}"']
            if info.profile.cpms_one_argument
            else [
                f'AT+CPMS="{storage}","{storage}","{storage}"',
                f'AT+CPMS="{storage}","{storage}"',
                f'AT+CPMS="{storage}"',
            ]
        )
        if storage != "SM":
            commands.append('AT+CPMS="SM","SM","SM"')
            commands.append('AT+CPMS="SM"')
        for command in commands:
            try:
                resp = await self.at(command)
            except AtCommandError:
                continue
            info.storage = _QUOTED.findall(command)[0]
            used_total = _ints(resp.value("+CPMS:") or "")
            if len(used_total) >= 2:
                info.storage_used, info.storage_total = used_total[0], used_total[1]
            return
        info.notes.append("AT+CPMS refused: using the modem's default storage")

    async def unlock_sim(self) -> str:
        """Enter ``pin`` if the SIM asks for it (once per boot: never burn the PIN's tries)."""
        state = await self.sim_state()
        if state == "SIM PIN":
            if not self.pin:
                raise SimLocked("the SIM asks for a PIN: set modem.pin")
            if self._pin_sent:
                raise SimLocked("the SIM refused modem.pin; not retrying (3 wrong PINs lock the SIM)")
            self._pin_sent = True
            try:
                await self.at(f'AT+CPIN="{self.pin}"')
            except CmeError as err:
                raise SimLocked(f"the SIM refused modem.pin ({err.text}); not retrying") from err
            await asyncio.sleep(PIN_SETTLE_S)
            state = await self.sim_state()
        if state in SIM_BLOCKING_STATES or state.startswith(("SIM P", "PH-")):
            raise SimLocked(f"SIM not ready: {state}")
        if state != "READY":
            log.warning("SIM state %r not understood; carrying on", state)
        return state

    async def sim_state(self) -> str:
        """``READY``, ``SIM PIN``, ``SIM PUK``, ``NOT INSERTED``, ``FAILURE``..."""
        for _ in range(SIM_BUSY_RETRIES):
            try:
                resp = await self.at("AT+CPIN?")
            except CmeError as err:
                if err.code == 10:
                    return "NOT INSERTED"
                if err.code == 14:
                    await asyncio.sleep(SIM_BUSY_WAIT_S)
                    continue
                if err.code == 13:
                    return "FAILURE"
                return f"ERROR {err.code}"
            except AtCommandError:
                return "UNKNOWN"  # a modem without AT+CPIN?: try the SMS commands anyway
            return (resp.value("+CPIN:") or "UNKNOWN").strip('"').upper()
        return "BUSY"

    # -- network -----------------------------------------------------------

    async def signal(self) -> int | None:
        """RSSI as +CSQ gives it (0-31), None when unknown (99)."""
        try:
            resp = await self.at("AT+CSQ")
        except AtCommandError:
            return None
        values = _ints(resp.value("+CSQ:") or "")
        if not values or values[0] == 99:
            return None
        return values[0]

    async def registration(self) -> str:
        """home, roaming, searching, denied, not registered, unknown (best of CREG/CEREG)."""
        names = {
            0: "not registered",
            1: "home",
            2: "searching",
            3: "denied",
            4: "unknown",
            5: "roaming",
            6: "home",
            7: "roaming",
            9: "home",
            10: "roaming",
        }
        best = "unknown"
        for command in self.info.profile.registration:
            try:
                resp = await self.at(f"AT{command}?")
            except AtCommandError:
                continue
            values = _ints(resp.value(command + ":") or "")
            if len(values) >= 2:
                state = names.get(values[1], "unknown")
                if state in ("home", "roaming"):
                    return state
                best = state if best == "unknown" else best
        return best

    async def operator(self) -> str | None:
        try:
            resp = await self.at("AT+COPS?")
        except AtCommandError:
            return None
        found = _QUOTED.findall(resp.value("+COPS:") or "")
        return found[0] if found else None

    # -- SMS ---------------------------------------------------------------

    async def send_pdu(self, pdu: str, tpdu_length: int, tag: object = None) -> int:
        """``AT+CMGS=<n>``, the PDU at the prompt; returns the message reference (0-255).

        On a timeout after the PDU went out, a late answer comes as a ``late_send`` event
        carrying ``tag``."""
        resp = await self.at(f"AT+CMGS={tpdu_length}", data=pdu, tag=tag)
        values = _ints(resp.value("+CMGS:") or "")
        if not values:
            raise DeviceError("AT+CMGS: OK without a +CMGS reference")
        return values[0] & 0xFF

    async def list_messages(self, stat: int = 4, storage: str | None = None) -> list[StoredPdu]:
        """Every stored message (``AT+CMGL=4``) in ``storage`` (default: the current one)."""
        async with self._in_storage(storage):
            resp = await self.at(f"AT+CMGL={stat}")
        found: list[StoredPdu] = []
        header: list[int] | None = None
        for line in resp.lines:
            if line.upper().startswith("+CMGL:"):
                header = _ints(line[6:])
                continue
            if header is not None and len(header) >= 1:
                found.append(
                    StoredPdu(
                        header[0],
                        header[1] if len(header) > 1 else 0,
                        line.strip(),
                        storage or self.info.storage,
                        header[-1] if len(header) >= 3 else None,
                    )
                )
            header = None
        return found

    async def read_message(self, index: int, storage: str | None = None) -> StoredPdu | None:
        """``AT+CMGR=<index>`` (in ``storage`` if it is not the current one); None if empty."""
        async with self._in_storage(storage):
            try:
                resp = await self.at(f"AT+CMGR={index}")
            except CmsError as err:
                if err.code == 321:
                    return None
                raise
        header = None
        for line in resp.lines:
            if line.upper().startswith("+CMGR:"):
                header = _ints(line[6:])
                continue
            if header is not None and line.strip():
                return StoredPdu(
                    index,
                    header[0] if header else 0,
                    line.strip(),
                    storage or self.info.storage,
                    header[-1] if len(header) >= 2 else None,
                )
        return None

    async def delete_message(self, index: int, storage: str | None = None) -> None:
        async with self._in_storage(storage):
            try:
                await self.at(f"AT+CMGD={index}")
            except CmsError as err:
                if err.code != 321:  # already gone
                    raise

    async def storage_usage(self) -> tuple[int, int]:
        """(used, total) of the receive storage (the last known figures if the modem refuses)."""
        try:
            resp = await self.at("AT+CPMS?")
        except AtCommandError:
            return self.info.storage_used, self.info.storage_total
        values = _ints(resp.value("+CPMS:") or "")
        if len(values) >= 2:
            self.info.storage_used, self.info.storage_total = values[0], values[1]
        return self.info.storage_used, self.info.storage_total

    async def acknowledge_direct(self) -> None:
        """``AT+CNMA`` after a direct ``+CMT``/``+CDS`` (when AT+CSMS=1 is in force)."""
        if not self.info.direct_ack:
            return
        try:
            await self.at("AT+CNMA")
        except AtCommandError as err:  # 340 "no +CNMA expected" and plain ERROR: nothing to do
            log.debug("AT+CNMA refused (%s)", err)

    async def reset(self) -> None:
        """``AT+CFUN=1,1``: a full modem reboot (the last resort before reopening the port)."""
        try:
            await self.at("AT+CFUN=1,1")
        except DeviceError as err:
            log.info("AT+CFUN=1,1 did not answer OK (%s); waiting for the reboot anyway", err)
        if self.protocol is not None:
            self.protocol.forget_sends_in_doubt("the modem was reset")
        await asyncio.sleep(RESET_SETTLE_S)
        self._pin_sent = False

    # -- helpers -----------------------------------------------------------

    class _Storage:
        def __init__(self, modem: GsmModem, storage: str | None) -> None:
            self.modem, self.storage = modem, storage

        async def __aenter__(self) -> None:
            if self.storage and self.storage != self.modem.info.storage:
                await self.modem.at(f'AT+CPMS="{self.storage}"')

        async def __aexit__(self, *exc: object) -> None:
            if self.storage and self.storage != self.modem.info.storage:
                try:
                    await self.modem.select_storage(self.modem.info)
                except DeviceError as err:
                    log.warning("could not return to storage %s: %s", self.modem.info.storage, err)

    def _in_storage(self, storage: str | None) -> GsmModem._Storage:
        return GsmModem._Storage(self, storage)

    async def _optional(self, command: str) -> bool:
        try:
            await self.at(command, timeout=OPTIONAL_TIMEOUT_S)
        except AtCommandError as err:
            log.info("modem refused optional %s: %s", command, err)
            return False
        except CommandTimeout as err:
            await self._silent_but_alive(command, err)
            return False
        return True

    async def _silent_but_alive(self, command: str, err: CommandTimeout) -> None:
        """After ``command`` got no answer: go on if the modem answers AT, else re-raise."""
        if not await self.probe():
            raise err
        log.warning("modem ignored %s (no answer at all); going on without it", command)

    async def _text(self, command: str) -> str:
        try:
            resp = await self.at(command, prefixes=(), timeout=OPTIONAL_TIMEOUT_S)
        except AtCommandError:
            return ""
        except CommandTimeout as err:
            await self._silent_but_alive(command, err)
            return ""
        lines = [ln for ln in resp.lines if ln.strip()]
        text = " ".join(lines)
        for prefix in ("+CGMI:", "+CGMM:", "+CGMR:", "+CGSN:"):
            if text.upper().startswith(prefix):
                text = text[len(prefix) :].strip()
        return text.strip('"')[:200]

    def _urc(self, urc: Urc) -> None:
        self.on_event(parse_urc(urc))


def parse_urc(urc: Urc) -> ModemEvent:
    """An unsolicited line (and its PDU) as a :class:`ModemEvent`."""
    line = urc.line
    upper = line.upper()
    if urc.late:
        if upper.startswith("+CMGS:"):
            refs = _ints(line[6:])
            return ModemEvent("late_send", line=line, tag=urc.tag, reference=refs[0] & 0xFF if refs else None)
        code = error_code(line.split(":", 1)[1], CMS_ERRORS)
        return ModemEvent("late_send", line=line, tag=urc.tag, error=CmsError("AT+CMGS (late answer)", code))
    if upper.startswith("+CMTI:") or upper.startswith("+CDSI:"):
        quoted = _QUOTED.findall(line)
        ints = _ints(line.split(",", 1)[1] if "," in line else "")
        kind = "new_message" if upper.startswith("+CMTI:") else "report_stored"
        return ModemEvent(kind, storage=quoted[0] if quoted else None, index=ints[0] if ints else None, line=line)
    if upper.startswith("+CMT:") or upper.startswith("+CDS:"):
        ints = _ints(line[5:])
        kind = "message" if upper.startswith("+CMT:") else "report"
        return ModemEvent(kind, pdu=urc.pdu, line=line, length=ints[-1] if ints else None)
    if upper == "RING" or upper.startswith("+CRING:"):
        return ModemEvent("ring", line=line)
    if upper.startswith("+CLIP:"):
        quoted = _QUOTED.findall(line)
        return ModemEvent("caller_id", number=quoted[0] if quoted else None, line=line)
    if upper.startswith("^SMMEMFULL") or upper.startswith('+CIEV: "SMSFULL"'):
        return ModemEvent("storage_full", line=line)
    return ModemEvent("other", line=line)


def _ints(text: str) -> list[int]:
    out: list[int] = []
    for raw in text.split(","):
        item = raw.strip().strip('"')
        if item.lstrip("-").isdigit():
            out.append(int(item))
    return out
