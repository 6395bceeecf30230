"""A supervisor pauses a lead list (a wrong file, consent in doubt) and resumes it: its leads wait, those also
in a running list do not, due callbacks do not, and a resume brings the waiting ones back at once."""

from __future__ import annotations

import pytest
from hopper_helpers import at, campaign, hopper, row, store
from redis.asyncio import Redis

from dialer.errors import LeadError
from dialer.hopper.keys import CampaignKeys
from dialer.hopper.types import LeadList
from dialer.policy import DialResult

NOW = at(2024, 5, 15, 12)  # Wednesday noon in New York
A1, A2, B1, BOTH = "2125550142", "2125550143", "2125550144", "2125550145"


async def two_lists(redis: Redis, prefix: str):  # type: ignore[no-untyped-def]
    """List "vendor-may" with a1, a2 and "both"; list "base" with b1 and "both" (merged into one lead)."""
    c = campaign()
    s = store(redis, prefix)
    await s.import_rows(c, [row(A1, id="a1"), row(A2, id="a2"), row(BOTH, id="both")], now=NOW,
                        list_name="vendor-may")
    await s.import_rows(c, [row(B1, id="b1"), row(BOTH, id="both")], now=NOW, list_name="base")
    return c, s, hopper(redis, c, prefix)


async def test_a_paused_lists_leads_wait_and_a_lead_also_in_a_running_list_does_not(redis: Redis,
                                                                                     prefix: str) -> None:
    _, _, h = await two_lists(redis, prefix)
    assert await h.lists() == [LeadList("base", 1, False), LeadList("vendor-may", 3, False)]
    assert await h.pause_list("vendor-may", NOW) == LeadList("vendor-may", 3, True)
    await h.fill(NOW)
    assert sorted(t.lead_id for t in await h.take(5, NOW)) == ["b1", "both"]
    got = await h.explain("a1", NOW)
    assert (got["verdict"]["block"], got["verdict"]["detail"]) == ("list paused", "vendor-may")
    assert got["where"]["queue"] == "retry"
    assert await redis.smembers(CampaignKeys(prefix, "c1").parked) == {b"a1", b"a2"}


async def test_a_hopper_whose_every_lead_waits_for_a_paused_list_says_so(redis: Redis, prefix: str) -> None:
    _, _, h = await two_lists(redis, prefix)
    await h.pause_list("vendor-may", NOW)
    await h.pause_list("base", NOW)
    await h.fill(NOW)
    assert await h.take(5, NOW) == []
    st = await h.status(NOW)
    assert (st.state, st.reason) == ("blocked", "all 4 waiting leads are in paused lists: resume one (dialer lists "
                                                "resume) to dial them")


async def test_a_resume_brings_the_waiting_leads_back_at_once(redis: Redis, prefix: str) -> None:
    _, _, h = await two_lists(redis, prefix)
    await h.pause_list("vendor-may", NOW)
    await h.fill(NOW)
    await h.take(5, NOW)
    later = NOW + 600
    listed, released = await h.resume_list("vendor-may", later)
    assert (listed, released) == (LeadList("vendor-may", 3, False), 2)
    await h.fill(later)
    assert sorted(t.lead_id for t in await h.take(5, later)) == ["a1", "a2"]
    assert await redis.scard(CampaignKeys(prefix, "c1").parked) == 0
    assert (await h.resume_list("vendor-may", later))[1] == 0  # nothing more to bring back


async def test_leads_already_in_the_hopper_are_held_when_taken(redis: Redis, prefix: str) -> None:
    _, _, h = await two_lists(redis, prefix)
    await h.fill(NOW)  # all four in the ready queue
    await h.pause_list("base", NOW)
    assert sorted(t.lead_id for t in await h.take(5, NOW)) == ["a1", "a2", "both"]
    assert (await h.explain("b1", NOW))["verdict"]["block"] == "list paused"


async def test_a_pause_made_through_another_daemon_is_seen_within_seconds(redis: Redis, prefix: str) -> None:
    c, _, h = await two_lists(redis, prefix)
    await h.fill(NOW)
    other = hopper(redis, c, prefix)  # another daemon sharing the campaign
    await other.pause_list("vendor-may", NOW)
    assert [t.lead_id for t in await h.take(1, NOW + 1)]  # read 1 s ago: not seen yet, as documented
    taken = await h.take(5, NOW + 6)
    assert all(t.lead_id in ("b1", "both") for t in taken), taken


async def test_a_due_callback_of_a_paused_list_is_still_made(redis: Redis, prefix: str) -> None:
    _, _, h = await two_lists(redis, prefix)
    await h.fill(NOW)
    targets = {t.lead_id: t for t in await h.take(5, NOW)}
    await h.record_result(targets["a1"], DialResult("live", "callback", callback_at=NOW + 1800),  # type: ignore[arg-type]
                          NOW)
    await h.pause_list("vendor-may", NOW)
    assert [t.lead_id for t in await h.take(5, NOW + 1800)] == ["a1"]  # the person asked for it


async def test_a_waiting_lead_imported_again_into_a_running_list_is_due_at_once(redis: Redis, prefix: str) -> None:
    c, s, h = await two_lists(redis, prefix)
    await h.pause_list("vendor-may", NOW)
    await h.fill(NOW)
    await h.take(5, NOW)
    rep = await s.import_rows(c, [row(A1, id="a1")], now=NOW + 60, list_name="june")
    assert rep.merged == 1
    await h.fill(NOW + 60)
    assert [t.lead_id for t in await h.take(5, NOW + 60)] == ["a1"]
    assert await redis.smembers(CampaignKeys(prefix, "c1").parked) == {b"a2"}
    assert [x.name for x in await h.lists()] == ["base", "june", "vendor-may"]


async def test_an_unknown_list_is_refused_naming_the_campaigns_lists(redis: Redis, prefix: str) -> None:
    _, _, h = await two_lists(redis, prefix)
    with pytest.raises(LeadError, match="campaign c1 has no list 'vendor-jun'; its lists: base, vendor-may"):
        await h.pause_list("vendor-jun", NOW)
    with pytest.raises(LeadError, match="no list"):
        await h.resume_list("vendor-jun", NOW)
