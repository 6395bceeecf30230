"""A re-import keeps each number's own time zone. With an address zone (a `timezone` column or a `timezone_by`
map) the lead's zones are the address's plus each number placed in one zone; the stored lead used to give
every number back the combined set, so a re-import (decode, merge, encode) saw no number placed in one zone
and shrank the zones to the address's: a Los Angeles landline of a New York address was then called at
06:00 Los Angeles time."""

from __future__ import annotations

import json

from hopper_helpers import NY, at, campaign, hopper, store
from redis.asyncio import Redis

from dialer.hopper.keys import CampaignKeys
from dialer.hopper.views import text
from dialer.leads.model import SEP, decode_header
from dialer.policy import DialResult

LA = "America/Los_Angeles"
LA_HOME = "+12135550142"
BOTH = (LA, NY)


async def stored_zones(redis: Redis, prefix: str, lid: str = "L1") -> tuple[str, ...]:
    return decode_header(text(await redis.get(CampaignKeys(prefix, "c1").lead(lid)))).zones


async def test_a_reimported_lead_keeps_its_numbers_zone_and_is_not_called_early(redis: Redis, prefix: str) -> None:
    c = campaign()
    s = store(redis, prefix)
    h = hopper(redis, c, prefix)
    t0 = at(2025, 3, 3, 12)
    await s.import_rows(c, [{"id": "L1", "home": LA_HOME, "timezone": NY, "tariff": "A"}], now=t0)
    assert await stored_zones(redis, prefix) == BOTH
    # the monthly refresh: the same person, a field changed
    rep = await s.import_rows(c, [{"id": "L1", "home": LA_HOME, "timezone": NY, "tariff": "B"}], now=t0 + 86400)
    assert rep.merged == 1
    assert await stored_zones(redis, prefix) == BOTH
    noon = at(2025, 3, 4, 13)
    await h.fill(noon)
    [t] = await h.take(5, noon)
    assert t.zones == BOTH
    await h.record_result(t, DialResult("no_answer"), noon)
    early = at(2025, 3, 5, 9, 1)  # 06:01 in Los Angeles
    await h.fill(early)
    assert await h.take(5, early) == []
    nine_la = at(2025, 3, 5, 9, 0, tz=LA)
    await h.fill(nine_la)
    assert [x.lead_id for x in await h.take(5, nine_la)] == ["L1"]


async def test_a_zone_from_a_field_map_survives_a_reimport(redis: Redis, prefix: str) -> None:
    c = campaign(leads={"timezone_by": {"field": "state", "zones": {"ny": NY}}})
    s = store(redis, prefix)
    t0 = at(2025, 3, 3, 12)
    await s.import_rows(c, [{"id": "L1", "home": LA_HOME, "state": "NY"}], now=t0)
    await s.import_rows(c, [{"id": "L1", "home": LA_HOME, "state": "NY", "tariff": "B"}], now=t0 + 60)
    assert await stored_zones(redis, prefix) == BOTH


async def test_a_lead_stored_without_number_zones_is_placed_again(redis: Redis, prefix: str) -> None:
    """A lead an earlier version stored (no per-number zones), even one a re-import already shrank to the
    address zone, gets its numbers' zones back at the next re-import and moves to that zone set's queue."""
    c = campaign()
    s = store(redis, prefix)
    h = hopper(redis, c, prefix)
    t0 = at(2025, 3, 3, 12)
    await s.import_rows(c, [{"id": "L1", "home": LA_HOME, "timezone": NY, "tariff": "A"}], now=t0)
    k = CampaignKeys(prefix, "c1")
    head, _, body = text(await redis.get(k.lead("L1"))).rpartition(SEP)
    parts = head.split(SEP)
    parts[5] = NY  # as the bug left it: the address zone only, in its queue
    doc = json.loads(body)
    doc.pop("z", None)
    await redis.set(k.lead("L1"), SEP.join(parts) + SEP + json.dumps(doc))
    score = await redis.zscore(k.fresh("|".join(BOTH)), "L1")
    await redis.zrem(k.fresh("|".join(BOTH)), "L1")
    await redis.zadd(k.fresh(NY), {"L1": score})
    await s.import_rows(c, [{"id": "L1", "home": LA_HOME, "timezone": NY, "tariff": "B"}], now=t0 + 60)
    assert await stored_zones(redis, prefix) == BOTH
    assert await redis.zscore(k.fresh(NY), "L1") is None
    early = at(2025, 3, 4, 9, 5)  # 06:05 in Los Angeles
    await h.fill(early)
    assert await h.take(5, early) == []
