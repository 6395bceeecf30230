"""A lead given back while Redis is away (an agent's Skip, a dial that never went out, a preview withdrawn) is
given back once Redis is there again, at the source's next use; before, the one try failed and the lead stayed
taken until the lost-take recovery (`inflight_timeout_s`, an hour by default): it was then counted as a dial
that never happened (a lost no-answer against the caps, retried two hours later; a callback that much late)
and its numbers stayed out, undialable by any campaign, all that time."""

from __future__ import annotations

from typing import Any

from hopper_helpers import at, campaign, store
from redis.asyncio import Redis

from dialer.errors import StateStoreError
from dialer.hopper import Hopper
from dialer.hopper.views import S
from dialer.hopper_source import HopperLeadSource
from dialer.policy import ContactPolicy

NOW = at(2025, 6, 3, 10)


class AwayAtFirst(Hopper):
    """A hopper whose first give-backs meet Redis away."""

    away = 1

    async def give_back(self, target: Any, now: float, *, after_s: float = 300.0) -> None:
        if self.away:
            self.away -= 1
            raise StateStoreError("Redis failed while giving lead a back to c1: Connection refused; check the "
                                  "Redis address and the server")
        await super().give_back(target, now, after_s=after_s)


async def _taken(redis: Redis, prefix: str) -> tuple[AwayAtFirst, HopperLeadSource, Any]:
    c = campaign("c1", kind="cold", require_consent=False)
    await store(redis, prefix).import_rows(c, [{"mobile": "+12125550123", "id": "a"}], now=NOW)
    h = AwayAtFirst(redis, c, ContactPolicy(c), prefix=prefix)
    source = HopperLeadSource(h)
    await source.depth(NOW)
    (req,) = await source.take(1, NOW)
    return h, source, req


async def test_a_skip_while_redis_is_away_is_given_back_once_it_is_there(redis: Redis, prefix: str) -> None:
    h, source, req = await _taken(redis, prefix)
    await source.give_back(req, NOW + 10)  # accepted: written when Redis is back
    assert h.away == 0
    assert (await h.explain("a", NOW + 10))["where"]["queue"] == "in flight"
    await source.depth(NOW + 20)  # the pacer's next look at the campaign
    assert (await h.explain("a", NOW + 20))["where"] == {"queue": "retry", "at": NOW + 310}  # the skip's wait
    state = await store(redis, prefix).lead_state("c1", "a")
    assert S.ATTEMPTS not in state
    assert await redis.get(f"{prefix}:out:+12125550123") is None


async def test_a_put_back_while_redis_is_away_is_due_at_once_when_it_is_there(redis: Redis, prefix: str) -> None:
    h, source, req = await _taken(redis, prefix)
    h.away = 2  # the first retry meets it away still
    await source.put_back(req, NOW + 10)
    assert (await source.take(1, NOW + 20)) == []
    assert (await h.explain("a", NOW + 20))["where"]["queue"] == "in flight"
    await source.depth(NOW + 30)  # given back due at once, and the fill found it
    assert (await h.explain("a", NOW + 30))["where"] == {"queue": "ready"}
    assert [r.lead_id for r in await source.take(1, NOW + 30)] == ["a"]
