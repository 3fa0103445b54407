"""Hypothesis strategies for SADP messages, well-formed and hostile."""

from __future__ import annotations

from datetime import datetime
from xml.sax.saxutils import escape

from hypothesis import strategies as st

from nvrsim.protocols.sadp import DeviceInfo, NetworkParams, Probe, ProbeType

# Text that survives XML and our lenient strip: no controls, surrogates or
# non-characters, and no surrounding whitespace.
xml_text = st.text(
    st.characters(codec="utf-8", exclude_categories=("Cc", "Cs", "Cn")), max_size=24
).map(str.strip)
ascii_word = st.text(st.sampled_from("abcdefghijklmnopqrstuvwxyzABCDEF0123456789-_."), min_size=1)
macs = st.binary(min_size=6, max_size=6).map(lambda b: ":".join(f"{x:02x}" for x in b))
# Locally administered (02:…) so no generated fleet device ever has one.
foreign_macs = st.binary(min_size=5, max_size=5).map(
    lambda b: "02:" + ":".join(f"{x:02x}" for x in b)
)
small_ints = st.integers(0, 2**31 - 1)
boot_times = st.datetimes(datetime(1970, 1, 1), datetime(2099, 12, 31)).map(
    lambda t: t.replace(microsecond=0)
)


@st.composite
def device_infos(draw) -> DeviceInfo:
    hc_tags = draw(st.booleans())
    return DeviceInfo(
        device_type=draw(small_ints),
        description=draw(xml_text),
        serial=draw(xml_text),
        command_port=draw(st.integers(1, 65535)),
        http_port=draw(st.integers(1, 65535)),
        mac=draw(macs),
        ipv4_address=draw(st.ip_addresses(v=4).map(str)),
        ipv4_subnet_mask=draw(st.ip_addresses(v=4).map(str)),
        ipv4_gateway=draw(st.ip_addresses(v=4).map(str)),
        ipv6_address=draw(st.ip_addresses(v=6).map(str)),
        ipv6_gateway=draw(st.ip_addresses(v=6).map(str)),
        ipv6_mask_len=draw(st.integers(0, 128)),
        dhcp=draw(st.booleans()),
        analog_channels=draw(st.integers(0, 256)),
        digital_channels=draw(st.integers(0, 256)),
        software_version=draw(xml_text),
        dsp_version=draw(xml_text),
        boot_time=draw(boot_times),
        encrypt=draw(st.booleans()),
        reset_ability=draw(st.booleans()),
        disks=draw(st.integers(0, 64)),
        activated=draw(st.booleans()),
        password_reset_ability=draw(st.booleans()),
        password_reset_mode_second=draw(st.booleans()),
        detail_oem_code=draw(small_ints),
        support_security_question=draw(st.booleans()),
        support_hc_platform=draw(st.booleans()),
        hc_platform_enable=draw(st.booleans()),
        is_modify_verification_code=draw(st.booleans()),
        salt=draw(st.text("0123456789abcdef", min_size=64, max_size=64)),
        device_lock=draw(st.booleans()),
        sdk_over_tls_port=draw(st.integers(1, 65535)),
        sdk_server_status=draw(st.booleans()),
        sdk_over_tls_server_status=draw(st.booleans()),
        support_mailbox=draw(st.booleans()),
        support_ezviz_unbind=draw(st.booleans()) if hc_tags else None,
        ezviz_bind_status=draw(st.booleans()) if hc_tags else None,
        sadp_version=draw(st.sampled_from(["3.0", "3.0,3.1", "3.1"])) if hc_tags else None,
    )


network_params = st.builds(
    NetworkParams,
    **{
        name: st.none() | xml_text
        for name in (
            "ipv4_address",
            "command_port",
            "ipv4_subnet_mask",
            "ipv4_gateway",
            "ipv6_address",
            "ipv6_gateway",
            "ipv6_mask_len",
            "dhcp",
            "http_port",
            "sdk_over_tls_port",
        )
    },
)


@st.composite
def probes(draw, mac=macs) -> Probe:
    """Any request a client may send, with exactly the fields its Types carries."""
    types = draw(st.sampled_from(list(ProbeType)))
    fields: dict = {"uuid": draw(ascii_word), "types": types}
    if types.is_inquiry:
        return Probe(**fields)
    fields["mac"] = draw(mac)
    if types is ProbeType.EXCHANGE_CODE:
        fields["code"] = draw(ascii_word)
    if types not in (ProbeType.EXCHANGE_CODE, ProbeType.GET_UNBIND_STATUS):
        fields["password"] = draw(xml_text)
    if types is ProbeType.UPDATE:
        fields["password_salted"] = draw(st.booleans())
        fields["pw_error_parse"] = draw(st.booleans())
        fields["network"] = draw(network_params)
    if types is ProbeType.SET_HC_PLATFORM:
        fields["hc_platform_enable"] = draw(st.booleans())
    if types is ProbeType.SET_VERIFICATION_CODE:
        fields["verification_code"] = draw(xml_text)
    return Probe(**fields)


_TAGS = [
    "Uuid", "Types", "MAC", "Password", "Code", "HCPlatformEnable", "VerificationCode",
    "IPv4Address", "IPv4SubnetMask", "DHCP", "PWErrorParse",
]  # fmt: skip
_ANY_TAG = st.sampled_from(_TAGS) | st.from_regex(r"[A-Za-z][A-Za-z0-9]{0,10}", fullmatch=True)
_ACTION_TYPES = [t.value for t in ProbeType if not t.is_inquiry] + ["reboot", "getcode", "hello"]


@st.composite
def random_xml(draw) -> bytes:
    """Probe-like documents that must get no answer: odd roots, odd Types, foreign MACs."""
    root = draw(st.sampled_from(["Probe", "Probe", "Probe", "probe", "ProbeMatch"]) | ascii_word)
    # Mostly a plausible head, so the rest of the document reaches the responder.
    head = [
        ("Uuid", draw(ascii_word)),
        ("Types", draw(st.sampled_from(_ACTION_TYPES))),
        ("MAC", draw(foreign_macs)),
        ("Password", draw(xml_text)),
    ]
    head = head[: draw(st.sampled_from([4, 4, 3, 2, 1, 0]))]
    children = draw(
        st.lists(
            st.tuples(_ANY_TAG, st.sampled_from(_ACTION_TYPES) | foreign_macs | xml_text),
            max_size=12,
        )
    )
    body = "".join(f"<{tag}>{escape(text)}</{tag}>" for tag, text in head + children)
    prolog = draw(st.sampled_from(['<?xml version="1.0" encoding="utf-8"?>', ""]))
    return f"{prolog}<{root}>{body}</{root}>".encode()
