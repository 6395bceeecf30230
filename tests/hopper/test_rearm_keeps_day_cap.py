"""A re-import past the dedup window re-arms a lead (its total attempts start again) but keeps today's
attempts and the last 24 hours' dials: the daily and 24-hour caps hold the same day."""

from __future__ import annotations

from hopper_helpers import at, campaign, hopper, row, store
from redis.asyncio import Redis

from dialer.policy import DialResult

NY1 = "2125550142"


async def dial_busy(h, t: float, times: int) -> float:  # type: ignore[no-untyped-def]
    for _ in range(times):
        await h.fill(t)
        [x] = await h.take(1, t)
        await h.record_result(x, DialResult("busy"), t + 30)
        t += 20 * 60  # the busy retry is 15 minutes
    return t


async def test_a_reimport_after_the_window_does_not_reset_todays_attempts(redis: Redis, prefix: str) -> None:
    c = campaign(retry={"max_attempts_per_day": 3, "max_attempts_total": 10})
    s = store(redis, prefix)
    h = hopper(redis, c, prefix)
    await s.import_rows(c, [row(NY1, id="L1")], now=at(2024, 4, 1, 9))  # 44 days before: outside the window
    t = await dial_busy(h, at(2024, 5, 15, 10), 3)
    assert (await h.explain("L1", t))["verdict"]["block"] == "daily attempt cap reached"
    rep = await s.import_rows(c, [row(NY1, id="L1")], now=t + 60)  # the same list, loaded again that morning
    assert rep.rearmed == 1
    await h.fill(t + 120)
    assert await h.take(1, t + 120) == [], "dialed a 4th time on 2024-05-15 (cap 3/day)"
    state = await s.lead_state("c1", "L1")
    assert "a" not in state  # the total starts again
    assert (state["dy"], state["ad"]) == ("2024-05-15", "3")  # today's count is kept
    why = await h.explain("L1", t + 120)
    assert (why["attempts"], why["attempts_today"]) == (0, 3)
    assert why["verdict"]["block"] == "daily attempt cap reached"
    assert why["verdict"]["not_before"] == at(2024, 5, 16, 9)
    # the next local day it is dialed again, as a re-armed lead
    tomorrow = at(2024, 5, 16, 9, 30)
    await h.fill(tomorrow)
    [x] = await h.take(1, tomorrow)
    assert (x.lead_id, x.attempt) == ("L1", 1)


async def test_a_finished_lead_rearmed_the_day_it_reached_its_daily_cap_waits_for_tomorrow(
        redis: Redis, prefix: str) -> None:
    c = campaign(retry={"max_attempts_per_day": 3, "max_attempts_total": 3})
    s = store(redis, prefix)
    h = hopper(redis, c, prefix)
    await s.import_rows(c, [row(NY1, id="L1")], now=at(2024, 4, 1, 9))
    t = await dial_busy(h, at(2024, 5, 15, 10), 3)
    assert (await s.lead_state("c1", "L1"))["fn"] == "attempts exhausted"
    rep = await s.import_rows(c, [row(NY1, id="L1")], now=t + 60)
    assert rep.rearmed == 1  # back to fresh: a new round of 3 attempts, from tomorrow
    await h.fill(t + 120)
    assert await h.take(1, t + 120) == [], "dialed a 4th time on 2024-05-15 (cap 3/day)"
    assert (await h.explain("L1", t + 120))["verdict"]["block"] == "daily attempt cap reached"
    tomorrow = at(2024, 5, 16, 9, 30)
    await h.fill(tomorrow)
    [x] = await h.take(1, tomorrow)
    assert (x.lead_id, x.attempt) == ("L1", 1)


async def test_a_rearmed_lead_keeps_its_last_24_hours_dials(redis: Redis, prefix: str) -> None:
    c = campaign(retry={"max_attempts_per_day": 3, "max_attempts_total": 3, "max_attempts_per_24h": 3})
    s = store(redis, prefix)
    h = hopper(redis, c, prefix)
    await s.import_rows(c, [row(NY1, id="L1")], now=at(2024, 4, 1, 9))
    t = await dial_busy(h, at(2024, 5, 15, 10), 3)
    rep = await s.import_rows(c, [row(NY1, id="L1")], now=t + 60)
    assert rep.rearmed == 1
    # a new local day, but not 24 hours since the first of the 3 dials (10:00 yesterday)
    await h.fill(at(2024, 5, 16, 9, 30))
    assert await h.take(1, at(2024, 5, 16, 9, 30)) == []
    assert (await h.explain("L1", at(2024, 5, 16, 9, 30)))["verdict"]["block"] == "24-hour attempt cap reached"
    await h.fill(at(2024, 5, 16, 10, 1))
    [x] = await h.take(1, at(2024, 5, 16, 10, 1))
    assert x.lead_id == "L1"
