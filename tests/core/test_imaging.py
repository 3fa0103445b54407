"""Image settings: an update applies whole or not at all; Restore Defaults forgets them."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nvrsim.simulator.core.imaging import (
    IMAGING_OPTIONS,
    ImagingError,
    ImagingSettings,
    ImagingStore,
)
from tests.conftest import hik_entry, make_fleet

VALUES = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(["ON", "OFF", "AUTO", "on", "", "HIGH"]),
)


@given(st.dictionaries(st.sampled_from([*IMAGING_OPTIONS, "hue"]), VALUES, max_size=4))
def test_an_update_applies_whole_or_changes_nothing(changes):
    store = ImagingStore()
    store.update(1, {"brightness": 10.0})
    try:
        after = store.update(1, changes)
    except ImagingError:
        assert store.get(1) == ImagingSettings(brightness=10.0)
        return
    for name, value in changes.items():
        allowed = IMAGING_OPTIONS[name]
        assert (
            value in allowed if isinstance(allowed[0], str) else allowed[0] <= value <= allowed[1]
        )
        assert getattr(after, name) == value
    assert store.get(1) == after


def test_each_source_has_its_own_settings_and_restore_defaults_forgets_them():
    device = make_fleet(hik_entry()).devices[0]
    device.imaging.update(2, {"ir_cut_filter": "ON", "contrast": 80.0})
    assert (device.imaging.get(1).ir_cut_filter, device.imaging.get(2).ir_cut_filter) == (
        "AUTO",
        "ON",
    )
    with pytest.raises(ImagingError):
        device.imaging.update(2, {"contrast": 100.5})
    device.restore_defaults(0.0)
    assert device.imaging.get(2) == ImagingSettings()
