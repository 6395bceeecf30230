"""The pacer's take finds a due callback for anyone behind more than its scan of callbacks kept for agents.

The take looked through the first 1,000 due callbacks (by time) for ones it may hand out; callbacks kept for
agents who are away (for ever with `personal_callback_wait_s = null`, else for that long) are skipped, so with
more of them than that the callbacks for anyone behind them were never taken: the people who asked to be
called back waited for ever, or an hour. The callbacks for anyone are now indexed (`cba`), and the take
reads that index too when its scan is full; callbacks scheduled before the index are indexed once."""

from __future__ import annotations

import pytest
from hopper_helpers import at, campaign, hopper, store
from redis.asyncio import Redis

from dialer.policy import DialResult

NOW = at(2025, 6, 3, 10)
DUE = NOW + 3600
KEPT = 1100  # more than the take's scan (1,000 plus the number asked for)


async def _kept_for_an_absent_agent(redis: Redis, prefix: str, cid: str) -> None:
    """Callbacks kept for agent ann, due before the one for anyone, as `write_plan` leaves them (written
    directly: the test needs many, not their leads' calls)."""
    pipe = redis.pipeline(transaction=False)
    for j in range(KEPT):
        lid = f"k{j}"
        at_j = DUE - 600 + j * 0.1
        pipe.zadd(f"{prefix}:c:{cid}:cb", {lid: at_j})
        pipe.zadd(f"{prefix}:c:{cid}:cbo:ann", {lid: at_j})
        pipe.hset(f"{prefix}:c:{cid}:s:{lid}", mapping={"cbag": "ann", "cbat": repr(at_j)})
    await pipe.execute()


async def test_a_callback_for_anyone_behind_many_kept_ones_is_taken(redis: Redis, prefix: str) -> None:
    c = campaign("c1", kind="cold", require_consent=False, personal_callback_wait_s=None)
    await store(redis, prefix).import_rows(c, [{"mobile": "+12125550123", "id": "z"}], now=NOW)
    h = hopper(redis, c, prefix)
    await h.fill(NOW)
    (t,) = await h.take(1, NOW)
    await h.record_result(t, DialResult("live", "callback", callback_at=DUE), NOW + 60)  # type: ignore[arg-type]
    await _kept_for_an_absent_agent(redis, prefix, "c1")
    got = await h.take(1, DUE + 1)
    assert [(x.lead_id, x.is_callback) for x in got] == [("z", True)], "the callback for anyone starved"


async def test_a_callback_for_anyone_scheduled_before_the_index_is_found_too(redis: Redis, prefix: str) -> None:
    c = campaign("c1", kind="cold", require_consent=False, personal_callback_wait_s=None)
    await store(redis, prefix).import_rows(c, [{"mobile": "+12125550123", "id": "z"}], now=NOW)
    await _kept_for_an_absent_agent(redis, prefix, "c1")
    await redis.zadd(f"{prefix}:c:c1:cb", {"z": DUE})  # an earlier version's callback: in `cb` only
    await redis.hset(f"{prefix}:c:c1:s:z", mapping={"cbat": repr(DUE), "a": "1"})
    got = await hopper(redis, c, prefix).take(1, DUE + 1)
    assert [(x.lead_id, x.is_callback) for x in got] == [("z", True)]


@pytest.mark.parametrize("handed", ["reassigned", "moved"])
async def test_a_callback_handed_to_anyone_behind_many_kept_ones_is_taken(redis: Redis, prefix: str,
                                                                         handed: str) -> None:
    c = campaign("c1", kind="cold", require_consent=False, personal_callback_wait_s=None)
    await store(redis, prefix).import_rows(c, [{"mobile": "+12125550123", "id": "z"}], now=NOW)
    h = hopper(redis, c, prefix)
    await h.fill(NOW)
    (t,) = await h.take(1, NOW)
    kept = DialResult("live", "callback", callback_at=DUE, callback_agent="bob")  # type: ignore[arg-type]
    await h.record_result(t, kept, NOW + 60)
    await _kept_for_an_absent_agent(redis, prefix, "c1")
    if handed == "reassigned":
        assert await h.reassign_callbacks("bob", None) == 1  # bob left: his callbacks go to anyone
    else:
        assert await h.move_callback("z", None, None) == "moved"  # a supervisor gives it to anyone
    got = await h.take(1, DUE + 1)
    assert [(x.lead_id, x.is_callback) for x in got] == [("z", True)]
