"""SADP codec and crypto: wire captures, round trips, leniency and refusals."""

from __future__ import annotations

import base64
import hashlib
import xml.etree.ElementTree as ET
from dataclasses import replace

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from hypothesis import given
from hypothesis import strategies as st

from nvrsim.protocols import sadp_crypto
from nvrsim.protocols.sadp import (
    _FORMAT,
    _INFO_FIELDS,
    CAP1_TAGS,
    FLASE_FIELDS,
    MAX_DATAGRAM,
    NetworkParams,
    Probe,
    ProbeType,
    Result,
    SadpDecodeError,
    build_device_match,
    build_inquiry,
    build_probe,
    build_result,
    decode_probe,
    decode_probe_match,
    format_bool,
)
from nvrsim.protocols.xmlwrite import document, el, xml_declaration
from nvrsim.strategies.sadp import device_infos, probes

# A real DS-2CD2385G1-I V5.6.2 reply (CAP1 in protocols/hikvision.md §1.2).
CAP1 = [
    ("Uuid", "e8ecfe09-90e4-44c0-842b-703f46b58c81"), ("Types", "inquiry"),
    ("DeviceType", "141945"), ("DeviceDescription", "DS-2CD2385G1-I"),
    ("DeviceSN", "DS-2CD2385G1-I20200414AAWRE33842150"), ("CommandPort", "8000"),
    ("HttpPort", "80"), ("MAC", "58-50-ed-1f-e3-85"), ("IPv4Address", "192.168.124.40"),
    ("IPv4SubnetMask", "255.255.255.0"), ("IPv4Gateway", "192.168.124.1"),
    ("IPv6Address", "::"), ("IPv6Gateway", "::"), ("IPv6MaskLen", "64"), ("DHCP", "true"),
    ("AnalogChannelNum", "0"), ("DigitalChannelNum", "1"),
    ("SoftwareVersion", "V5.6.2build 190701"), ("DSPVersion", "V7.3 build 190626"),
    ("BootTime", "1970-01-15 02:44:11"), ("Encrypt", "true"), ("ResetAbility", "false"),
    ("DiskNumber", "0"), ("Activated", "true"), ("PasswordResetAbility", "true"),
    ("PasswordResetModeSecond", "true"), ("DetailOEMCode", "1"),
    ("SupportSecurityQuestion", "true"), ("SupportHCPlatform", "true"),
    ("HCPlatformEnable", "flase"), ("IsModifyVerificationCode", "true"),
    ("Salt", "d8eebc414effc857bed4c3cc203c8b4413f60b00a9f4acc410084358d5fd3f91"),
    ("DeviceLock", "flase"), ("SDKOverTLSPort", "8443"), ("SDKServerStatus", "true"),
    ("SDKOverTLSServerStatus", "true"), ("SupportMailBox", "true"),
]  # fmt: skip
CAP1_BYTES = (
    '<?xml version="1.0" encoding="UTF-8"?>\r\n<ProbeMatch>\r\n'
    + "".join(f"<{tag}>{text}</{tag}>\r\n" for tag, text in CAP1)
    + "</ProbeMatch>\r\n"
).encode()
MAC = "58:50:ed:1f:e3:85"


def check(build, parse, value, raw: bytes | None = None):
    """construct-style: parse(build(x)) == x, and against a captured datagram when given."""
    built = build(value)
    assert parse(built) == value
    assert len(built) <= MAX_DATAGRAM
    if raw is not None:
        assert built == raw
        assert parse(raw) == value
    return built


def tags_of(datagram: bytes) -> list[tuple[str, str]]:
    return [(child.tag, child.text or "") for child in ET.fromstring(datagram)]


# --- captures ------------------------------------------------------------------


def test_inquiry_is_the_sdk_template_with_an_upper_case_guid():
    raw = (
        b'<?xml version="1.0" encoding="utf-8"?><Probe><Uuid>0A1B-CC</Uuid>'
        b"<Types>inquiry</Types></Probe>"
    )
    assert build_inquiry("0a1b-cc") == raw
    assert decode_probe(raw) == Probe("0A1B-CC", ProbeType.INQUIRY)


def test_cap1_capture_parses_and_rebuilds_byte_for_byte_with_the_flase_quirk():
    match = decode_probe_match(CAP1_BYTES)
    assert list(match.fields.items()) == CAP1
    info = match.device_info()
    assert info.mac == MAC and info.hc_platform_enable is False and info.device_lock is False
    assert info.software_version == "V5.6.2build 190701"
    assert info.support_ezviz_unbind is None
    rebuilt = build_device_match(match.uuid, match.types, info, flase=True)
    assert rebuilt == CAP1_BYTES
    assert tuple(tag for tag, _ in CAP1) == CAP1_TAGS


def test_flase_is_only_for_the_two_misspelled_fields_and_only_when_asked():
    info = replace(decode_probe_match(CAP1_BYTES).device_info(), dhcp=False, encrypt=False)
    quirky = dict(tags_of(build_device_match("u", "inquiry", info, flase=True)))
    plain = dict(tags_of(build_device_match("u", "inquiry", info, flase=False)))
    assert quirky["HCPlatformEnable"] == quirky["DeviceLock"] == "flase"
    assert quirky["DHCP"] == quirky["Encrypt"] == "false"
    assert plain["HCPlatformEnable"] == plain["DeviceLock"] == "false"
    assert "flase" not in {v for _, v in tags_of(build_device_match("u", "inquiry", info))}
    enabled = replace(info, hc_platform_enable=True)
    assert (
        dict(tags_of(build_device_match("u", "inquiry", enabled, flase=True)))["HCPlatformEnable"]
        == "true"
    )


def test_hik_connect_tags_follow_the_cap1_fields():
    info = replace(
        decode_probe_match(CAP1_BYTES).device_info(),
        support_ezviz_unbind=True,
        ezviz_bind_status=False,
        sadp_version="3.0",
    )
    tags = [tag for tag, _ in tags_of(build_device_match("u", "inquiry", info))]
    assert tags == [*CAP1_TAGS, "supportEzvizUnbind", "EZVIZBindStatus", "SADPVersion"]


# --- round trips for every message kind -------------------------------------------


@pytest.mark.parametrize(
    "probe",
    [
        Probe("U1", ProbeType.INQUIRY),
        Probe("U2", ProbeType.INQUIRY_V32),
        Probe("U3", ProbeType.EXCHANGE_CODE, mac=MAC, code="TUlHZk1BMEdDU3FHU0li"),
        Probe("U4", ProbeType.ACTIVATE, mac=MAC, password="c2VjcmV0"),
        Probe(
            "U5",
            ProbeType.UPDATE,
            mac=MAC,
            password="x" * 88,
            password_salted=True,
            pw_error_parse=True,
            network=NetworkParams(
                ipv4_address="192.0.2.9",
                command_port="8000",
                ipv4_subnet_mask="255.255.255.0",
                ipv4_gateway="192.0.2.1",
                ipv6_address="::",
                ipv6_gateway="::",
                ipv6_mask_len="64",
                dhcp="false",
                http_port="80",
                sdk_over_tls_port="8443",
            ),
        ),
        Probe("U6", ProbeType.SET_HC_PLATFORM, mac=MAC, password="p", hc_platform_enable=False),
        Probe("U7", ProbeType.SET_VERIFICATION_CODE, mac=MAC, password="p", verification_code="AB"),
        Probe("U8", ProbeType.GET_UNBIND_STATUS, mac=MAC),
        Probe("U9", ProbeType.EZVIZ_UNBIND, mac=MAC, password="Demo12345"),
    ],
    ids=lambda p: p.types.value,
)
def test_every_request_kind_round_trips(probe):
    built = check(build_probe, decode_probe, probe)
    assert b"<MAC>58-50-ed-1f-e3-85</MAC>" in built or probe.mac is None


def test_update_request_follows_the_sdk_template_order():
    probe = Probe(
        "U", ProbeType.UPDATE, mac=MAC, password="pw", password_salted=True, pw_error_parse=True,
        network=NetworkParams(ipv4_address="10.0.0.2", command_port="8000",
                              ipv4_subnet_mask="255.0.0.0", ipv4_gateway="10.0.0.1", dhcp="false"),
    )  # fmt: skip
    raw = (
        b'<?xml version="1.0" encoding="utf-8"?><Probe><Uuid>U</Uuid><Types>update</Types>'
        b"<PWErrorParse>true</PWErrorParse><MAC>58-50-ed-1f-e3-85</MAC>"
        b'<Password bSalt="true">pw</Password><IPv4Address>10.0.0.2</IPv4Address>'
        b"<CommandPort>8000</CommandPort><IPv4SubnetMask>255.0.0.0</IPv4SubnetMask>"
        b"<IPv4Gateway>10.0.0.1</IPv4Gateway><DHCP>false</DHCP></Probe>"
    )
    check(build_probe, decode_probe, probe, raw)


@pytest.mark.parametrize(
    ("kwargs", "extra"),
    [
        ({}, []),
        ({"code": "QUJD"}, [("Code", "QUJD")]),
        ({"retry_times": 6}, [("RetryTimes", "6")]),
        (
            {"retry_times": 0, "surplus_lock_time": 30},
            [("RetryTimes", "0"), ("SurplusLockTime", "30")],
        ),
    ],
)
def test_result_replies_round_trip(kwargs, extra):
    built = build_result("U", ProbeType.EZVIZ_UNBIND, Result.PASSWORD_ERROR, **kwargs)
    expected = [("Uuid", "U"), ("Types", "ezvizUnbind"), ("Result", "PasswordError"), *extra]
    assert list(decode_probe_match(built).fields.items()) == expected
    assert built.startswith(b'<?xml version="1.0" encoding="UTF-8"?>\r\n<ProbeMatch>\r\n')


def test_update_reply_repeats_the_device_info_after_the_result():
    info = decode_probe_match(CAP1_BYTES).device_info()
    match = decode_probe_match(build_device_match("U", "update", info, result="success"))
    assert list(match.fields)[:4] == ["Uuid", "Types", "Result", "DeviceType"]
    assert match.result == "success" and match.device_info() == info


@given(info=device_infos(), flase=st.booleans(), uuid=st.uuids().map(str))
def test_device_match_round_trips(info, flase, uuid):
    match = decode_probe_match(build_device_match(uuid, "inquiry", info, flase=flase))
    assert (match.uuid, match.types, match.result) == (uuid, "inquiry", None)
    assert match.device_info() == info


@given(
    info=device_infos(),
    flase=st.booleans(),
    uuid=st.text(max_size=40),
    result=st.none() | st.sampled_from(["success", "failed"]),
)
def test_a_device_match_written_from_its_cached_fields_is_the_element_writers_document(
    info, flase, uuid, result
):
    """Replies reuse each device's written fields across inquiries (an inquiry to
    100,000 devices would otherwise write four million tags): the bytes must be those
    the one XML writer makes of the whole document."""
    head = [el("Uuid", uuid), el("Types", "inquiry")] + ([el("Result", result)] if result else [])
    fields = [
        el(
            tag,
            format_bool(value, flase=flase and tag in FLASE_FIELDS)
            if kind == "bool"
            else _FORMAT[kind](value),
        )
        for tag, attr, kind in _INFO_FIELDS
        if (value := getattr(info, attr)) is not None
    ]
    whole = document(
        el("ProbeMatch", *head, *fields), declaration=xml_declaration("UTF-8"), line_end="\r\n"
    )
    for _ in range(2):  # written, then from the cache
        assert build_device_match(uuid, "inquiry", info, flase=flase, result=result) == whole


@given(probe=probes())
def test_any_request_round_trips(probe):
    check(build_probe, decode_probe, probe)


# --- leniency --------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        b"<Probe><Uuid> u </Uuid><MAC>58-50-ED-1F-E3-85</MAC><Types>EZVIZUNBIND</Types>"
        b"<Password>Demo12345</Password></Probe>",
        b"\xef\xbb\xbf<?xml version='1.0' encoding='utf-8'?>\n<probe>\n  <uuid>u</uuid>\n"
        b"  <mac>5850ed1fe385</mac>\n  <types> ezvizunbind </types>\n"
        b"  <password>Demo12345</password>\n</probe>\n\x00",
        b'<Probe xmlns="urn:x"><Uuid>u</Uuid><MAC>58:50:ed:1f:e3:85</MAC>'
        b"<Types>ezvizUnbind</Types><Password>Demo12345</Password><Extra/></Probe>",
    ],
)
def test_requests_are_read_leniently(raw):
    assert decode_probe(raw) == Probe("u", ProbeType.EZVIZ_UNBIND, mac=MAC, password="Demo12345")


def test_types_spelled_as_real_clients_do():
    for spelling in ("Update", "update", " UPDATE "):
        raw = (
            f"<Probe><Uuid>u</Uuid><Types>{spelling}</Types><MAC>{MAC}</MAC>"
            "<Password>x</Password></Probe>"
        ).encode()
        assert decode_probe(raw).types is ProbeType.UPDATE
    raw = b"<Probe><Uuid>u</Uuid><Types>activate </Types><MAC>ff-ff-ff-ff-ff-fe</MAC>"
    assert decode_probe(raw + b"<Password>p</Password></Probe>").types is ProbeType.ACTIVATE


def test_an_inquiry_with_the_broadcast_mac_is_an_inquiry():
    raw = b"<Probe><Uuid>u</Uuid><MAC>ff-ff-ff-ff-ff-ff</MAC><Types>inquiry_v32</Types></Probe>"
    assert decode_probe(raw) == Probe("u", ProbeType.INQUIRY_V32)


def test_flase_and_numbers_are_read_as_booleans():
    raw = (
        f"<Probe><Uuid>u</Uuid><MAC>{MAC}</MAC><Types>SetHCPlatform</Types>"
        "<HCPlatformEnable>{}</HCPlatformEnable><Password>p</Password></Probe>"
    )
    for text, value in (("flase", False), ("FALSE", False), ("0", False), ("True", True)):
        assert decode_probe(raw.replace("{}", text).encode()).hc_platform_enable is value


# --- refusals ----------------------------------------------------------------------

BOMB = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<Probe><Uuid>&lol3;</Uuid><Types>inquiry</Types></Probe>"""
EXTERNAL = b"""<?xml version="1.0"?>
<!DOCTYPE Probe [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<Probe><Uuid>&xxe;</Uuid><Types>inquiry</Types></Probe>"""
INQUIRY = build_inquiry("u")


@pytest.mark.parametrize(
    "datagram",
    [
        pytest.param(b"", id="empty"),
        pytest.param(BOMB, id="billion-laughs"),
        pytest.param(EXTERNAL, id="external-entity"),
        pytest.param(b'<!DOCTYPE Probe SYSTEM "http://example.invalid/x.dtd">' + INQUIRY[38:],
                     id="dtd"),
        pytest.param(INQUIRY.replace(b"<Uuid>", b"<!-- " + b"x" * MAX_DATAGRAM + b" --><Uuid>"),
                     id="oversize"),
        pytest.param(INQUIRY.replace(b"U</Uuid>", b"\xff\xfe</Uuid>"), id="not-utf8"),
        pytest.param(INQUIRY.decode().encode("utf-16"), id="utf16"),
        pytest.param(INQUIRY[:-3], id="truncated"),
        pytest.param(INQUIRY.replace(b"Probe>", b"Inquiry>"), id="wrong-root"),
        pytest.param(INQUIRY.replace(b"inquiry", b"reboot"), id="unknown-types"),
        pytest.param(INQUIRY.replace(b"<Uuid>U</Uuid>", b""), id="no-uuid"),
        pytest.param(b"<Probe><Uuid>u</Uuid><Types>ezvizUnbind</Types><Password>p</Password>"
                     b"</Probe>", id="action-without-mac"),
        pytest.param(f"<Probe><Uuid>u</Uuid><MAC>{MAC}</MAC><Types>ezvizUnbind</Types>"
                     "</Probe>".encode(), id="unbind-without-password"),
        pytest.param(f"<Probe><Uuid>u</Uuid><MAC>{MAC}</MAC><Types>SetHCPlatform</Types>"
                     "<HCPlatformEnable>maybe</HCPlatformEnable><Password>p</Password>"
                     "</Probe>".encode(), id="bad-boolean"),
        pytest.param(f"<Probe><Uuid>u</Uuid><MAC>{MAC}:00</MAC><Types>getUnbindStatus</Types>"
                     "</Probe>".encode(), id="bad-mac"),
    ],
)  # fmt: skip
def test_refused_datagrams_raise_a_typed_error(datagram):
    with pytest.raises(SadpDecodeError):
        decode_probe(datagram)


def test_every_truncation_of_a_valid_request_is_refused():
    raw = build_probe(Probe("u", ProbeType.EZVIZ_UNBIND, mac=MAC, password="Demo12345"))
    for end in range(len(raw)):
        with pytest.raises(SadpDecodeError):
            decode_probe(raw[:end])


def test_a_probe_match_is_not_a_probe_and_vice_versa():
    with pytest.raises(SadpDecodeError):
        decode_probe(CAP1_BYTES)
    with pytest.raises(SadpDecodeError):
        decode_probe_match(INQUIRY)
    with pytest.raises(SadpDecodeError):
        decode_probe_match(CAP1_BYTES.replace(b"<DHCP>true", b"<DHCP>yes")).device_info()


# --- crypto (§1.4) ------------------------------------------------------------------


@pytest.fixture(scope="module")
def client_key() -> rsa.RSAPrivateKey:
    return sadp_crypto.new_client_key()


def test_key_exchange_round_trip(client_key):
    code = sadp_crypto.encode_public_key(client_key.public_key())
    der = base64.b64decode(code)
    assert der[0] == 0x30 and len(der) in range(135, 145)  # a bare PKCS#1 RSAPublicKey
    random = sadp_crypto.new_random()
    assert len(random) == 32 and random.isascii()
    answer = sadp_crypto.encrypt_random(code, random)
    assert sadp_crypto.decrypt_random(client_key, answer) == random


def test_a_subject_public_key_info_code_is_accepted_too(client_key):
    spki = client_key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    assert sadp_crypto.decode_public_key(base64.b64encode(spki).decode()).key_size == 1024


TRUNCATED_DER = base64.b64encode(b"\x30\x03\x02\x01\x05").decode()


@pytest.mark.parametrize("code", ["", "not base64!", TRUNCATED_DER])
def test_bad_codes_are_refused(code):
    with pytest.raises(sadp_crypto.SadpCryptoError):
        sadp_crypto.encrypt_random(code, sadp_crypto.new_random())


def test_activate_password_layout():
    random = "ABCDEFGHIJKLMNOPqrstuvwxyz012345"
    value = sadp_crypto.encrypt_password(random, "Hik12345!")
    sealed = base64.b64decode(value)
    decryptor = Cipher(algorithms.AES(random[:16].encode()), modes.ECB()).decryptor()
    assert decryptor.update(sealed) + decryptor.finalize() == (
        b"ABCDEFGHIJKLMNOPHik12345!" + b"\x00" * 7
    )
    assert sadp_crypto.decrypt_password(random, value) == "Hik12345!"
    with pytest.raises(sadp_crypto.SadpCryptoError):
        sadp_crypto.decrypt_password(random, "QUJD")


@given(password=st.text(max_size=40), random=st.text("abcdefXYZ0123456789", min_size=16))
def test_activate_password_round_trips(password, random):
    password = password.rstrip("\x00")  # NUL padding cannot be told from a trailing NUL
    encrypted = sadp_crypto.encrypt_password(random, password)
    assert sadp_crypto.decrypt_password(random, encrypted) == password


def test_salted_update_password_layout():
    salt = "d8eebc414effc857bed4c3cc203c8b4413f60b00a9f4acc410084358d5fd3f91"
    value = sadp_crypto.salted_password("Demo12345", salt)
    sealed = base64.b64decode(value)
    assert len(sealed) == 64
    inner = hashlib.sha256(f"admin{salt}Demo12345".encode()).hexdigest()
    k = hashlib.md5(inner.encode()).digest()
    decryptor = Cipher(algorithms.AES(k), modes.ECB()).decryptor()
    assert decryptor.update(sealed) + decryptor.finalize() == k + bytes(48)
    assert sadp_crypto.same_proof(value, sadp_crypto.salted_password("Demo12345", salt))
    assert not sadp_crypto.same_proof(value, sadp_crypto.salted_password("Demo12346", salt))
    assert not sadp_crypto.same_proof("%%%", value)


def test_legacy_update_password_is_base64_of_the_raw_md5():
    assert sadp_crypto.legacy_password("12345") == "gnzLDuqKcGxMNKFokfhOew=="
