"""Published PDUs from peers' test suites and well-known references, decoded (and re-encoded).

Sources, each cited beside its vectors:
- [PGM]  python-gsmmodem, test/test_pdu.py (faucamp/python-gsmmodem)
- [PMS]  python-messaging, messaging/test/test_sms.py (pmarti/python-messaging)
- [DF]   dreamfabric.com "SMS and the PDU format" examples ("hellohello"), also used in the test
         suites of Perl SMS::PDU and the node pdu decoder below
- [NPD]  a node.js PDU decoder's test suite (flash SMS, voicemail indication, MCHS 16-bit
         concatenation, Perl Device::Gsm t/06 vectors)
- [GEN]  Genode OS framework, PDU parsing test (Norman Feske, 2024): class-0 and emoji vectors
- [GAM]  Gammu, tests/at-sms-encode/*.dump (gammu/gammu)
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from appliance.errors import DecodeError
from appliance.sms import gsm7
from appliance.sms.pdu import (
    Concat,
    SmsDeliver,
    SmsStatusReport,
    SmsSubmit,
    decode_pdu,
    encode_submit,
    join_parts,
    relative_validity,
    relative_validity_code,
)


def tz(hours: float) -> timezone:
    return timezone(timedelta(hours=hours))


def deliver(pdu: str) -> SmsDeliver:
    msg = decode_pdu(pdu)
    assert isinstance(msg, SmsDeliver)
    return msg


def submit(pdu: str) -> SmsSubmit:
    msg = decode_pdu(pdu, direction="mo")
    assert isinstance(msg, SmsSubmit)
    return msg


def report(pdu: str, *, with_smsc: bool = True) -> SmsStatusReport:
    msg = decode_pdu(pdu, with_smsc=with_smsc)
    assert isinstance(msg, SmsStatusReport)
    return msg


# ---------------------------------------------------------------------------------------------
# SMS-DELIVER


@pytest.mark.parametrize(
    ("pdu", "smsc", "sender", "kind", "text", "when"),
    [
        # [DF] the classic "hellohello" SMS-DELIVER; TON 100 (subscriber) reads as "unknown".
        (
            "07917283010010F5040BC87238880900F10000993092516195800AE8329BFD4697D9EC37",
            "+27381000015",
            "27838890001",
            "unknown",
            "hellohello",
            datetime(1999, 3, 29, 15, 16, 59, tzinfo=tz(2)),
        ),
        # [PGM] TestSmsPdu.test_decode
        (
            "06917228195339040B917228214365F700003130805120618005D4F29C2E03",
            "+2782913593",
            "+27821234567",
            "international",
            "Test2",
            datetime(2013, 3, 8, 15, 2, 16, tzinfo=tz(2)),
        ),
        # [PGM] a 49-character text, time zone +8 h
        (
            "07915892000000F0040B915892214365F700007040213252242331493A283D0795C3F33C88FE06C9CB61"
            "32885EC6D341EDF27C1E3E97E7207B3A0C0A5241E377BB1D7693E72E",
            "+85290000000",
            "+85291234567",
            "international",
            "It is easy to read text messages via AT commands.",
            datetime(2007, 4, 12, 23, 25, 42, tzinfo=tz(8)),
        ),
        # [PGM] escape pairs and accented letters: '@{tést}!'
        (
            "06917228195339040B917228214365F70000313062315352800A800D8A5E98D337A910",
            "+2782913593",
            "+27821234567",
            "international",
            "@{tést}!",
            datetime(2013, 3, 26, 13, 35, 25, tzinfo=tz(2)),
        ),
        # [PMS] test_decoding_7bit_pdu, zone 00
        (
            "07911326040000F0040B911346610089F60000208062917314080CC8F71D14969741F977FD07",
            "+31624000000",
            "+31641600986",
            "international",
            "How are you?",
            datetime(2002, 8, 26, 19, 37, 41, tzinfo=UTC),
        ),
        # [PMS] test_decoding_ucs2_pdu
        (
            "07914306073011F0040B914316709807F2000880604290224080084E2D5174901A8BAF",
            "+34607003110",
            "+34610789702",
            "international",
            "中兴通讯",
            datetime(2008, 6, 24, 9, 22, 4, tzinfo=tz(2)),
        ),
        # [PMS] test_decoding_datetime_gmtplusone (they compare 16:41:32 UTC)
        (
            "0791447758100650040C914497716247010000909010711423400A2050EC468B81C4733A",
            "+447785016005",
            "+447917267410",
            "international",
            "  1741 bst",
            datetime(2009, 9, 1, 16, 41, 32, tzinfo=UTC),
        ),
        # [PMS] alphanumeric sender of odd length (9 semi-octets)
        (
            "07919471060040340409D0C6A733390400009060920173018093CC74595C96838C4F6772085AD6DDE432"
            "0B444E9741D4B03C6D7EC3E9E9B71B9474D3CB727799DEA286CFE5B9991DA6CBC3F432E85E9793CBA0F0"
            "9A9EB6A7CB72BA0B9474D3CB727799DE72D6E9FABAFB0CBAA7E56490BA4CD7D34170F91BE4ACD3F575F7"
            "794E0F9F4161F1B92C2F8FD1EE32DD054AA2E520E3D3991C82A8E5701B",
            "+491760000443",
            "FONIC",
            "alphanumeric",
            "Lieber FONIC Kunde, die Tarifoption Internet-Tagesflatrate wurde aktiviert. "
            "Internet-Nutzung wird jetzt pro Nutzungstag abgerechnet. Ihr FONIC Team",
            datetime(2009, 6, 29, 10, 37, 10, tzinfo=tz(2)),
        ),
        # [PMS] alphanumeric sender of even length (18 semi-octets)
        (
            "07919333852804000412D0F7FBDD454FB75D693A0000903002801153402BCD301E9F0605D9E971191483"
            "C140412A35690D52832063D2F9040599A058EE05A3BD6430580E",
            "+393358824000",
            "www.tim.it",
            "alphanumeric",
            "Maxxi Alice 100 ATTIVATA FINO AL 19/04/2009",
            datetime(2009, 3, 20, 8, 11, 35, tzinfo=tz(1)),
        ),
        # [GEN] UCS-2 with a surrogate pair (U+1F63A)
        (
            "0791947106004009040C91948967452301000842203241218540100045006D006F006A00690020D83DDE3A",
            "+491760000490",
            "+499876543210",
            "international",
            "Emoji \U0001f63a",
            datetime(2024, 2, 23, 14, 12, 58, tzinfo=tz(1)),
        ),
        # [GEN] 13-digit sender (odd length, F filler)
        (
            "0791947122723033000D91942143658709F100004220222151154004D4F29C0E",
            "+491722270333",
            "+4912345678901",
            "international",
            "Test",
            datetime(2024, 2, 22, 12, 15, 51, tzinfo=tz(1)),
        ),
        # [NPD] Perl Device::Gsm t/06: alphanumeric "klarmobil", PID 0x39
        (
            "07919471016730510410D06B7658DE7E8BD36C39006070228105118094C8309BFD6681C262D0FC6D7ECB"
            "E92071DA0D4A8FD1A0BA9B5E9683DCE57A590E92D6CDEE7ABB5D968356B45CAC16ABD972319A8C360395"
            "E5F2727A8C1687E52E90355D66974147B9DF530651DFF239BDEC0635FD6C7659EE5296E97A3A68CD0ECB"
            "C7613919242ECFE96536BBEC06D5DDF4B21C74BFDF5D6B7658DE7E8BD36C17B90C",
            "+491710760315",
            "klarmobil",
            "alphanumeric",
            "Hallo, ab sofort bin ich unter neuer Rufnummer +4915156914243 erreichbar. Viele Grüße "
            "Torsten Müller.Jetzt klarcard bestellen unter www.klarmobil.de",
            datetime(2006, 7, 22, 18, 50, 11, tzinfo=tz(2)),
        ),
    ],
)
def test_published_deliver_pdus(pdu: str, smsc: str, sender: str, kind: str, text: str, when: datetime) -> None:
    msg = deliver(pdu)
    assert (msg.smsc, msg.sender, msg.sender_type, msg.text) == (smsc, sender, kind, text)
    assert msg.timestamp == when
    assert msg.timestamp.utcoffset() is not None


def test_genode_class0_flash_message() -> None:
    # [GEN] DCS 0x10: default alphabet, class 0 (flash)
    msg = deliver("0791947106004009040C919489674523010010422022414243400CCD77DA0D72BEE5EDB0DB05")
    assert (msg.text, msg.message_class, msg.dcs) == ("Moin Norman.", 0, 0x10)


def test_single_part_concatenation_header_8bit() -> None:
    # [PGM] national sender "2781188", IEI 00 with ref 0xC3, 1 of 1
    msg = deliver(
        "0591721891F1400781721881F800003160526104848059050003C30101916536FB1DCABEEB2074D85E06"
        "4941B19CAB060319A5C522289C96D3D3ED32286C0FA7D96131BBEC024941B19CAB0603DDD36C36A88C87"
        "A7E565D0DB0D82C55EB0DB4B068BCD5C20"
    )
    assert msg.smsc == "+2781191"
    assert (msg.sender, msg.sender_type) == ("2781188", "unknown")
    assert msg.text == "Hello!You have R 19.50 FREE airtime available. R 19.50 will expire on 01/07/2013. "
    assert msg.concat == Concat(ref=0xC3, total=1, seq=1, bits=8)
    assert msg.information_elements == ((0x00, bytes([0xC3, 0x01, 0x01])),)


def test_two_part_german_message_with_euro_and_class1() -> None:
    # [PMS] test_decode_weird_multipart_german_pdu: DCS 0xF1, PID 0x39, ref 25
    parts = [
        deliver(
            "07919471227210244405852122F039F101506271217180A005000319020198E9B2B82C0759DFE4B0F9ED"
            "2EB7967537B9CC02B5D37450122D2FCB41EE303DFD7687D96537881A96A7CD6F383DFD7683F46134BBEC"
            "064DD36550DA0D22A7CBF3721BE42CD3F5A0198B56036DCA20B8FC0D6A0A4170767D0EAAE540433A082E"
            "7F83A6E5F93CFD76BB40D7B2DB0D9AA6CB2072BA3C2F83926EF31BE44E8FD17450BB8C9683CA"
        ),
        deliver(
            "07919471227210244405852122F039F1015062712181804F050003190202E4E8309B5E7683DAFC319A5E"
            "76B340F73D9A5D7683A6E93268FD9ED3CB6EF67B0E5AD172B19B2C2693C9602E90355D6683A6F0B00794"
            "6E8382F5393BEC26BB00"
        ),
    ]
    assert [p.concat for p in parts] == [Concat(25, 2, 1, 8), Concat(25, 2, 2, 8)]
    assert parts[0].text.endswith("3,45 € pro MB plus 59 Ct pro Session. Wenn Sie diese Info nicht mehr e")
    assert parts[1].text == "rhalten möchten, wählen Sie kostenlos +4917212220. Viel Spaß im Ausland."
    assert (parts[0].message_class, parts[0].pid) == (1, 0x39)
    assert join_parts(parts[::-1]).startswith("Lieber Vodafone-Kunde, mit Ihrer nationalen")


def test_alphanumeric_ucs2_with_16bit_concatenation() -> None:
    # [NPD] "MCHS" (Moscow emergency service), IEI 08 ref 0x0AE5, part 1 of 3, zone +3 h
    msg = deliver(
        "07919730071111F14007D0CD21720A0008718042814134218B0608040AE50301041D04300020043E0441043D"
        "043E04320430043D043804380020043F0440043E0433043D043E0437043000200424041304110423002000AB"
        "04260435043D044204400430043B044C043D043E0435002004230413041C042100BB002000320034002004300"
        "43204330443044104420430002004320020041C043E0441043A043204350020"
    )
    assert (msg.smsc, msg.sender, msg.sender_type) == ("+79037011111", "MCHS", "alphanumeric")
    assert msg.concat == Concat(ref=0x0AE5, total=3, seq=1, bits=16)
    assert msg.text == "На основании прогноза ФГБУ «Центральное УГМС» 24 августа в Москве "  # noqa: RUF001
    assert msg.timestamp == datetime(2017, 8, 24, 15, 14, 43, tzinfo=UTC)


# ---------------------------------------------------------------------------------------------
# SMS-SUBMIT


@pytest.mark.parametrize(
    ("pdu", "recipient", "text", "validity", "srr"),
    [
        # [PGM] relative validity 3 days, TP-SRR, MR 13
        (
            "07911326040000F0310D0B911326880736F40000A90FF7FBDD454E87CDE1B0DB357EB701",
            "+31628870634",
            "www.diafaan.com",
            timedelta(days=3),
            True,
        ),
        # [PGM] UCS-2 SUBMIT, no validity
        (
            "07914346466554F601000B914316565811F9000806304253F68449",
            "+34616585119",
            "あ叶葉",
            None,
            False,
        ),
        # [PGM] 8-bit data coding
        (
            "0591721891F101000B917228214365F700040C48656C6C6F20776F726C6421",
            "+27821234567",
            "Hello world!",
            None,
            False,
        ),
        # [PGM] absolute validity period
        (
            "0019000B917228001011F100003170013193008017D474BB3CA787DB70903DCC4E93D3F43C885E9ED301",
            "+27820001111",
            "Timestamp validity test",
            datetime(2013, 7, 10, 13, 39, tzinfo=tz(2)),
            False,
        ),
        # [NPD] Perl Device::Gsm: national 4-digit recipient, MR 0xFF, VP 0xAD = 7 days
        (
            "0011FF048160110000AD1CD4F29C0E6A97E7F3F0B90C32BFE52062D99E1E9775BAE3BC0D",
            "0611",
            "Test message for Device::Gsm",
            timedelta(days=7),
            False,
        ),
        # [DF] "hellohello" SMS-SUBMIT, VP 0xAA = 4 days
        (
            "0011000B916407281553F80000AA0AE8329BFD4697D9EC37",
            "+46708251358",
            "hellohello",
            timedelta(days=4),
            False,
        ),
        # [GAM] tests/at-sms-encode/01.dump: SMSC "1234" (unknown type), VP 0xFF = 63 weeks
        ("038121431100048121430000FF0631D98C56B301", "1234", "123456", timedelta(weeks=63), False),
        # [GAM] tests/at-sms-encode/07.dump: 9-digit national number, odd length
        (
            "038121431100098108103254F60000FF0631D98C56B301",
            "800123456",
            "123456",
            timedelta(weeks=63),
            False,
        ),
    ],
)
def test_published_submit_pdus(pdu: str, recipient: str, text: str, validity: object, srr: bool) -> None:
    msg = submit(pdu)
    assert (msg.recipient, msg.text, msg.validity, msg.status_report) == (
        recipient,
        text,
        validity,
        srr,
    )


def test_flash_and_voicemail_indication_submits() -> None:
    # [NPD] DCS 0x10 = class 0 ("flash"); DCS 0xC8 = message waiting, discard, voicemail active
    flash = submit("0001010B915121551532F40010104190991D9EA341EDF27C1E3E9743")
    assert (flash.recipient, flash.text, flash.dcs) == ("+15125551234", "A flash message!", 0x10)
    mwi = submit("0001AB0B915121551532F400C80F3190BB7C07D9DFE971B91D4EB301")
    assert (mwi.text, mwi.encoding, mwi.message_ref) == ("1 new voicemail", "gsm7", 0xAB)


def test_stored_submit_in_a_cmgl_listing_decodes_in_mt_direction() -> None:
    # [PGM] SUBMIT as AT+CMGL lists a stored outgoing message
    msg = decode_pdu("07911326040000F0310D0B911326880736F40000A90FF7FBDD454E87CDE1B0DB357EB701")
    assert isinstance(msg, SmsSubmit) and msg.message_ref == 13


@pytest.mark.parametrize(
    ("number", "text", "validity", "srr", "mr", "expected"),
    [
        # [PGM] test_encodeSmsSubmit (no validity, no SRR)
        (
            "+27820001111",
            "Hello World!",
            None,
            False,
            0,
            "0001000B917228001011F100000CC8329BFD065DDF72363904",
        ),
        # [PMS] test_encoding_validity: relative validity 4 days (0xAA)
        (
            "+34616585119",
            "hola",
            timedelta(days=4),
            False,
            0,
            "0011000B914316565811F90000AA04E8373B0C",
        ),
        # [PMS] test_encoding_request_status: TP-SRR
        ("+34654123456", "hey yo", None, True, 0, "0021000B914356143254F6000006E8721E947F03"),
        # [PMS] test_encoding_message_with_latin1_chars: 'Hölä' is GSM-7
        (
            "+34654123456",
            "Hölä",
            timedelta(days=4),
            False,
            0,
            "0011000B914356143254F60000AA04483E7B0F",
        ),
        # [PMS] 'BÄRÇA äñ@' is GSM-7 too (ends in the 0x00 '@')
        (
            "+34654123456",
            "BÄRÇA äñ@",
            None,
            False,
            0,
            "0001000B914356143254F6000009C2AD341104EDFB00",
        ),
        # [PMS] test_encoding_ucs2_message: Cyrillic, unknown-type number of odd length
        (
            "655345678",
            "Русский",
            timedelta(days=4),
            False,
            0,
            "001100098156355476F80008AA0E0420044304410441043A04380439",
        ),
        # [DF] "hellohello", 4 days
        (
            "+46708251358",
            "hellohello",
            timedelta(days=4),
            False,
            0,
            "0011000B916407281553F80000AA0AE8329BFD4697D9EC37",
        ),
    ],
)
def test_encode_submit_matches_published_pdus(
    number: str, text: str, validity: timedelta | None, srr: bool, mr: int, expected: str
) -> None:
    (part,) = encode_submit(number, text, validity=validity, status_report=srr, message_ref=mr)
    # The published PDUs start with the "00" SMSC octet (use the SIM's SMSC), as ours do.
    assert part.pdu == expected
    assert part.tpdu_length == len(expected) // 2 - 1


def test_encode_multipart_7bit_matches_python_messaging() -> None:
    # [PMS] test_encoding_multipart_7bit: 3 parts, ref 136, 4 days, TP-RD clear
    text = (
        "Or walk with Kings - nor lose the common touch, if neither foes nor loving friends can "
        "hurt you, If all men count with you, but none too much; If you can fill the unforgiving "
        "minute With sixty seconds' worth of distance run, Yours is the Earth and everything thats "
        "in it, And - which is more - you will be a Man, my son"
    )
    expected = [
        "005100098156355476F80000AAA00500038803019E72D03DCC5E83EE693A1AB44CBBCF73500BE47ECB41ECF7B"
        "C0CA2A3CBA0F1BBDD7EBB41F4777D8C6681D26690BB9CA6A3CB7290F95D9E83DC6F3988FDB6A7DD6790599E2E"
        "BBC973D038EC06A1EB723A28FFAEB340493328CC6683DA653768FCAEBBE9A07B9A8E06E5DF7516485CA783DC6"
        "F7719447FBF41EDFA18BD0325CDA0FCBB0E1A87DD",
        "005100098156355476F80000AAA005000388030240E6349B0DA2A3CBA0BADBFC969FD3F6B4FB0C6AA7DD757A1"
        "9744DD3D1A0791A4FCF83E6E5F1DB4D9E9F40F7B79C8E06BDCD20727A4E0FBBC76590BCEE6681B2EFBA7C0E4A"
        "CF41747419540CCBE96850D84D0695ED65799E8E4EBBCF203A3A4C9F83D26E509ACE0205DD64500B7447A7C76"
        "8507A0E6ABFE565500B947FD741F7349B0D129741",
        "005100098156355476F80000AA14050003880303C2A066D8CD02B5F3A0F9DB0D",
    ]
    parts = encode_submit("655345678", text, validity=timedelta(days=4), status_report=False, concat_ref=136)
    assert [p.pdu for p in parts] == expected
    assert [(p.part, p.total) for p in parts] == [(1, 3), (2, 3), (3, 3)]


def test_encode_multipart_7bit_matches_python_gsmmodem() -> None:
    # [PGM] test_encodeSmsSubmit_concatenated: TP-RD set there, so compare with that bit masked
    text = (
        "Lorem ipsum dolor sit amet, consectetur adipisicing elit, sed do eiusmod tempor "
        "incididunt ut labore et dolore magna aliqua.Ut enim ad minim veniam, quinostrud "
        "exercitation ullamco laboris nisi ut aliquip ex ea commodo consequat.Duis aute irure "
        "dolor in reprehenderit in voluptate velit esse cillum doloe eu fugiat nulla pariatur."
        "Excepteur sint occaecat cupidatat non proident, sunt in culpa qui officia deserunt "
        "mollit anim id est laborum"
    )
    tails = [
        "A0050003000301986F79B90D4AC3E7F53688FC66BFE5A0799A0E0AB7CB741668FC76CFCB637A995E9783C2E4"
        "343C3D4F8FD3EE33A8CC4ED359A079990C22BF41E5747DDE7E9341F4721BFE9683D2EE719A9C26D7DD74509D"
        "0E6287C56F791954A683C86FF65B5E06B5C36777181466A7E3F5B0AB4A0795DDE936284C06B5D3EE741B642F"
        "BBD3E1360B14AFA7DD",
        "A0050003000302DE73BABC4E0695F165F9384D0FD3D36F37A8CE6687DBE337881D16BFE5E939C89D9EA74175"
        "3A28CC4EC7EB6938A88C0795C3A0F1BBDD7E93DFA0F1DB3D2FC7EB61BA8B584FCF41E13ABD0C4ACBEBF23288"
        "FC66BFE5A0B41B242FC3E56574D94D2ECBD37450DA0DB2BFD975383D4C2F83EC65769A0E2ACFE765D038CD66"
        "D7DB20F29BFD2E83CA",
        "8C050003000303EA2073FD9C0ED341EE3A9B1D06C1C3F274985E97BB8AF871194E2FD7E5A079DA4D07BDC7E3"
        "70791CA683C675789A1CA687E920F7DB0D82CBDF6972D94D6781E675371D947683C675363C0C8AD7D3A0B7D9"
        "9C1EA7C32072795E96D7DD7450FBCD66A7E9A0B03BDD06A5C9A0F29C0E6287C56F79BD0D",
    ]
    parts = encode_submit("+15125551234", text, validity=None, status_report=False, concat_ref=0)
    assert [p.pdu for p in parts] == ["0041000B915121551532F40000" + t for t in tails]


# ---------------------------------------------------------------------------------------------
# SMS-STATUS-REPORT


def test_status_report_delivered() -> None:
    # [PGM] SMS-STATUS-REPORT, reference 214, no SMSC address
    msg = report("0006D60B911326880736F4111011719551401110117195714000")
    assert (msg.smsc, msg.message_ref, msg.recipient) == (None, 214, "+31628870634")
    assert msg.timestamp == datetime(2011, 1, 11, 17, 59, 15, tzinfo=tz(1))
    assert msg.discharge_time == datetime(2011, 1, 11, 17, 59, 17, tzinfo=tz(1))
    assert (msg.status, msg.outcome) == (0x00, "delivered")


def test_status_report_permanent_failure() -> None:
    # [PMS] test_decode_sms_confirmation: status 0x43 "not obtainable"
    msg = report("07914306073011F006270B913426565711F7012081111345400120811174054043")
    assert (msg.message_ref, msg.recipient, msg.status) == (0x27, "+43626575117", 0x43)
    assert msg.outcome == "failed"
    assert msg.description == "not obtainable"


def test_status_report_from_zte_with_odd_digits() -> None:
    # [PGM] "semi-invalid status report PDU captured from a ZTE modem": the recipient holds a
    # 0xB semi-octet, which TS 23.040 9.1.2.3 reads as '#'.
    msg = report("0297F1061C0F910B487228297020F5317062419272803170624192138000")
    assert (msg.message_ref, msg.recipient, msg.status) == (28, "+#08427829207025", 0)
    assert msg.timestamp == datetime(2013, 7, 26, 14, 29, 27, tzinfo=tz(2))
    assert msg.discharge_time == datetime(2013, 7, 26, 14, 29, 31, tzinfo=tz(2))


def test_status_report_without_smsc_part() -> None:
    # +CDS on some modems omits the SMSC part: the same [PGM] TPDU, read with_smsc=False.
    msg = report("06D60B911326880736F4111011719551401110117195714000", with_smsc=False)
    assert msg.message_ref == 214


# ---------------------------------------------------------------------------------------------
# pieces


@pytest.mark.parametrize(
    ("text", "packed"),
    [
        # [PGM] TestGsm7: text -> packed septets
        ("123", bytes([49, 217, 12])),
        ("12345678", bytes([49, 217, 140, 86, 179, 221, 112])),
        ("123456789", bytes([49, 217, 140, 86, 179, 221, 112, 57])),
        ("Hello World!", bytes([200, 50, 155, 253, 6, 93, 223, 114, 54, 57, 4])),
        ("[{abc}]~", bytes([27, 222, 6, 21, 22, 143, 55, 169, 141, 111, 211, 3])),
        ("{åΦΓΛΩΠΨΣΘ€}", bytes([27, 212, 67, 50, 161, 84, 44, 23, 76, 102, 83, 222, 164, 0])),
        ("a[]{}€", bytes([225, 13, 111, 227, 219, 160, 54, 169, 77, 25])),
    ],
)
def test_gsm7_packing_vectors(text: str, packed: bytes) -> None:
    septets = gsm7.encode(text)
    assert gsm7.pack_septets(septets) == packed
    assert gsm7.decode(gsm7.unpack_septets(packed, len(septets))) == text


@pytest.mark.parametrize(
    ("hex_ts", "when"),
    [
        # [PGM] TestTimestamp; [PMS] / [DF] scts: 12 Feb 1999 05:57:30 GMT+3 and GMT-3
        ("51117200000000", datetime(2015, 11, 27, tzinfo=UTC)),
        ("51117200000080", datetime(2015, 11, 27, tzinfo=tz(2))),
        ("70402132522423", datetime(2007, 4, 12, 23, 25, 42, tzinfo=tz(8))),
        ("7040213252242B", datetime(2007, 4, 12, 23, 25, 42, tzinfo=tz(-8))),
        ("99202150750321", datetime(1999, 2, 12, 5, 57, 30, tzinfo=tz(3))),
        ("99202150750329", datetime(1999, 2, 12, 5, 57, 30, tzinfo=tz(-3))),
    ],
)
def test_timestamp_vectors(hex_ts: str, when: datetime) -> None:
    from appliance.sms import pdu as codec

    assert codec._decode_timestamp(bytes.fromhex(hex_ts), "t") == when
    assert codec._encode_timestamp(when).hex().upper() == hex_ts


@pytest.mark.parametrize(
    ("period", "code"),
    [
        # [PGM] TestRelativeValidityPeriod
        (timedelta(minutes=30), 5),
        (timedelta(hours=16), 151),
        (timedelta(days=3), 169),
        (timedelta(weeks=5), 197),
        # [PMS] test_converting_timedelta_to_validity
        (timedelta(minutes=5), 0),
        (timedelta(minutes=10), 1),
        (timedelta(hours=12), 143),
        (timedelta(hours=24), 167),
        (timedelta(days=2), 168),
        (timedelta(days=30), 196),
    ],
)
def test_relative_validity_vectors(period: timedelta, code: int) -> None:
    assert relative_validity_code(period) == code
    assert relative_validity(code) == period


def test_relative_validity_rounds_up_and_caps() -> None:
    # [PMS] says 13 h -> 145 (12 h + 2 x 30 min); 6 min cannot be 5 min, we round up to 10.
    assert relative_validity_code(timedelta(hours=13)) == 145
    assert relative_validity_code(timedelta(minutes=6)) == 1
    assert relative_validity_code(timedelta(weeks=1000)) == 255


@pytest.mark.parametrize(
    ("address_hex", "value", "kind"),
    [
        # [PGM] TestSmsPduAddressFields
        ("0A918967452301", "+9876543210", "international"),
        ("099189674523F1", "+987654321", "international"),
        ("0B917228195339F4", "+27829135934", "international"),
        ("06D061F118", "abc", "alphanumeric"),
        ("0ED04669D0397C26A7", "FRANCOIS", "alphanumeric"),
        ("14D0E10D6FE3DBA036A94D19", "a[]{}€", "alphanumeric"),
        ("0AA11092997856", "0129998765", "national"),
    ],
)
def test_address_vectors(address_hex: str, value: str, kind: str) -> None:
    from appliance.sms import pdu as codec

    reader = codec._Reader(bytes.fromhex(address_hex))
    assert codec._decode_address(reader, "address")[:2] == (value, kind)
    assert reader.remaining() == 0
    assert codec._encode_address(value, kind).hex().upper() == address_hex


def test_invalid_user_data_length_from_python_gsmmodem_is_a_decode_error() -> None:
    # [PGM] keeps a captured PDU whose UCS-2 UDL (0xA0 = 160) exceeds 140 octets and decodes it
    # leniently; we refuse it and say why.
    with pytest.raises(DecodeError, match="user data length"):
        decode_pdu("0041010C910661345542F60008A0050003000301306F3044", direction="mo")
