"""A do-not-call disposition written by the hopper is final across all campaigns, as the daemon's request is.

Subscriber S7 is in the operator's base with mobile M and home H. Campaign ua has K1 (S7, M); campaign ub has N4
(H, a list without the account column); campaign uc has K9 (S7, a third number X). A dnc disposition on K1 (or
on N4, which the base makes the same person) puts every number of S7 on the global list (M, H, X), finishes S7's
leads in every campaign at once (not left to be refused at every fill), and a later base import that stops giving
H to S7 does not lift the block on N4. What the hopper queues for that is kept in Redis with the result, so a
failure after the result's write is completed by the next fill.
"""

from __future__ import annotations

import pytest
from hopper_helpers import at, campaign, hopper, store
from redis.asyncio import Redis

import dialer.hopper.hopper as hopper_module
from dialer.errors import StateStoreError
from dialer.hopper import DialTarget, Hopper, LeadStore
from dialer.policy import DialResult

M, H, X = "+12125550141", "+12125550142", "+12125550143"
NOW = at(2025, 6, 3, 12)  # a Tuesday noon in New York
DNC = "do not call"


async def _world(redis: Redis, prefix: str) -> tuple[Hopper, Hopper, Hopper, LeadStore]:
    a, b, c = campaign("ua"), campaign("ub"), campaign("uc")
    s = store(redis, prefix)
    await s.import_rows(a, [{"mobile": M, "id": "K1", "subscriber_id": "S7"}], now=NOW)
    await s.import_rows(b, [{"home": H, "id": "N4"}], now=NOW)
    await s.import_rows(c, [{"mobile": X, "id": "K9", "subscriber_id": "S7"}], now=NOW)
    assert (await s.import_base_rows([{"subscriber_id": "S7", "mobile": M, "home": H}])).current == 1
    return hopper(redis, a, prefix), hopper(redis, b, prefix), hopper(redis, c, prefix), s


async def _take(h: Hopper, now: float) -> DialTarget:
    await h.fill(now)
    (t,) = await h.take(1, now)
    return t


async def _finished(s: LeadStore, campaign_id: str, lead_id: str) -> str | None:
    return (await s.lead_state(campaign_id, lead_id)).get("fn")


async def test_a_dnc_disposition_lists_every_number_of_the_subscriber_and_finishes_their_leads(
        redis: Redis, prefix: str) -> None:
    ha, hb, hc, s = await _world(redis, prefix)
    assert await ha.record_result(await _take(ha, NOW), DialResult("live", "dnc"), NOW + 60)  # type: ignore[arg-type]
    assert [await s.is_dnc(n) for n in (M, H, X)] == [True, True, True]
    assert await _finished(s, "uc", "K9") == DNC  # at once, not left to be refused at every fill
    assert (await hc.status(NOW + 120)).finished_by_reason == {DNC: 1}
    # the base stops giving H to S7 (a recycled number, an export error): N4 stays off, H is on the list
    await s.import_base_rows([{"subscriber_id": "S7", "home": H, "status": "former"}])
    await hb.fill(NOW + 86400)
    assert await hb.take(1, NOW + 86400) == []


async def test_a_dnc_disposition_on_a_number_the_base_lists_reaches_the_subscribers_leads(
        redis: Redis, prefix: str) -> None:
    _ha, hb, _hc, s = await _world(redis, prefix)
    assert await hb.record_result(await _take(hb, NOW), DialResult("live", "dnc"), NOW + 60)  # type: ignore[arg-type]
    assert [await s.is_dnc(n) for n in (M, H, X)] == [True, True, True]
    assert [await _finished(s, cid, lid) for cid, lid in (("ua", "K1"), ("uc", "K9"))] == [DNC, DNC]


async def test_a_late_dnc_disposition_reaches_every_number_too(redis: Redis, prefix: str) -> None:
    ha, _hb, _hc, s = await _world(redis, prefix)
    t = await _take(ha, NOW)
    await ha.record_result(t, DialResult("live", "other"), NOW + 60)  # type: ignore[arg-type]  # wrap-up ran out
    await ha.amend_result(t, DialResult("live", "dnc"), NOW + 600)  # type: ignore[arg-type]
    assert [await s.is_dnc(n) for n in (M, H, X)] == [True, True, True]
    assert await _finished(s, "uc", "K9") == DNC


async def test_what_redis_did_not_take_after_the_result_is_done_by_the_next_fill(
        redis: Redis, prefix: str, monkeypatch: pytest.MonkeyPatch) -> None:
    ha, _hb, hc, s = await _world(redis, prefix)
    t = await _take(ha, NOW)
    real = hopper_module.subscriber_dnc

    async def away(*args: object, **kwargs: object) -> object:
        raise StateStoreError("Redis did not answer")

    monkeypatch.setattr(hopper_module, "subscriber_dnc", away)
    # the result is written (the person is marked: S7's leads are refused at their next check); the rest waits
    assert await ha.record_result(t, DialResult("live", "dnc"), NOW + 60)  # type: ignore[arg-type]
    assert [await s.is_dnc(n) for n in (H, X)] == [False, False]
    monkeypatch.setattr(hopper_module, "subscriber_dnc", real)
    await hc.fill(NOW + 120)  # any campaign's fill
    assert [await s.is_dnc(n) for n in (M, H, X)] == [True, True, True]
    assert await _finished(s, "uc", "K9") == DNC
    assert await redis.hlen(f"{prefix}:dncs") == 0  # done: nothing left for the next fills
