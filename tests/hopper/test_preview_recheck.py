"""A previewed lead is checked against the whole contact policy again when the agent dials it.

Preview mode takes a lead from the hopper and shows it to an agent, who may read it for minutes. Right
before the dial, `Hopper.recheck` runs the same `ContactPolicy.check` as `take`: a suppression signal, a
cap or an abandon lock that arrived meanwhile refuses the dial, and the lead is released as `take` would
release it (finished, or deferred until it may be dialed).
"""

from __future__ import annotations

import pytest
from hopper_helpers import at, campaign, hopper, row, store
from redis.asyncio import Redis

from dialer.engine.core import DialRequest
from dialer.errors import PolicyViolation
from dialer.hopper.hopper import NUMBER_OUT_WAIT_S
from dialer.hopper_source import HopperLeadSource
from dialer.policy import DialResult
from dialer.policy.types import Block

NOW = at(2024, 5, 15, 12)  # Wednesday noon in New York
NY1, NY2, NY3 = "2125550142", "2125550143", "2125550144"


async def test_a_suppression_or_dnc_arriving_while_on_screen_refuses_and_releases_the_lead(
        redis: Redis, prefix: str) -> None:
    c = campaign()
    s = store(redis, prefix)
    await s.import_rows(c, [row(NY1, id="a", subscriber_id="S1"), row(NY2, id="b"), row(NY3, id="c")], now=NOW)
    h = hopper(redis, c, prefix)
    await h.fill(NOW)
    a, b, cc = await h.take(3, NOW)
    assert (await h.recheck(a, NOW + 60)).ok  # nothing changed: it stays taken
    await s.suppress("subscriber:S1", "trouble_ticket", None)
    await s.add_dnc(["+1" + NY3])
    va = await h.recheck(a, NOW + 120)
    assert (va.ok, va.block, va.final) == (False, Block.SUPPRESSED, False)
    assert "trouble_ticket" in va.detail
    vc = await h.recheck(cc, NOW + 120)
    assert (vc.ok, vc.block, vc.final) == (False, Block.DNC, True)
    assert (await h.recheck(b, NOW + 120)).ok
    st = await h.status(NOW + 120)
    assert st.waiting_by_reason == {"suppressed": 1}
    assert st.finished_by_reason == {"do not call": 1}
    await s.unsuppress("subscriber:S1")
    later = NOW + 2 * 3600  # after the suppression's hourly recheck
    await h.fill(later)
    assert [t.lead_id for t in await h.take(5, later)] == ["a"]  # back once the ticket is closed


async def test_a_previewed_number_waits_for_the_preview_and_another_campaigns_abandon_lock_holds_after(
        redis: Redis, prefix: str) -> None:
    """Another campaign's dial of the number on a preview screen waits until the preview is done (the number is
    out: `scripts._OUT`), so its abandon lock no longer lands while the lead is on screen; it holds after."""
    s = store(redis, prefix)
    pred, prev = campaign("pred", retry={"delays_s": {"abandoned": 0}}), campaign("prev")
    await s.import_rows(pred, [row(NY1)], now=NOW)
    await s.import_rows(prev, [row(NY1)], now=NOW)
    hp, hv = hopper(redis, pred, prefix), hopper(redis, prev, prefix)
    await hp.fill(NOW)
    await hv.fill(NOW)
    [shown] = await hv.take(1, NOW)  # on an agent's preview screen
    assert await hp.take(1, NOW) == []
    await hv.give_back(shown, NOW + 30)  # the agent skips it
    await hp.fill(NOW + NUMBER_OUT_WAIT_S)
    [dialed] = await hp.take(1, NOW + NUMBER_OUT_WAIT_S)
    await hp.record_result(dialed, DialResult("abandoned"), NOW + 90)  # type: ignore[arg-type]
    later = NOW + 400  # the skip's 300 s are over
    await hv.fill(later)
    assert await hv.take(1, later) == []
    assert (await hv.status(later)).waiting_by_reason == {"72-hour lock after an abandoned call": 1}


async def test_a_decline_recorded_meanwhile_by_a_campaign_with_the_same_offer_refuses_the_dial(
        redis: Redis, prefix: str) -> None:
    shown_in = campaign("shown", offer="tv", counts_as_base=False)
    other = campaign("other", offer="tv", counts_as_base=False)
    s = store(redis, prefix)
    # the other campaign has the subscriber's other number (it may not call the one on screen meanwhile)
    await s.import_rows(shown_in, [row(NY1, subscriber_id="S1")], now=NOW)
    await s.import_rows(other, [row(NY2, subscriber_id="S1")], now=NOW)
    hs, ho = hopper(redis, shown_in, prefix), hopper(redis, other, prefix)
    await hs.fill(NOW)
    await ho.fill(NOW)
    [shown] = await hs.take(1, NOW)
    [called] = await ho.take(1, NOW)
    await ho.record_result(called, DialResult("live", "refused"), NOW + 30)  # type: ignore[arg-type]
    v = await hs.recheck(shown, NOW + 60)
    assert (v.ok, v.block) == (False, Block.SUPPRESSED)
    assert "declined_offer:tv" in v.detail


async def test_the_lead_source_says_why_and_what_happens_to_the_lead(redis: Redis, prefix: str) -> None:
    c = campaign()
    s = store(redis, prefix)
    await s.import_rows(c, [row(NY1, id="a", subscriber_id="S1")], now=NOW)
    h = hopper(redis, c, prefix)
    source = HopperLeadSource(h)
    await h.fill(NOW)
    [req] = await source.take(1, NOW)
    await source.recheck(req, NOW + 10)  # passes: nothing raised
    await s.suppress("subscriber:S1", "bill_shock", NOW + 86400)
    with pytest.raises(PolicyViolation, match=r"lead a may not be dialed now: suppressed \(bill_shock\); it went "
                                              r"back to the hopper"):
        await source.recheck(req, NOW + 20)
    await source.recheck(DialRequest("manual-1", "+1" + NY2), NOW)  # not a hopper lead: nothing to check
