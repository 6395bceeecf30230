"""A lead whose zone set changes (a re-import adds a number in another time zone) while it is in the ready
queue or in flight is written back to its new zone set's queue, which every fill reads (`zk`); zone sets
left out of `zk` by an earlier version are found once by the first fill."""

from __future__ import annotations

from hopper_helpers import at, campaign, hopper, row, store
from redis.asyncio import Redis

from dialer.hopper.keys import CampaignKeys
from dialer.hopper.views import text
from dialer.policy import DialResult

NOW = at(2024, 5, 15, 12)  # Wednesday noon in New York
NY1, LA1 = "2125550142", "4155550123"
BOTH = "America/Los_Angeles|America/New_York"


async def zone_sets(redis: Redis, prefix: str) -> set[str]:
    return {text(z) for z in await redis.smembers(CampaignKeys(prefix, "c1").zk)}


async def test_a_lead_whose_zones_change_while_in_flight_is_dialed_again(redis: Redis, prefix: str) -> None:
    c = campaign()
    s = store(redis, prefix)
    h = hopper(redis, c, prefix)
    await s.import_rows(c, [row(NY1, id="L1")], now=NOW)
    await h.fill(NOW)
    [t] = await h.take(1, NOW)
    # while it rings, the same person is imported again with a second (Los Angeles) number
    rep = await s.import_rows(c, [row(NY1, id="L1", home=LA1)], now=NOW + 60)
    assert rep.merged == 1
    await h.record_result(t, DialResult("busy"), NOW + 120)  # retry in 15 minutes
    assert BOTH in await zone_sets(redis, prefix)
    later = at(2024, 5, 16, 14)
    assert (await h.explain("L1", later))["where"]["queue"] == "retry"
    assert (await h.fill(later)).retries == 1
    [again] = await h.take(5, later)
    assert (again.lead_id, again.attempt, again.zones) == ("L1", 2, tuple(BOTH.split("|")))


async def test_a_lead_whose_zones_change_in_the_ready_queue_is_dialed_again(redis: Redis, prefix: str) -> None:
    c = campaign()
    s = store(redis, prefix)
    h = hopper(redis, c, prefix)
    await s.import_rows(c, [row(NY1, id="L1")], now=NOW)
    await h.fill(NOW)  # L1 in the ready queue
    await s.import_rows(c, [row(NY1, id="L1", home=LA1)], now=NOW + 60)
    [t] = await h.take(1, NOW + 120)
    await h.record_result(t, DialResult("no_answer"), NOW + 180)
    later = at(2024, 5, 16, 14)
    await h.fill(later)
    assert [x.lead_id for x in await h.take(5, later)] == ["L1"]


async def test_a_lead_deferred_at_take_after_its_zones_changed_is_dialed_later(redis: Redis, prefix: str) -> None:
    """The take's own check defers it (outside the new zone's hours) into the new zone set's queue."""
    c = campaign()
    s = store(redis, prefix)
    h = hopper(redis, c, prefix)
    early = at(2024, 5, 15, 10)  # 07:00 in Los Angeles
    await s.import_rows(c, [row(NY1, id="L1")], now=early)
    await h.fill(early)
    await s.import_rows(c, [row(NY1, id="L1", home=LA1)], now=early + 60)
    assert await h.take(1, early + 120) == []  # outside hours in Los Angeles: deferred
    assert (await h.explain("L1", early + 120))["where"] == {"queue": "retry", "at": at(2024, 5, 15, 12)}
    await h.fill(NOW)
    assert [x.lead_id for x in await h.take(5, NOW)] == ["L1"]


async def test_the_first_fill_finds_zone_sets_an_earlier_version_left_out(redis: Redis, prefix: str) -> None:
    c = campaign()
    s = store(redis, prefix)
    await s.import_rows(c, [row(NY1, id="L1")], now=NOW)
    k = CampaignKeys(prefix, "c1")
    # as an earlier version left it: the lead's retry in a queue whose zone set is not in `zk`, no marker
    await redis.zrem(k.fresh("America/New_York"), "L1")
    await redis.zadd(k.due(BOTH), {"L1": NOW})
    await redis.delete(k.zkix)
    h = hopper(redis, c, prefix)
    await h.fill(NOW)
    assert await zone_sets(redis, prefix) == {"America/New_York", BOTH}
    assert await redis.get(k.zkix) is not None
    assert [x.lead_id for x in await h.take(5, NOW)] == ["L1"]
    # done once: a later hopper does not look again
    await redis.zadd(k.due("Europe/London"), {"L1": NOW})
    await hopper(redis, c, prefix).fill(NOW)
    assert "Europe/London" not in await zone_sets(redis, prefix)
