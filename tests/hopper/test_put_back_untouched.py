"""A lead handed out that nobody looked at goes back due at once (`HopperLeadSource.put_back`): its dial never
went out, its campaign was paused or stopped, its agent paused. Only an agent's skip (`give_back`) holds it
five minutes. Neither counts an attempt."""

from __future__ import annotations

from hopper_helpers import at, campaign, hopper, row, store
from redis.asyncio import Redis

from dialer.engine.core import DialRequest
from dialer.hopper_source import HopperLeadSource

NOW = at(2024, 5, 15, 12)  # Wednesday noon in New York


def request(t) -> DialRequest:  # type: ignore[no-untyped-def]
    return DialRequest(t.lead_id, t.number_e164, target=t)


async def test_a_lead_put_back_is_due_again_at_once_and_a_skipped_one_five_minutes_later(
        redis: Redis, prefix: str) -> None:
    c = campaign()
    await store(redis, prefix).import_rows(c, [row("2125550142", id="a"), row("2125550143", id="b")], now=NOW)
    h = hopper(redis, c, prefix)
    src = HopperLeadSource(h)
    await h.fill(NOW)
    a, b = await h.take(2, NOW)
    await src.put_back(request(a), NOW + 10)  # the campaign was paused with it on a preview screen
    await src.give_back(request(b), NOW + 10)  # the agent skipped it
    await h.fill(NOW + 20)
    assert [t.lead_id for t in await h.take(5, NOW + 20)] == ["a"]
    again = [t for t in await h.take(5, NOW + 10 + 301) if t.lead_id == "b"]
    if not again:  # a fill first, as the pacer's loop does
        await h.fill(NOW + 10 + 301)
        again = await h.take(5, NOW + 10 + 301)
    assert [t.lead_id for t in again] == ["b"]
    assert (again[0].attempt, a.attempt) == (b.attempt, 1)  # no attempt counted by either
