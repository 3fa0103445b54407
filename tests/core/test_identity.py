import uuid

from hypothesis import given
from hypothesis import strategies as st

from nvrsim.simulator.core import identity


@given(st.text())
def test_a_devices_uuid_is_uuid5_of_its_serial_in_nvrsims_namespace(serial):
    assert identity.device_uuid(serial) == uuid.uuid5(identity._NAMESPACE, serial)


def test_the_same_serial_always_gives_the_same_uuid():
    # pinned: `--state` directories and clients' records know devices by these
    serial = "DS-2CD2385G1-I20200414AAWRE338421500"
    assert str(identity.device_uuid(serial)) == "902b633b-691d-5c71-b0d2-eec5fcbea4a4"
