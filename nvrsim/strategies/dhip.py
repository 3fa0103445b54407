"""Hypothesis strategies for DHIP (protocols/dhip.py): headers, messages and hostile datagrams."""

from __future__ import annotations

import json

from hypothesis import strategies as st

from nvrsim.protocols import dhip

u32 = st.integers(min_value=0, max_value=0xFFFFFFFF)

headers = st.builds(
    dhip.Header,
    session=u32,
    request_id=u32,
    length=u32,
    total_length=u32,
    reserved1=u32,
    reserved2=u32,
)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)

methods = st.sampled_from([dhip.SEARCH, dhip.SET_CONFIG, "DHDiscover.getVersion", "x"]) | st.text(
    max_size=30
)


@st.composite
def messages(draw) -> bytes:
    """Well-framed DHIP datagrams with any JSON-RPC-ish body."""
    document = {"method": draw(methods), "params": draw(json_values)}
    if draw(st.booleans()):
        document["mac"] = draw(st.text(max_size=20) | st.just(""))
    return dhip.frame(json.dumps(document).encode())


junk = st.one_of(
    st.binary(max_size=200),
    st.binary(max_size=64).map(lambda b: b" \x00\x00\x00DHIP" + b),  # header length wrong
    st.builds(lambda h, b: h + b, st.binary(min_size=32, max_size=32), st.binary(max_size=100)),
    st.binary(max_size=100).map(lambda b: dhip.frame(b)),  # framed, not JSON
    st.binary(max_size=100).map(lambda b: dhip.build_header(len(b) + 10) + b),  # length lies
    st.text(max_size=50).map(lambda t: json.dumps({"method": dhip.SEARCH, "x": t}).encode()),
)
