"""Leads that reached the attempt cap get another round once a supervisor raises the cap, and only then."""

from __future__ import annotations

from hopper_helpers import at, campaign, hopper, row, store
from redis.asyncio import Redis

from dialer.hopper.keys import CampaignKeys
from dialer.policy import DialResult

NOW = at(2024, 5, 15, 12)  # Wednesday noon in New York
PHONES = ["2125550142", "2125550143", "2125550144"]


async def exhausted(redis: Redis, prefix: str) -> None:
    """Three leads dialed twice each without an answer under a cap of 2 attempts; one of them then answered
    its second call (a contact, finished for that reason)."""
    c = campaign(retry={"max_attempts_total": 2, "delays_s": {"no_answer": 60}})
    await store(redis, prefix).import_rows(c, [row(p, id=f"L{i}") for i, p in enumerate(PHONES)], now=NOW)
    h = hopper(redis, c, prefix)
    for round_ in range(2):
        t = NOW + 120 * round_
        await h.fill(t)
        for target in await h.take(5, t):
            live = round_ == 1 and target.lead_id == "L2"
            await h.record_result(target, DialResult("live" if live else "no_answer",  # type: ignore[arg-type]
                                                     "sale" if live else None), t)


async def test_capped_leads_come_back_only_up_to_a_raised_cap(redis: Redis, prefix: str) -> None:
    await exhausted(redis, prefix)
    same = hopper(redis, campaign(retry={"max_attempts_total": 2}), prefix)
    before = await same.status(NOW + 600)
    assert before.finished_by_reason == {"attempts exhausted": 2, "sale": 1}
    rep = await same.recycle(NOW + 600)
    assert (rep.revived, rep.still_capped, rep.max_attempts_total) == (0, 2, 2)  # the cap was not raised
    raised = hopper(redis, campaign(retry={"max_attempts_total": 3}), prefix)
    rep = await raised.recycle(NOW + 600, batch=1)  # one lead per SCAN step: every step is walked
    assert (rep.revived, rep.still_capped) == (2, 0)
    st = await raised.status(NOW + 600)
    assert st.finished_by_reason == {"sale": 1}  # a contact stays finished
    await raised.fill(NOW + 600)
    got = await raised.take(5, NOW + 600)
    assert sorted((t.lead_id, t.attempt) for t in got) == [("L0", 3), ("L1", 3)]  # the third, last attempt
    for t in got:
        await raised.record_result(t, DialResult("no_answer"), NOW + 600)  # type: ignore[arg-type]
    assert (await raised.status(NOW + 900)).finished_by_reason == {"attempts exhausted": 2, "sale": 1}
    assert (await raised.recycle(NOW + 900)).still_capped == 2


async def test_a_lead_is_explained_where_it_waits_and_why_it_is_not_dialed(redis: Redis, prefix: str) -> None:
    await exhausted(redis, prefix)
    h = hopper(redis, campaign(retry={"max_attempts_total": 3, "delays_s": {"no_answer": 60}}), prefix)
    got = await h.explain("L2", NOW + 600)
    assert (got["where"], got["attempts"], got["last_outcome"]) == ({"queue": "finished", "reason": "sale"}, 2, "sale")
    assert (got["verdict"]["dialable"], got["verdict"]["block"], got["verdict"]["final"]) == (False, "finished", True)
    await h.recycle(NOW + 600)
    got = await h.explain("L0", NOW + 600)
    assert got["where"] == {"queue": "retry", "at": NOW + 600}
    assert (got["verdict"]["dialable"], got["verdict"]["number"]) == (True, "+12125550142")
    late = at(2024, 5, 15, 22)  # 22:00 in New York: outside the calling hours
    v = (await h.explain("L0", late))["verdict"]
    assert (v["dialable"], v["block"], v["not_before"]) == (False, "outside calling hours", at(2024, 5, 16, 9))
    await h.fill(NOW + 600)
    assert (await h.explain("L0", NOW + 600))["where"] == {"queue": "ready"}
    [t, _other] = await h.take(2, NOW + 600)
    assert (await h.explain(t.lead_id, NOW + 601))["where"] == {"queue": "in flight", "since": NOW + 600}


async def test_recycling_reads_the_capped_set_and_walks_older_data_once(redis: Redis, prefix: str) -> None:
    await exhausted(redis, prefix)
    k = CampaignKeys(prefix, "c1")
    assert sorted(await redis.smembers(k.capped)) == [b"L0", b"L1"]  # set as each reached the cap
    await redis.delete(k.capped)  # as a version without the set left them
    raised = hopper(redis, campaign(retry={"max_attempts_total": 3}), prefix)
    assert (await raised.recycle(NOW + 600)).revived == 2  # found by the first recycle's walk
    assert await redis.scard(k.capped) == 0  # revived: out of the set
    assert await redis.exists(k.p + "capix") == 1
    await redis.sadd(k.capped, "L2")  # a stale member (L2 finished with a sale) is dropped, not revived
    rep = await raised.recycle(NOW + 700)
    assert (rep.revived, rep.still_capped, await redis.scard(k.capped)) == (0, 0, 0)
