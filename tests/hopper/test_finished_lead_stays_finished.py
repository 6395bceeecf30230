"""A lead already finished is done: a recheck, a skip (give_back) or a take's release of it, or a fill that
finds it in a queue, leaves its finish as it is. Before, each finished it a second time: `fin` and its list's
`finished` counted it twice, and its reason was overwritten ("finished"), so `recycle` missed a lead capped.

How a finished lead is still in flight or queued: a finish written between a take and its recheck/skip (the
lost recovery at the last attempt, before takes carried a token), a stale queue entry. The tests write that
state directly."""

from __future__ import annotations

from hopper_helpers import at, campaign, hopper, store
from redis.asyncio import Redis

from dialer.hopper.keys import CampaignKeys
from dialer.hopper.views import S

NOW = at(2025, 6, 3, 12)
REASON = "attempts exhausted"


async def _taken_then_finished(redis: Redis, prefix: str):  # type: ignore[no-untyped-def]
    c = campaign("c1", kind="cold", require_consent=False)
    st = store(redis, prefix)
    await st.import_rows(c, [{"mobile": "+12125550123", "id": "a"}], now=NOW, list_name="vendor")
    h = hopper(redis, c, prefix)
    await h.fill(NOW)
    (t,) = await h.take(1, NOW)
    k = CampaignKeys(prefix, "c1")
    await _finish(redis, k)
    return st, h, t, k


async def _finish(redis: Redis, k: CampaignKeys) -> None:
    await redis.hset(k.state("a"), S.FINISHED, REASON)
    await redis.hincrby(k.fin, REASON, 1)
    await redis.sadd(k.capped, "a")


async def _fin(redis: Redis, k: CampaignKeys) -> dict[str, int]:
    raw = await redis.hgetall(k.fin)
    return {key.decode(): int(v) for key, v in raw.items() if int(v)}


async def test_recheck_of_a_finished_lead_does_not_finish_it_again(redis: Redis, prefix: str) -> None:
    st, h, t, k = await _taken_then_finished(redis, prefix)
    verdict = await h.recheck(t, NOW + 60)
    assert not verdict.ok
    assert verdict.final
    assert await _fin(redis, k) == {REASON: 1}
    assert (await st.lead_state("c1", "a"))[S.FINISHED] == REASON
    assert (await h.explain("a", NOW + 60))["where"] == {"queue": "finished", "reason": REASON}
    assert await redis.zscore(k.i, "a") is None
    (lst,) = await h.lists()
    assert lst.finished == 0  # the test's finish did not count it there; the recheck did not either


async def test_skip_of_a_finished_lead_does_not_queue_or_finish_it_again(redis: Redis, prefix: str) -> None:
    st, h, t, k = await _taken_then_finished(redis, prefix)
    await h.give_back(t, NOW + 60)
    assert await redis.zscore(k.i, "a") is None
    await h.fill(NOW + 600)
    assert await _fin(redis, k) == {REASON: 1}
    assert (await st.lead_state("c1", "a"))[S.FINISHED] == REASON
    (lst,) = await h.lists()
    assert lst.finished == 0


async def test_a_fill_drops_a_finished_leads_queue_entry(redis: Redis, prefix: str) -> None:
    c = campaign("c1", kind="cold", require_consent=False)
    st = store(redis, prefix)
    await st.import_rows(c, [{"mobile": "+12125550123", "id": "a"}], now=NOW, list_name="vendor")
    h = hopper(redis, c, prefix)
    k = CampaignKeys(prefix, "c1")
    await _finish(redis, k)
    report = await h.fill(NOW)
    assert report.finished == {}
    assert report.moved == 0
    assert await _fin(redis, k) == {REASON: 1}
    assert (await st.lead_state("c1", "a"))[S.FINISHED] == REASON
    zones = "|".join((await h.explain("a", NOW))["zones"])
    assert await redis.zscore(k.fresh(zones), "a") is None  # the stale entry is gone
    (lst,) = await h.lists()
    assert lst.finished == 0
    assert (await h.recycle(NOW + 60)).revived == 1  # still found as capped, its reason kept
