"""The AT protocol over fake transports (bellows-style): byte-at-a-time, seeded loss, delays.

The fake modem here is a scripted byte peer for the protocol layer only; the end-to-end tests
use the product's simulator on a real pty.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable

import pytest

from appliance.errors import DeviceGone
from appliance.modem import protocol as protocol_mod
from appliance.modem.errors import AtCommandError, CmeError, CmsError
from appliance.modem.protocol import AtProtocol, CommandTimeout, Urc, command_kind, timeout_for

Handler = Callable[[str], list[bytes]]


class ScriptedPeer:
    """Answers commands from a table; sends what it says through a lossy, slow, chunked link."""

    def __init__(
        self,
        answers: dict[str, list[bytes]],
        *,
        echo: bool = True,
        chunk: int = 1,
        delay: float = 0.0,
        loss: float = 0.0,
        seed: int = 1,
    ) -> None:
        self.answers = answers
        self.echo = echo
        self.chunk = chunk
        self.delay = delay
        self.loss = loss
        self.rng = random.Random(seed)
        self.protocol: AtProtocol | None = None
        self.received = bytearray()
        self.in_pdu = False
        self.pdus: list[str] = []
        self.pdu_answer: bytes | None = b"\r\n+CMGS: 7\r\n\r\nOK\r\n"  # None: the send is never answered
        self._queue: asyncio.Queue[bytes] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None

    def attach(self, protocol: AtProtocol) -> None:
        self.protocol = protocol
        self._task = asyncio.get_running_loop().create_task(self._pump())

    async def close(self) -> None:
        if self._task:
            self._task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await self._task

    def send(self, data: bytes) -> None:
        self._queue.put_nowait(data)

    async def _pump(self) -> None:
        while True:
            data = await self._queue.get()
            for i in range(0, len(data), self.chunk):
                piece = bytes(b for b in data[i : i + self.chunk] if self.rng.random() >= self.loss)
                if self.delay:
                    await asyncio.sleep(self.rng.uniform(0, self.delay))
                if piece and self.protocol:
                    self.protocol.data_received(piece)

    def write(self, data: bytes) -> None:
        for byte in data:
            if self.in_pdu:
                if byte == 0x1A:
                    self.in_pdu = False
                    pdu = self.received.decode()
                    self.pdus.append(pdu)
                    self.received.clear()
                    if self.echo:
                        self.send(pdu.encode())
                    if self.pdu_answer is not None:
                        self.send(self.pdu_answer)
                else:
                    self.received.append(byte)
                continue
            if self.echo:
                self.send(bytes([byte]))
            if byte == 0x0D:
                command = self.received.decode()
                self.received.clear()
                if command.upper().startswith("AT+CMGS="):
                    self.in_pdu = True
                    self.send(b"\r\n> ")
                    continue
                for out in self.answers.get(command.upper(), [b"\r\nERROR\r\n"]):
                    self.send(out)
            else:
                self.received.append(byte)


async def make(peer: ScriptedPeer) -> tuple[AtProtocol, list[Urc]]:
    urcs: list[Urc] = []
    proto = AtProtocol(peer.write, urcs.append)
    peer.attach(proto)
    return proto, urcs


ANSWERS = {
    "AT": [b"\r\nOK\r\n"],
    "AT+CSQ": [b"\r\n+CSQ: 17,99\r\n", b"\r\nOK\r\n"],
    # a +CMTI between the answer and the final result, and a +CSQ-looking line that is an answer
    "AT+CPMS?": [b'\r\n+CPMS: "SM",3,10,"SM",3,10,"SM",3,10\r\n', b'\r\n+CMTI: "SM",4\r\n', b"\r\nOK\r\n"],
    "AT+CMGL=4": [
        b"\r\n+CMGL: 1,0,,5\r\n0791534850020200040C9153485040",
        b"\r\n",
        b'\r\n+CMTI: "SM",2\r\n',
        b"\r\n+CMT: ,5\r\n07915348500202000411\r\n",
        b"\r\nOK\r\n",
    ],
    "AT+CPIN?": [b"\r\n+CME ERROR: 10\r\n"],
    "AT+CMGR=9": [b"\r\n+CMS ERROR: 321\r\n"],
    'AT+CPMS="XX"': [b"\r\n+CMS ERROR: memory full\r\n"],
    "ATI": [b"\r\nSIMCOM_Ltd\r\nSIMCOM_SIM800L\r\nRevision:1418B04SIM800L24\r\n\r\nOK\r\n"],
    "AT+SLOW": [],
}


@pytest.mark.parametrize("echo", [True, False])
@pytest.mark.parametrize("chunk", [1, 3, 64])
def test_responses_and_urcs_by_context(echo: bool, chunk: int) -> None:
    async def main() -> None:
        peer = ScriptedPeer(ANSWERS, echo=echo, chunk=chunk)
        proto, urcs = await make(peer)
        resp = await proto.command("AT+CSQ")
        assert resp.value("+CSQ:") == "17,99"
        resp = await proto.command("AT+CPMS?")
        assert resp.values("+CPMS:") == ['"SM",3,10,"SM",3,10,"SM",3,10']
        assert [u.line for u in urcs] == ['+CMTI: "SM",4']
        resp = await proto.command("AT+CMGL=4")
        assert resp.lines == ["+CMGL: 1,0,,5", "0791534850020200040C9153485040"]
        assert urcs[1:] == [Urc('+CMTI: "SM",2'), Urc("+CMT: ,5", "07915348500202000411")]
        resp = await proto.command("ATI")
        assert resp.lines == ["SIMCOM_Ltd", "SIMCOM_SIM800L", "Revision:1418B04SIM800L24"]
        await peer.close()

    asyncio.run(main())


def test_a_csq_line_with_no_command_pending_is_unsolicited() -> None:
    async def main() -> None:
        peer = ScriptedPeer(ANSWERS)
        proto, urcs = await make(peer)
        peer.send(b"\r\n+CSQ: 10,99\r\n\r\nRING\r\n")
        await asyncio.sleep(0.1)  # delivered while nothing is pending
        resp = await proto.command("AT")
        assert [u.line for u in urcs] == ["+CSQ: 10,99", "RING"]
        assert resp.lines == []
        await peer.close()

    asyncio.run(main())


def test_error_codes_are_named() -> None:
    async def main() -> None:
        peer = ScriptedPeer(ANSWERS)
        proto, _ = await make(peer)
        with pytest.raises(CmeError) as cme:
            await proto.command("AT+CPIN?")
        assert cme.value.code == 10 and cme.value.text == "SIM not inserted"
        with pytest.raises(CmsError) as cms:
            await proto.command("AT+CMGR=9")
        assert cms.value.code == 321 and "invalid memory index" in str(cms.value)
        with pytest.raises(CmsError) as verbose:
            await proto.command('AT+CPMS="XX"')
        assert verbose.value.code == 322
        with pytest.raises(AtCommandError):
            await proto.command("AT+NOPE")
        await peer.close()

    asyncio.run(main())


@pytest.mark.parametrize("echo", [True, False])
def test_pdu_at_the_prompt_one_byte_at_a_time(echo: bool) -> None:
    async def main() -> None:
        peer = ScriptedPeer(ANSWERS, echo=echo, chunk=1, delay=0.001)
        proto, _ = await make(peer)
        resp = await proto.command("AT+CMGS=5", data="0011000B")
        assert resp.value("+CMGS:") == "7"
        assert peer.pdus == ["0011000B"]
        await peer.close()

    asyncio.run(main())


def test_timeout_names_the_command_and_next_command_works(monkeypatch: pytest.MonkeyPatch) -> None:
    async def main() -> None:
        peer = ScriptedPeer(ANSWERS)
        proto, _ = await make(peer)
        with pytest.raises(CommandTimeout) as err:
            await proto.command("AT+SLOW", timeout=0.3)
        assert "AT+SLOW" in str(err.value) and not err.value.data_sent
        assert (await proto.command("AT")).lines == []
        await peer.close()

    asyncio.run(main())


def test_timeouts_per_command_kind() -> None:
    assert command_kind("AT+CMGS=23") == "+CMGS"
    assert command_kind("AT+COPS=?") == "+COPS=?"
    assert timeout_for("AT+CMGS=23") >= 120
    assert timeout_for("AT+CSQ") == protocol_mod.DEFAULT_TIMEOUT_S
    assert timeout_for("AT+CFUN=1,1") == protocol_mod.COMMAND_TIMEOUTS_S["+CFUN"]


def test_seeded_loss_never_misattributes_and_recovers() -> None:
    """With bytes lost, each command either gets its own answer or fails; never another's."""

    async def main() -> None:
        peer = ScriptedPeer(ANSWERS, chunk=1, loss=0.02, delay=0.0005, seed=7)
        proto, _ = await make(peer)
        outcomes = {"ok": 0, "failed": 0}
        for _ in range(60):
            try:
                resp = await proto.command("AT+CSQ", timeout=0.5)
            except (CommandTimeout, AtCommandError):
                outcomes["failed"] += 1
                continue
            for line in resp.lines:  # loss only removes bytes: a line is a garbled piece of this answer
                assert _subsequence(line, "AT+CSQ+CSQ: 17,99OK"), line
            outcomes["ok"] += 1
        assert outcomes["ok"] > 10
        peer.loss = 0.0
        await asyncio.sleep(0.6)
        assert (await proto.command("AT+CSQ", timeout=2)).value("+CSQ:") == "17,99"
        await peer.close()

    asyncio.run(main())


def test_garbage_between_lines_never_crashes_the_reader() -> None:
    async def main() -> None:
        peer = ScriptedPeer(ANSWERS, chunk=7)
        proto, urcs = await make(peer)
        rng = random.Random(3)
        for _ in range(50):
            peer.send(bytes(rng.randrange(256) for _ in range(rng.randrange(1, 200))))
            peer.send(b"\r\n")
        await asyncio.sleep(0.2)
        assert (await proto.command("AT+CSQ", timeout=2)).value("+CSQ:") == "17,99"
        assert urcs  # the garbage went to the URC handler, logged, and nothing broke
        await peer.close()

    asyncio.run(main())


def test_port_lost_fails_the_pending_command() -> None:
    async def main() -> None:
        peer = ScriptedPeer(ANSWERS)
        proto, _ = await make(peer)
        task = asyncio.create_task(proto.command("AT+SLOW", timeout=5))
        await asyncio.sleep(0.1)
        proto.connection_lost(OSError("unplugged"))
        with pytest.raises(DeviceGone):
            await task
        with pytest.raises(DeviceGone):
            await proto.command("AT")
        await peer.close()

    asyncio.run(main())


def _subsequence(small: str, big: str) -> bool:
    it = iter(big)
    return all(ch in it for ch in small)
