"""The pure helpers of the modem layer, property-tested."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from appliance.modem.codes import CMS_ERRORS, cms_is_temporary, code_from_text
from appliance.modem.modem import parse_urc
from appliance.modem.profiles import GENERIC, choose_profile
from appliance.modem.protocol import Urc, response_prefixes


def test_urcs_parsed() -> None:
    assert parse_urc(Urc('+CMTI: "SM",3')).index == 3
    assert parse_urc(Urc('+CDSI: "SR",12')).kind == "report_stored"
    assert parse_urc(Urc("+CMT: ,24", "07AB")).pdu == "07AB"
    assert parse_urc(Urc('+CLIP: "+358401234567",145,"",0,"",0')).number == "+358401234567"
    assert parse_urc(Urc('^SMMEMFULL: "SM"')).kind == "storage_full"


@given(st.text(max_size=200), st.one_of(st.none(), st.text(max_size=50)))
def test_any_urc_line_parses_to_an_event(line: str, pdu: str | None) -> None:
    assert parse_urc(Urc(line, pdu)).kind


def test_profiles_chosen_from_identity() -> None:
    assert choose_profile("SIM800 R14.18 SIMCOM_Ltd SIMCOM_SIM800L").name == "sim800"
    assert choose_profile("Manufacturer: huawei Model: E3372").name == "huawei"
    assert choose_profile("Quectel EC25 Revision: EC25EFAR06A07M4G").name == "ec25"
    assert choose_profile("SIMCOM_SIM7600E-H").name == "sim7600"
    assert choose_profile("Telit LE910") is GENERIC


def test_error_tables() -> None:
    assert code_from_text(CMS_ERRORS, "memory full") == 322
    assert cms_is_temporary(42) and cms_is_temporary(500) and not cms_is_temporary(21)
    assert not cms_is_temporary(304) and response_prefixes("AT+CSQ") == ("+CSQ:",)
    assert response_prefixes("ATI") == ()
