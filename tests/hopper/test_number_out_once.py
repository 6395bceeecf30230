"""A number is out under one take at a time, across the campaigns that share the Redis prefix.

Two leads may share a number: the importer merges a row into one lead and only warns that a number also
belongs to another, and with dedup scope "campaign" two campaigns load the same person. Both were taken and
dialed at once: the person got two calls, and the second became an abandon. The take script now marks the
numbers of the lead it takes (`<prefix>:out:<e164>`, with a TTL) and refuses a lead with a number another take
has out; a ready lead waits a minute in its retry queue, a callback stays due. Whatever ends the take deletes
the marks: the result, a give-back (Skip, put back), a recheck or a take that releases the lead, the recovery
of a lost take; the TTL frees a take that nothing ends."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from hopper_helpers import at, campaign, hopper, store
from redis.asyncio import Redis

from dialer.hopper import Hopper, LeadStore
from dialer.hopper.hopper import NUMBER_OUT, NUMBER_OUT_WAIT_S, OUT_TTL_MARGIN_S
from dialer.hopper.types import DialTarget
from dialer.policy import DialResult

NOW = at(2025, 6, 3, 10)
N1, N2, N3 = "+12125550123", "+12125550124", "+12125550125"


def _cold(cid: str, **over: Any) -> Any:
    return campaign(cid, kind="cold", require_consent=False, hopper={"inflight_timeout_s": 600}, **over)


async def _out(redis: Redis, prefix: str, number: str) -> str | None:
    got = await redis.get(f"{prefix}:out:{number}")
    return None if got is None else got.decode()


async def test_two_leads_sharing_a_number_are_not_dialed_at_once(redis: Redis, prefix: str) -> None:
    c = _cold("c1")
    st = store(redis, prefix)
    await st.import_rows(c, [{"mobile": N1, "id": "a"}, {"mobile": N2, "id": "b"}], now=NOW)
    report = await st.import_rows(c, [{"phones": [N1, N2]}], now=NOW)  # no id of its own: merged into a, with b's N2
    assert any("also belong to lead(s) b" in w.reason for w in report.warnings)
    h = hopper(redis, c, prefix)
    await h.fill(NOW)
    (t,) = await h.take(2, NOW)
    assert t.lead_id == "a"
    assert (await h.explain("b", NOW))["where"] == {"queue": "retry", "at": NOW + NUMBER_OUT_WAIT_S}
    assert (await h.status(NOW)).waiting_by_reason == {NUMBER_OUT: 1}
    assert await h.take(1, NOW + 1) == []
    await h.record_result(t, DialResult("no_answer"), NOW + 40)  # type: ignore[arg-type]
    await h.fill(NOW + NUMBER_OUT_WAIT_S)
    assert [x.lead_id for x in await h.take(1, NOW + NUMBER_OUT_WAIT_S)] == ["b"]
    assert (await h.status(NOW + NUMBER_OUT_WAIT_S)).waiting_by_reason == {}


async def test_the_same_number_in_two_campaigns_is_dialed_by_one_at_a_time(redis: Redis, prefix: str) -> None:
    one, two = _cold("one"), _cold("two")
    st = store(redis, prefix)
    for c in (one, two):
        await st.import_rows(c, [{"mobile": N1, "id": "p"}], now=NOW)
    h1, h2 = hopper(redis, one, prefix), hopper(redis, two, prefix)
    await h1.fill(NOW)
    await h2.fill(NOW)
    (t,) = await h1.take(1, NOW)
    assert await _out(redis, prefix, N1) == "one\x1fp"
    assert 0 < await redis.pttl(f"{prefix}:out:{N1}") <= (600 + OUT_TTL_MARGIN_S) * 1000  # the last resort
    assert await h2.take(1, NOW) == []
    await h1.record_result(t, DialResult("busy"), NOW + 20)  # type: ignore[arg-type]
    assert await _out(redis, prefix, N1) is None
    await h2.fill(NOW + NUMBER_OUT_WAIT_S)
    assert [x.lead_id for x in await h2.take(1, NOW + NUMBER_OUT_WAIT_S)] == ["p"]


async def test_a_due_callback_waits_in_place_while_its_number_is_out(redis: Redis, prefix: str) -> None:
    one, two = _cold("one"), _cold("two")
    st = store(redis, prefix)
    for c in (one, two):
        await st.import_rows(c, [{"mobile": N1, "id": "p"}], now=NOW)
    h1, h2 = hopper(redis, one, prefix), hopper(redis, two, prefix)
    await h2.fill(NOW)
    (first,) = await h2.take(1, NOW)
    promised = NOW + 3600
    await h2.record_result(first, DialResult("live", "callback", callback_at=promised), NOW + 60)  # type: ignore[arg-type]
    await h1.fill(promised - 10)
    (t,) = await h1.take(1, promised - 10)  # campaign one calls the person just before the callback is due
    assert await h2.take(1, promised) == []
    assert (await h2.explain("p", promised))["where"] == {"queue": "callback", "at": promised, "kept_for": None}
    await h1.record_result(t, DialResult("no_answer"), promised + 30)  # type: ignore[arg-type]
    (cb,) = await h2.take(1, promised + 31)
    assert cb.is_callback


async def test_an_agents_own_callback_waits_while_its_number_is_out(redis: Redis, prefix: str) -> None:
    one, two = _cold("one"), _cold("two")
    st = store(redis, prefix)
    for c in (one, two):
        await st.import_rows(c, [{"mobile": N1, "id": "p"}], now=NOW)
    h1, h2 = hopper(redis, one, prefix), hopper(redis, two, prefix)
    await h2.fill(NOW)
    (first,) = await h2.take(1, NOW)
    promised = NOW + 3600
    await h2.record_result(first, DialResult("live", "callback", callback_at=promised, callback_agent="ann"),  # type: ignore[arg-type]
                           NOW + 60)
    await h1.fill(promised - 10)
    (t,) = await h1.take(1, promised - 10)
    assert await h2.take_own_callbacks(["ann"], promised) == {}
    await h1.give_back(t, promised + 5)  # campaign one's agent skips the person: the number is free
    assert list(await h2.take_own_callbacks(["ann"], promised + 6)) == ["ann"]


Ending = Callable[[Hopper, LeadStore, DialTarget], Awaitable[Any]]


async def _result(h: Hopper, st: LeadStore, t: DialTarget) -> None:
    await h.record_result(t, DialResult("busy"), NOW + 30)  # type: ignore[arg-type]


async def _skip(h: Hopper, st: LeadStore, t: DialTarget) -> None:
    await h.give_back(t, NOW + 30)


async def _put_back(h: Hopper, st: LeadStore, t: DialTarget) -> None:
    await h.give_back(t, NOW + 30, after_s=0.0)


async def _recheck_refused(h: Hopper, st: LeadStore, t: DialTarget) -> None:
    await st.suppress(f"lead:{h.campaign_id}:{t.lead_id}", "other", None)
    assert not (await h.recheck(t, NOW + 30)).ok


async def _recovered(h: Hopper, st: LeadStore, t: DialTarget) -> None:
    assert (await h.fill(NOW + 700)).recovered == 1


@pytest.mark.parametrize("end", [_result, _skip, _put_back, _recheck_refused, _recovered])
async def test_every_end_of_a_take_frees_its_numbers(redis: Redis, prefix: str, end: Ending) -> None:
    c = _cold("c1")
    st = store(redis, prefix)
    await st.import_rows(c, [{"phones": [N1, N2], "id": "a"}, {"mobile": N3, "id": "z"}], now=NOW)
    h = hopper(redis, c, prefix)
    await h.fill(NOW)
    (t,) = await h.take(1, NOW)
    assert [await _out(redis, prefix, n) for n in (N1, N2)] == ["c1\x1fa", "c1\x1fa"]  # every number of the lead
    await end(h, st, t)
    assert [await _out(redis, prefix, n) for n in (N1, N2)] == [None, None]


async def test_a_take_the_policy_refuses_frees_its_numbers(redis: Redis, prefix: str) -> None:
    c = _cold("c1")
    st = store(redis, prefix)
    await st.import_rows(c, [{"mobile": N1, "id": "a"}], now=NOW)
    h = hopper(redis, c, prefix)
    await h.fill(NOW)
    await st.suppress("lead:c1:a", "other", None)  # between the fill and the take
    assert await h.take(1, NOW) == []
    assert await _out(redis, prefix, N1) is None


async def test_an_ended_take_does_not_free_a_mark_another_take_holds(redis: Redis, prefix: str) -> None:
    one, two = _cold("one"), _cold("two")
    st = store(redis, prefix)
    for c in (one, two):
        await st.import_rows(c, [{"mobile": N1, "id": "p"}], now=NOW)
    h1, h2 = hopper(redis, one, prefix), hopper(redis, two, prefix)
    await h1.fill(NOW)
    (t,) = await h1.take(1, NOW)
    await redis.set(f"{prefix}:out:{N1}", "three\x1fq")  # its mark ran out (TTL); another campaign took it
    await h1.record_result(t, DialResult("busy"), NOW + 30)  # type: ignore[arg-type]
    assert await _out(redis, prefix, N1) == "three\x1fq"
    await h2.fill(NOW + 40)
    assert await h2.take(1, NOW + 40) == []
