"""``+CME ERROR`` (3GPP TS 27.007 §9.2) and ``+CMS ERROR`` (TS 27.005 §3.2.5) codes.

Kept as data tables. ``CMS_TEMPORARY`` says which send failures deserve a retry:
network and modem conditions that pass, as opposed to a refused message or
recipient (which fail the message at once).
"""

from __future__ import annotations

CME_ERRORS: dict[int, str] = {
    0: "phone failure",
    1: "no connection to phone",
    2: "phone-adaptor link reserved",
    3: "operation not allowed",
    4: "operation not supported",
    5: "PH-SIM PIN required",
    6: "PH-FSIM PIN required",
    7: "PH-FSIM PUK required",
    10: "SIM not inserted",
    11: "SIM PIN required",
    12: "SIM PUK required",
    13: "SIM failure",
    14: "SIM busy",
    15: "SIM wrong",
    16: "incorrect password",
    17: "SIM PIN2 required",
    18: "SIM PUK2 required",
    20: "memory full",
    21: "invalid index",
    22: "not found",
    23: "memory failure",
    24: "text string too long",
    25: "invalid characters in text string",
    26: "dial string too long",
    27: "invalid characters in dial string",
    30: "no network service",
    31: "network timeout",
    32: "network not allowed - emergency calls only",
    40: "network personalization PIN required",
    41: "network personalization PUK required",
    42: "network subset personalization PIN required",
    43: "network subset personalization PUK required",
    44: "service provider personalization PIN required",
    45: "service provider personalization PUK required",
    46: "corporate personalization PIN required",
    47: "corporate personalization PUK required",
    48: "hidden key required",
    49: "EAP method not supported",
    50: "incorrect parameters",
    100: "unknown",
    103: "illegal MS",
    106: "illegal ME",
    107: "GPRS services not allowed",
    111: "PLMN not allowed",
    112: "location area not allowed",
    113: "roaming not allowed in this location area",
    132: "service option not supported",
    133: "requested service option not subscribed",
    134: "service option temporarily out of order",
    148: "unspecified GPRS error",
    149: "PDP authentication failure",
    150: "invalid mobile class",
}

CMS_ERRORS: dict[int, str] = {
    # 0-127: RP-cause values of TS 24.011 §E.2
    1: "unassigned (unallocated) number",
    8: "operator determined barring",
    10: "call barred",
    17: "network failure",
    21: "short message transfer rejected",
    22: "memory capacity exceeded",
    27: "destination out of service",
    28: "unidentified subscriber",
    29: "facility rejected",
    30: "unknown subscriber",
    38: "network out of order",
    41: "temporary failure",
    42: "congestion",
    47: "resources unavailable, unspecified",
    50: "requested facility not subscribed",
    69: "requested facility not implemented",
    81: "invalid short message transfer reference value",
    95: "invalid message, unspecified",
    96: "invalid mandatory information",
    97: "message type non-existent or not implemented",
    98: "message not compatible with short message protocol state",
    99: "information element non-existent or not implemented",
    111: "protocol error, unspecified",
    127: "interworking, unspecified",
    # 128-255: TP-FCS values of TS 23.040 §9.2.3.22
    128: "telematic interworking not supported",
    129: "short message type 0 not supported",
    130: "cannot replace short message",
    143: "unspecified TP-PID error",
    144: "data coding scheme (alphabet) not supported",
    145: "message class not supported",
    159: "unspecified TP-DCS error",
    160: "command cannot be actioned",
    161: "command unsupported",
    175: "unspecified TP-Command error",
    176: "TPDU not supported",
    192: "SC busy",
    193: "no SC subscription",
    194: "SC system failure",
    195: "invalid SME address",
    196: "destination SME barred",
    197: "SM rejected - duplicate SM",
    198: "TP-VPF not supported",
    199: "TP-VP not supported",
    208: "SIM SMS storage full",
    209: "no SMS storage capability in SIM",
    210: "error in MS",
    211: "memory capacity exceeded",
    212: "SIM application toolkit busy",
    213: "SIM data download error",
    255: "unspecified error cause",
    # 300-511: TS 27.005 §3.2.5
    300: "ME failure",
    301: "SMS service of ME reserved",
    302: "operation not allowed",
    303: "operation not supported",
    304: "invalid PDU mode parameter",
    305: "invalid text mode parameter",
    310: "SIM not inserted",
    311: "SIM PIN required",
    312: "PH-SIM PIN required",
    313: "SIM failure",
    314: "SIM busy",
    315: "SIM wrong",
    316: "SIM PUK required",
    317: "SIM PIN2 required",
    318: "SIM PUK2 required",
    320: "memory failure",
    321: "invalid memory index",
    322: "memory full",
    330: "SMSC address unknown",
    331: "no network service",
    332: "network timeout",
    340: "no +CNMA acknowledgement expected",
    500: "unknown error",
}

# Send failures that pass: network/SC congestion, modem or SIM busy, no network for now,
# and the catch-all 500 that SIM800/EC25 give for a transient radio failure.
CMS_TEMPORARY: frozenset[int] = frozenset(
    {17, 22, 38, 41, 42, 47, 192, 194, 210, 212, 255, 300, 301, 314, 320, 331, 332, 500}
    | set(range(512, 1000))  # manufacturer-specific: unknown meaning, retry
)
# Modem/SIM conditions: not the message's fault, retry once the modem is healthy again.
CMS_MODEM_STATE: frozenset[int] = frozenset({302, 310, 311, 312, 313, 315, 316, 317, 318, 330})

CMS_MEMORY_FULL = 322
CMS_INVALID_INDEX = 321
CME_SIM_BUSY = 14


def cme_text(code: int) -> str:
    return CME_ERRORS.get(code, "manufacturer-specific error" if code >= 256 else "unknown error")


def cms_text(code: int) -> str:
    return CMS_ERRORS.get(code, "manufacturer-specific error" if code >= 512 else "unknown error")


def code_from_text(table: dict[int, str], text: str) -> int | None:
    """The code of a verbose error (``+CME ERROR: SIM not inserted``, AT+CMEE=2), if known."""
    wanted = text.strip().lower()
    for code, name in table.items():
        if name.lower() == wanted:
            return code
    return None


def cms_is_temporary(code: int) -> bool:
    """True when a send failing with this code may succeed later (retry with back-off)."""
    return code in CMS_TEMPORARY or code in CMS_MODEM_STATE
