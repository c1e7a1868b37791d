"""Chip families of the simulated V.253 voice modem, from their real answers.

The ``AT+VSM=?`` lists are the ones NCID's documentation quotes from ``ncidd.log``
(USRobotics 5637 and Conexant CX93001); ATI strings and the caller-ID line style
follow what NCID and vgetty users post. Where a detail is not documented the
choice is marked here, so a real modem that differs can be added as a profile.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class VsmCodec:
    code: int
    name: str
    encoding: str  # s8, u8, ulaw, alaw, s16le, or "" (offered but not simulated: ADPCM...)
    rates: tuple[int, ...]


@dataclass(frozen=True)
class V253Profile:
    name: str
    ati: dict[int, str]
    fclass: str  # the AT+FCLASS=? answer
    vsm_lines: tuple[str, ...]  # the AT+VSM=? answer, line by line
    codecs: tuple[VsmCodec, ...]
    cid_commands: tuple[str, ...]  # which caller-ID switches it accepts
    forgets_cid_on_reset: bool  # ATZ turns caller ID off again
    cid_spaced: bool  # "NMBR = 123" (True) or "NMBR=123"
    vcon_on_answer: bool  # ATD in voice mode says VCON only when answered (else at once)
    gci: tuple[str, ...] = field(default=("B5",))
    vtr: bool = True  # AT+VTR (full duplex); without it the host switches AT+VRX / AT+VTX


USR5637 = V253Profile(
    name="usr5637",
    ati={0: "5601", 1: "OK", 3: "U.S. Robotics 56K FAX USB V1.2.23", 4: "USRobotics 56K FAX USB"},
    fclass="0,1,1.0,2,2.0,8",
    vsm_lines=(
        '128,"8-BIT LINEAR",(7200,8000,11025)',
        '129,"16-BIT LINEAR",(7200,8000,11025)',
        '130,"8-BIT ALAW",(8000)',
        '131,"8-BIT ULAW",(8000)',
        '132,"IMA ADPCM",(7200,8000,11025)',
    ),
    codecs=(
        VsmCodec(128, "8-BIT LINEAR", "u8", (7200, 8000, 11025)),
        VsmCodec(129, "16-BIT LINEAR", "s16le", (7200, 8000, 11025)),
        VsmCodec(130, "8-BIT ALAW", "alaw", (8000,)),
        VsmCodec(131, "8-BIT ULAW", "ulaw", (8000,)),
        VsmCodec(132, "IMA ADPCM", "", (7200, 8000, 11025)),
    ),
    cid_commands=("+VCID",),
    forgets_cid_on_reset=False,
    cid_spaced=False,  # marked: chosen so the driver's parser meets both styles
    vcon_on_answer=True,  # marked: USR waits for the far end (X4 call progress)
    gci=("00", "09", "26", "3C", "3D", "42", "59", "A5", "B4", "B5"),
)

CX93001 = V253Profile(
    name="cx93001",
    ati={0: "56000", 1: "OK", 3: "CX93001-EIS_V0.2002-V92", 4: "OK"},
    fclass="(0,1,1.0,8)",
    vsm_lines=(
        '0,"SIGNED PCM",8,0,8000,0,0',
        '1,"UNSIGNED PCM",8,0,8000,0,0',
        '129,"IMA ADPCM",4,0,8000,0,0',
        '130,"UNSIGNED PCM",8,0,8000,0,0',
        '131,"Mu-Law",8,0,8000,0,0',
        '132,"A-Law",8,0,8000,0,0',
        '133,"14 bit PCM",14,0,8000,0,0',
    ),
    codecs=(
        VsmCodec(0, "SIGNED PCM", "s8", (8000,)),
        VsmCodec(1, "UNSIGNED PCM", "u8", (8000,)),
        VsmCodec(129, "IMA ADPCM", "", (8000,)),
        VsmCodec(130, "UNSIGNED PCM", "u8", (8000,)),
        VsmCodec(131, "Mu-Law", "ulaw", (8000,)),
        VsmCodec(132, "A-Law", "alaw", (8000,)),
        VsmCodec(133, "14 bit PCM", "", (8000,)),
    ),
    cid_commands=("+VCID", "#CID"),
    forgets_cid_on_reset=True,  # REFERENCE.md: Conexant forgets AT+VCID=1 after every reset
    cid_spaced=True,
    vcon_on_answer=False,  # marked: VCON right after dialing; the host listens for the rest
    gci=("00", "09", "26", "3C", "3D", "42", "59", "A5", "B4", "B5"),
)

# An older Rockwell-style chip that knows only AT#CID (the driver's first fallback).
ROCKWELL = V253Profile(
    name="rockwell",
    ati={0: "56000", 3: "V2.210-V90_2M_DLS", 4: "OK"},
    fclass="0,1,2,8",
    vsm_lines=('1,"UNSIGNED PCM",8,0,(7200,8000),0,0', '4,"G711U",8,0,8000,0,0'),
    codecs=(VsmCodec(1, "UNSIGNED PCM", "u8", (7200, 8000)), VsmCodec(4, "G711U", "ulaw", (8000,))),
    cid_commands=("#CID",),
    forgets_cid_on_reset=True,
    cid_spaced=True,
    vcon_on_answer=False,
    vtr=False,  # marked: half duplex, as many older voice modems
)

PROFILES = {p.name: p for p in (USR5637, CX93001, ROCKWELL)}
