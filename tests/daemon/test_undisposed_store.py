"""The stored form of a late disposition's chance (`dialer.undisposed_store`): what a restart reads back."""

from __future__ import annotations

from types import MappingProxyType

import pytest

from dialer.engine.records import Undisposed
from dialer.hopper.types import DialTarget
from dialer.undisposed_store import StoredUndisposed, decode, encode


def test_a_chance_with_its_hopper_target_and_screen_pop_reads_back_equal():
    target = DialTarget("upsell", "L42", "+442075550123", 1, 3, MappingProxyType({"first_name": "Dana"}),
                        callback_agent="a1", is_callback=True, zones=("Europe/London",),
                        numbers=("+447400123456", "+442075550123"), region="GB-SCT")
    late = Undisposed("c-7", "upsell", 1_795_000_900.0, 1_795_000_007.5, False, target)
    pop = {"call_id": "c-7", "lead": {"first_name": "Dana"}}
    got = decode(encode(late, pop))
    assert got == StoredUndisposed(late, pop)
    assert got.late.target == target


def test_a_chance_without_a_hopper_target_keeps_none():
    late = Undisposed("c-8", "upsell", 10.0, None, True, target=object())  # another lead source's target
    assert decode(encode(late, None)) == StoredUndisposed(Undisposed("c-8", "upsell", 10.0, None, True, None))


@pytest.mark.parametrize("raw", ["", "[]", '{"call_id": "c"}', '{"call_id": "c", "campaign_id": "x", "until": "soon",'
                                 ' "amd_audit": false}'])
def test_anything_else_is_refused_with_what_is_wrong(raw):
    with pytest.raises(ValueError, match="not a stored late disposition"):
        decode(raw)
