"""ISAPI documents and request parsing, without sockets."""

from __future__ import annotations

import base64
import json
import xml.etree.ElementTree as ET

import pytest
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from hypothesis import given
from hypothesis import strategies as st

from nvrsim.protocols import isapi
from nvrsim.strategies.isapi import XML_BOMBS, hostile_bodies

NS = isapi.HIKVISION_NAMESPACE


def _tree(document: bytes) -> ET.Element:
    return ET.fromstring(document)


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


INFO = isapi.DeviceInfo(
    name="Network Video Recorder",
    device_id="6039493e-0663-57ac-b5e7-7462d34d8546",
    description="NVR",
    model="DS-7608NI-K2",
    serial="DS-7608NI-K220200414AAWR123456789",
    mac="58:50:ed:1f:e3:85",
    firmware_version="V4.30.085",
    firmware_released="build 200916",
    encoder_version="V7.3",
    encoder_released="build 190626",
    device_type="NVR",
    recorder=True,
)


def test_device_info_has_a_namespaced_root_and_the_real_child_order():
    document = isapi.device_info(INFO, NS)
    assert document.startswith(b'<?xml version="1.0" encoding="UTF-8"?>\n')
    assert (
        b'<DeviceInfo version="2.0" xmlns="http://www.hikvision.com/ver20/XMLSchema">' in document
    )
    root = _tree(document)
    # pyhik takes tag.split('}')[1] of every child: each must carry the namespace
    assert all(child.tag.startswith("{" + NS + "}") for child in root)
    assert [_local(child.tag) for child in root] == [
        "deviceName", "deviceID", "deviceDescription", "deviceLocation", "systemContact",
        "model", "serialNumber", "macAddress", "firmwareVersion", "firmwareReleasedDate",
        "encoderVersion", "encoderReleasedDate", "bootVersion", "bootReleasedDate",
        "hardwareVersion", "deviceType", "telecontrolID", "supportBeep", "supportVideoLoss",
        "firmwareVersionInfo",
    ]  # fmt: skip
    assert root.find(f"{{{NS}}}supportVideoLoss").text == "true"


def test_newer_namespace_and_manufacturer():
    document = isapi.device_info(
        isapi.DeviceInfo(**{**INFO.__dict__, "manufacturer": "hikvision"}), isapi.ISAPI_NAMESPACE
    )
    root = _tree(document)
    assert root.tag == f"{{{isapi.ISAPI_NAMESPACE}}}DeviceInfo"
    assert _local(root[-1].tag) == "manufacturer"


def test_documents_are_one_element_per_line_like_the_devices():
    lines = isapi.response_status(isapi.NOT_SUPPORT, "/x", NS).decode().splitlines()
    assert lines == [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<ResponseStatus version="2.0" xmlns="{NS}">',
        "<requestURL>/x</requestURL>",
        "<statusCode>4</statusCode>",
        "<statusString>Invalid Operation</statusString>",
        "<subStatusCode>notSupport</subStatusCode>",
        "</ResponseStatus>",
    ]


def test_psia_namespace_is_version_one():
    document = isapi.response_status(isapi.OK, "/x", isapi.PSIA_NAMESPACE)
    assert b'<ResponseStatus version="1.0" xmlns="urn:psialliance-org">' in document


def test_response_status_json():
    document = json.loads(isapi.response_status_json(isapi.BAD_XML_CONTENT, "/ISAPI/x"))
    assert document == {
        "requestURL": "/ISAPI/x",
        "statusCode": 6,
        "statusString": "Invalid Content",
        "subStatusCode": "badXmlContent",
    }


def test_user_check_bodies():
    ok = _tree(isapi.user_check_ok())
    assert (ok.tag, ok.findtext("statusValue"), ok.findtext("statusString")) == (
        "userCheck", "200", "OK"
    )  # fmt: skip
    refused = _tree(isapi.user_check_unauthorized(locked=True, unlock_in=1795, retries_left=0))
    assert [(c.tag, c.text) for c in refused] == [
        ("statusValue", "401"),
        ("statusString", "Unauthorized"),
        ("lockStatus", "lock"),
        ("unlockTime", "1795"),
        ("retryLoginTime", "0"),
    ]


@given(st.text())
def test_any_text_renders_as_well_formed_xml(text):
    document = isapi.response_status(isapi.NOT_SUPPORT, text, NS)
    root = _tree(document)
    assert root.find(f"{{{NS}}}subStatusCode").text == "notSupport"
    json.loads(isapi.response_status_json(isapi.NOT_SUPPORT, text))


def test_event_triggers_as_pyhik_reads_them():
    triggers = [isapi.EventTrigger("VMD", 1), isapi.EventTrigger("VMD", 2, dynamic=True)]
    for wrapped in (False, True):
        root = _tree(isapi.event_triggers(triggers, NS, wrapped=wrapped))
        items = root.iter(f"{{{NS}}}EventTrigger")
        found = [
            (
                t.findtext(f"{{{NS}}}eventType"),
                t.findtext(f"{{{NS}}}videoInputChannelID")
                or t.findtext(f"{{{NS}}}dynVideoInputChannelID"),
                t.findtext(f".//{{{NS}}}notificationMethod"),
            )
            for t in items
        ]
        assert found == [("VMD", "1", "center"), ("VMD", "2", "center")]


def test_alert_is_multi_line_with_the_root_tags_alone():
    alert = isapi.Alert(ip="127.0.0.1", port=80, mac="58:50:ed:00:00:01", channel=1, date_time="t")
    part = isapi.multipart_part(isapi.event_alert(alert, NS))
    head, _, body = part.partition(b"\r\n\r\n")
    assert head.startswith(b"--boundary\r\nContent-Type: application/xml")
    assert int(head.rsplit(b"Content-Length: ", 1)[1]) == len(body) - 2
    lines = body.decode().strip().splitlines()
    assert lines[1].startswith("<EventNotificationAlert ")
    assert lines[-1] == "</EventNotificationAlert>"
    root = _tree(body)
    assert root.findtext(f"{{{NS}}}eventType") == "videoloss"
    assert root.findtext(f"{{{NS}}}eventState") == "inactive"


def test_ezviz_document_follows_the_capture():
    settings = isapi.EzvizSettings(True, False, "litedev.hik-connect.com", "ABCDEF", True)
    root = _tree(isapi.ezviz(settings, isapi.ISAPI_NAMESPACE))
    assert [_local(c.tag) for c in root] == [
        "enabled", "registerStatus", "serverAddress", "verificationCode", "bindStatus"
    ]  # fmt: skip
    assert [c.text for c in root[2]] == ["hostname", "litedev.hik-connect.com"]
    assert root[-1].text == "bind"
    by_ip = _tree(isapi.ezviz(isapi.EzvizSettings(False, False, "10.0.0.1", "", False), NS))
    assert [_local(c.tag) for c in by_ip[2]] == ["addressingFormatType", "ipAddress"]


def test_capabilities_documents():
    caps = _tree(isapi.ezviz_capabilities(NS))
    code = caps.find(f"{{{NS}}}verificationCode")
    assert (code.get("min"), code.get("max")) == ("6", "12")
    net = _tree(isapi.network_capabilities(ezviz=True, ezviz_unbind=False, namespace=NS))
    assert net.findtext(f"{{{NS}}}isSupportEZVIZUnbind") == "false"
    assert net.findtext(f"{{{NS}}}isSupportEZVIZQRcode") == "true"


# ---------------------------------------------------------------- parsing


def test_parsing_ignores_namespaces_prefixes_and_case():
    body = (
        b'<hik:EZVIZ xmlns:hik="urn:x"><hik:Enabled> true </hik:Enabled>'
        b"<undeclared:verificationCode>ABC123</undeclared:verificationCode></hik:EZVIZ>"
    )
    assert isapi.parse_ezviz_update(body) == isapi.EzvizUpdate(True, "ABC123", None)


def test_ezviz_update_server_and_validation():
    body = (
        b"<EZVIZ><serverAddress><addressingFormatType>hostname</addressingFormatType>"
        b"<hostName>dev.hik-connectru.com</hostName></serverAddress></EZVIZ>"
    )
    assert isapi.parse_ezviz_update(body).server == "dev.hik-connectru.com"
    for bad in (
        b"<EZVIZ><enabled>yes</enabled></EZVIZ>",
        b"<EZVIZ><serverAddress><hostName>a b</hostName></serverAddress></EZVIZ>",
        b"<EZVIZ><serverAddress><ipAddress>300.1.1.1</ipAddress></serverAddress></EZVIZ>",
        b"<EZVIZ><serverAddress/></EZVIZ>",
        b"<EZVIZ/>",
        b"<MotionDetection><enabled>true</enabled></MotionDetection>",
        b"",
    ):
        with pytest.raises(isapi.BadXmlContent):
            isapi.parse_ezviz_update(bad)


def test_motion_detection_round_trip():
    document = isapi.motion_detection(enabled=True, namespace=NS)
    assert isapi.parse_motion_detection(document) is True
    with pytest.raises(isapi.BadXmlContent):
        isapi.parse_motion_detection(b"<MotionDetection/>")


@pytest.mark.parametrize("bomb", XML_BOMBS)
def test_xml_bombs_are_refused(bomb):
    with pytest.raises(isapi.IsapiRequestError):
        isapi.parse_xml(bomb)


def test_dtd_and_entities_are_bad_format_not_content():
    with pytest.raises(isapi.BadXmlFormat):
        isapi.parse_xml(XML_BOMBS[0])
    with pytest.raises(isapi.BadXmlFormat):
        isapi.parse_xml(b"<EZVIZ><enabled>true</EZVIZ>")


@given(hostile_bodies)
def test_parsers_raise_only_vendor_errors(body):
    for parse in (
        isapi.parse_xml,
        isapi.parse_ezviz_update,
        isapi.parse_motion_detection,
        isapi.parse_public_key,
        isapi.parse_activate_info,
    ):
        try:
            parse(body)
        except isapi.IsapiRequestError as exc:
            assert exc.status.http_status in (400, 413)


# ---------------------------------------------------------------- activation crypto


def _client_activation(password: str, challenge_key: str, private_key: rsa.RSAPrivateKey) -> bytes:
    """The client half of §2.6, written from the notes, not from the simulator."""
    secret = bytes.fromhex(base64.b64decode(challenge_key).decode())
    random_hex = private_key.decrypt(secret, padding.PKCS1v15()).decode()
    key = bytes.fromhex(random_hex)
    raw = password.encode()
    plain = random_hex[:16].encode() + raw + b"\0" * (-len(raw) % 16 or (0 if raw else 16))
    encryptor = Cipher(algorithms.AES(key), modes.ECB()).encryptor()
    return encryptor.update(plain) + encryptor.finalize()


def test_challenge_and_password_round_trip():
    private_key = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    modulus_hex = format(private_key.public_key().public_numbers().n, "x")
    body = f"<PublicKey><key>{base64.b64encode(modulus_hex.encode()).decode()}</key></PublicKey>"
    modulus = isapi.parse_public_key(body.encode())
    random_hex = "0123456789abcdef" * 2
    challenge_key = isapi.encrypt_challenge(modulus, random_hex)
    ciphertext = _client_activation("Secret12345", challenge_key, private_key)
    field = base64.b64encode(ciphertext.hex().encode()).decode()
    parsed = isapi.parse_activate_info(
        f"<ActivateInfo><password>{field}</password></ActivateInfo>".encode()
    )
    assert isapi.decrypt_activation_password(parsed, random_hex) == "Secret12345"
    with pytest.raises(isapi.BadXmlContent):
        isapi.decrypt_activation_password(parsed, "f" * 32)


@pytest.mark.parametrize(
    "key",
    [
        base64.b64encode(b"abcd").decode(),  # too short
        base64.b64encode(format(2**1023 * 2, "x").encode()).decode(),  # even, too long
        "not base64!",
        base64.b64encode(b"zz" * 128).decode(),  # not hex
    ],
)
def test_bad_public_keys(key):
    with pytest.raises(isapi.BadXmlContent):
        isapi.parse_public_key(f"<PublicKey><key>{key}</key></PublicKey>".encode())
