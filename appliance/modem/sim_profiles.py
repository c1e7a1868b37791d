"""How each simulated modem family looks and misbehaves (data for ``simulator.py``).

The quirks are the ones field reports name (REFERENCE.md): echo on by default,
``> `` without a line end, URCs between a command's lines and its final result,
slow ``+CMGS``, small SIM stores, Huawei's one-argument ``AT+CPMS`` and its
``^RSSI`` chatter.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class SimProfile:
    name: str
    manufacturer: str
    model: str
    revision: str
    ati: tuple[str, ...]
    storages: dict[str, int] = field(default_factory=lambda: {"SM": 10, "ME": 50})
    default_storage: str = "SM"
    cpms_one_argument: bool = False  # 2/3-argument AT+CPMS answered with an error
    lte: bool = False  # answers AT+CEREG?
    cmgs_delay_s: float = 0.3  # network round trip before +CMGS
    report_mode: str = "stored"  # delivery reports stored (+CDSI) or sent direct (+CDS)
    boot_urcs: tuple[str, ...] = ()
    chatter: tuple[str, ...] = ()  # unsolicited noise sent every chatter_every_s
    chatter_every_s: float = 0.0
    urc_mid_response: bool = True  # pending URCs go out between info lines and OK
    reboot_s: float = 1.0
    operator: str = "Sim Telecom"
    act: int = 0  # access technology in +COPS (0 GSM, 2 UTRAN, 7 E-UTRAN)
    # how the SIM's remaining PIN tries are read: +CPINR (3GPP TS 27.007), +SPIC (SIMCom),
    # +QPINC (Quectel), ^CPIN (Huawei); a modem answers its own and refuses the others
    pin_retries_command: str = "+CPINR"


SIM800 = SimProfile(
    name="sim800",
    manufacturer="SIMCOM_Ltd",
    model="SIMCOM_SIM800L",
    revision="Revision:1418B04SIM800L24",
    pin_retries_command="+SPIC",
    ati=("SIM800 R14.18",),
    storages={"SM": 10, "ME": 20},  # SIM800's ME is small too
    default_storage="SM",
    cmgs_delay_s=0.5,
    boot_urcs=("RDY", "+CFUN: 1", "+CPIN: READY", "Call Ready", "SMS Ready"),
    act=0,
)
SIM7600 = SimProfile(
    name="sim7600",
    manufacturer="SIMCOM INCORPORATED",
    model="SIMCOM_SIM7600E-H",
    revision="+CGMR: LE20B04SIM7600M22",
    pin_retries_command="+SPIC",
    ati=(
        "Manufacturer: SIMCOM INCORPORATED",
        "Model: SIMCOM_SIM7600E-H",
        "Revision: SIM7600M22_V1.1",
        "IMEI: 861234050000002",
        "+GCAP: +CGSM",
    ),
    storages={"SM": 30, "ME": 255},
    default_storage="SM",
    lte=True,
    cmgs_delay_s=0.4,
    boot_urcs=("RDY", "+CPIN: READY", "SMS DONE", "PB DONE"),
    act=7,
)
EC25 = SimProfile(
    name="ec25",
    manufacturer="Quectel",
    model="EC25",
    revision="EC25EFAR06A07M4G",
    pin_retries_command="+QPINC",
    ati=("Quectel", "EC25", "Revision: EC25EFAR06A07M4G"),
    storages={"SM": 30, "ME": 255},
    default_storage="ME",
    lte=True,
    cmgs_delay_s=0.6,
    report_mode="direct",
    boot_urcs=("RDY", "+CFUN: 1", "+CPIN: READY", "+QUSIM: 1", "+QIND: SMS DONE", "+QIND: PB DONE"),
    act=7,
)
HUAWEI = SimProfile(
    name="huawei",
    manufacturer="huawei",
    model="E3372",
    revision="22.317.01.00.00",
    pin_retries_command="^CPIN",
    ati=(
        "Manufacturer: huawei",
        "Model: E3372",
        "Revision: 22.317.01.00.00",
        "IMEI: 867000000000003",
        "+GCAP: +CGSM,+DS,+ES",
    ),
    storages={"SM": 10},  # E3372 with SIM storage only
    default_storage="SM",
    cpms_one_argument=True,
    lte=True,
    cmgs_delay_s=0.3,
    boot_urcs=("^SYSSTART", "^SIMST: 1"),
    chatter=("^RSSI: 17", '^HCSQ: "LTE",45,38,120,20', "^DSFLOWRPT: 0000001D,00000000,00000000"),
    chatter_every_s=2.0,
    act=7,
)

SIM_PROFILES: dict[str, SimProfile] = {p.name: p for p in (SIM800, SIM7600, EC25, HUAWEI)}
