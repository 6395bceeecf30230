"""The status's count of due callbacks waiting for the agent who kept them (`callbacks_kept_due`, the wallboard's
and `dialer_callbacks_waiting_for_agent`) is exact however many there are: it counted among the first 1,000 due
callbacks only. It reads an index of the callbacks kept for agents, kept with every write that schedules, takes,
moves or hands one to anyone; callbacks scheduled before the index existed are indexed once per campaign."""

from __future__ import annotations

import asyncio

from hopper_helpers import at, campaign, hopper, store
from redis.asyncio import Redis

from dialer.hopper import Hopper
from dialer.hopper.keys import CampaignKeys
from dialer.policy import DialResult

NOW = at(2024, 5, 15, 10)  # Wednesday 10:00 in New York
KEPT, ANYONE = 1010, 20
WAIT = 3000.0  # personal_callback_wait_s


async def _callbacks(redis: Redis, prefix: str) -> Hopper:
    """KEPT callbacks kept for ag1 or ag2 (half for NOW + 1800, half for NOW + 3600) and ANYONE for anyone."""
    c = campaign(personal_callback_wait_s=WAIT, hopper={"target_depth": 2000, "batch": 2000})
    n = KEPT + ANYONE
    await store(redis, prefix).import_rows(c, [{"mobile": f"+1212{2000000 + i:07d}", "id": f"L{i}"}
                                               for i in range(n)], now=NOW)
    h = hopper(redis, c, prefix)
    await h.fill(NOW)
    taken = await h.take(n, NOW)
    assert len(taken) == n
    results = []
    for i, t in enumerate(sorted(taken, key=lambda t: int(t.lead_id[1:]))):
        agent = None if i >= KEPT else ("ag1", "ag2")[i % 2]
        when = NOW + (1800 if i % 4 < 2 else 3600)
        results.append((t, DialResult("live", "callback", callback_at=when, callback_agent=agent)))  # type: ignore[arg-type]
    for j in range(0, n, 100):  # a hundred agents' dispositions at a time
        await asyncio.gather(*(h.record_result(t, r, NOW + 60) for t, r in results[j:j + 100]))
    return h


async def exact(redis: Redis, k: CampaignKeys) -> None:
    """The index of kept callbacks is the callbacks whose state names an agent, at their times."""
    scheduled = {m: sc for m, sc in await redis.zrange(k.cb, 0, -1, withscores=True)}
    pipe = redis.pipeline(transaction=False)
    for lid in scheduled:
        pipe.hget(k.state(lid.decode()), "cbag")
    agents = dict(zip(scheduled, await pipe.execute(), strict=True))
    kept = {m: sc for m, sc in await redis.zrange(k.cbk, 0, -1, withscores=True)}
    assert kept == {lid: sc for lid, sc in scheduled.items() if agents[lid]}


async def test_the_count_of_callbacks_waiting_for_their_agent_is_exact_past_a_thousand(redis: Redis,
                                                                                       prefix: str) -> None:
    h = await _callbacks(redis, prefix)
    st = await h.status(NOW + 3700)  # all due; none of them WAIT late yet
    assert (st.callbacks_due, st.callbacks_kept_due) == (KEPT + ANYONE, KEPT)
    st = await h.status(NOW + 1800 + WAIT)  # those for NOW + 1800 are WAIT late: anyone's now
    assert st.callbacks_kept_due == sum(1 for i in range(KEPT) if i % 4 >= 2)
    # what takes, moves and hands callbacks to anyone does is counted at once
    own = await h.take_own_callbacks(["ag1"], NOW + 3700)
    assert (await h.status(NOW + 3700)).callbacks_kept_due == KEPT - 1
    ag2 = sum(1 for i in range(KEPT) if i % 2)
    assert await h.reassign_callbacks("ag2", None) == ag2  # ag2 left: anyone's
    assert (await h.status(NOW + 3700)).callbacks_kept_due == KEPT - 1 - ag2
    assert await h.move_callback("L2", NOW + 7200, "ag3") == "moved"  # ag1's, now ag3's and not due yet
    assert (await h.status(NOW + 3700)).callbacks_kept_due == KEPT - 2 - ag2
    await h.record_result(own["ag1"], DialResult("live", "callback", callback_at=NOW + 3650,  # type: ignore[arg-type]
                                                 callback_agent="ag1"), NOW + 3600)
    assert (await h.status(NOW + 3700)).callbacks_kept_due == KEPT - 1 - ag2
    k = CampaignKeys(prefix, "c1")
    await exact(redis, k)
    # the pacer takes those WAIT late (anyone's now), gives one back, a recheck releases another
    late = [t for t in await h.take(500, NOW + 1800 + WAIT) if t.callback_agent]
    assert late
    await exact(redis, k)
    await h.give_back(late[0], NOW + 1800 + WAIT)
    await redis.sadd(f"{prefix}:dnc", *late[1].numbers)  # on the list since the take
    assert not (await h.recheck(late[1], NOW + 1800 + WAIT)).ok
    await exact(redis, k)


async def test_callbacks_kept_before_the_index_are_counted_after_one_indexing(redis: Redis, prefix: str) -> None:
    c = campaign(personal_callback_wait_s=WAIT)
    k = CampaignKeys(prefix, c.id)
    # as a version without the index left them: the callbacks and their agents only
    await redis.zadd(k.cb, {f"x{i}": NOW + i for i in range(KEPT + ANYONE)})
    pipe = redis.pipeline(transaction=False)
    for i in range(KEPT):
        pipe.hset(k.state(f"x{i}"), "cbag", "ag9")
    await pipe.execute()
    h = hopper(redis, c, prefix)  # a daemon started on that data
    assert (await h.status(NOW + KEPT + ANYONE)).callbacks_kept_due == KEPT  # all due, none WAIT late
    assert await redis.zcard(k.p + "cbk") == KEPT
