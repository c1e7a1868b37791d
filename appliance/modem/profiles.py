"""Modem families and how each is brought up (chosen from ``ATI`` / ``AT+CGMM``).

Kept as data. Each profile names the SMS storage to use, the ``AT+CNMI`` setting
(with fallbacks: modems refuse what they do not support), the registration
commands, and its quirks. Unknown modems get ``GENERIC``.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ModemProfile:
    name: str
    match: tuple[str, ...]  # lower-case substrings of ATI/+CGMI/+CGMM output
    storage: str = "SM"  # where received messages and reports are kept (+CPMS mem1..3)
    cpms_one_argument: bool = False  # Huawei E3372 & co. refuse a two/three-argument AT+CPMS
    cnmi: tuple[str, ...] = ("2,1,0,2,0", "2,1,0,1,0", "1,1,0,2,0", "1,1,0,1,0")
    registration: tuple[str, ...] = ("+CREG",)  # + "+CEREG" on LTE modems
    extra_init: tuple[str, ...] = ()  # optional commands; an error is logged and ignored
    # Seconds between the final OK of one send and the next AT+CMGS on top of modem.send_interval:
    # SIM800 firmwares drop the next prompt when hurried.
    send_settle_s: float = 0.0


SIM800 = ModemProfile(
    name="sim800",
    match=("sim800", "sim900", "sim868", "sim808"),
    storage="SM",
    registration=("+CREG",),
    extra_init=("AT+CLIP=1",),
    send_settle_s=0.1,
)
SIM7600 = ModemProfile(
    name="sim7600",
    match=("sim7600", "sim7100", "sim7500", "sim7000"),
    storage="ME",
    registration=("+CREG", "+CEREG"),
    extra_init=("AT+CLIP=1",),
)
EC25 = ModemProfile(
    name="ec25",
    match=("ec25", "eg25", "ec21", "ec20", "eg91", "bg96", "quectel"),
    storage="ME",
    registration=("+CREG", "+CEREG"),
    extra_init=("AT+CLIP=1",),
)
HUAWEI = ModemProfile(
    name="huawei",
    match=("huawei", "e3372", "e1750", "e173", "e3131", "e353", "e1550", "ms2131", "k3765"),
    storage="SM",
    cpms_one_argument=True,
    registration=("+CREG", "+CEREG"),
    # ^CURC=0 stops the ^RSSI/^BOOT/^DSFLOWRPT flood that drowns answers on E1xx/E3xx.
    extra_init=("AT^CURC=0", "AT+CLIP=1"),
)
GENERIC = ModemProfile(name="generic", match=(), storage="SM", registration=("+CREG", "+CEREG"))

PROFILES: tuple[ModemProfile, ...] = (SIM7600, SIM800, EC25, HUAWEI)
BY_NAME: dict[str, ModemProfile] = {p.name: p for p in (*PROFILES, GENERIC)}


def choose_profile(identity: str) -> ModemProfile:
    """The profile whose match text appears in ``identity`` (ATI + CGMI + CGMM), else GENERIC."""
    text = identity.lower()
    for profile in PROFILES:
        if any(m in text for m in profile.match):
            return profile
    return GENERIC
