"""A cold prospect who becomes a current subscriber after the cold import (the nightly base refresh) is not
called with the cold pitch: the policy finishes such a lead when it next looks at it (fill, take), and a
re-import that reports the person removed from the cold list finishes the lead it already has."""

from __future__ import annotations

from hopper_helpers import at, campaign, hopper, store
from redis.asyncio import Redis

from dialer.hopper.keys import CampaignKeys
from dialer.hopper.views import text
from dialer.policy import DialResult

SANDRA, MARK = "+12125550142", "+12125550143"
T0 = at(2025, 3, 3, 12)



async def test_a_prospect_who_became_a_subscriber_is_not_dialed(redis: Redis, prefix: str) -> None:
    c = campaign("c1", kind="cold", require_consent=False)
    s = store(redis, prefix)
    h = hopper(redis, c, prefix)
    rep = await s.import_rows(c, [{"name": "Sandra", "phone": SANDRA}, {"name": "Mark", "phone": MARK}], now=T0)
    assert rep.new == 2
    assert (await s.import_base_rows([{"subscriber_id": "S1001", "mobile": SANDRA}])).current == 1
    t = at(2025, 3, 4, 12)
    await h.fill(t)
    assert [x.number_e164 for x in await h.take(5, t)] == [MARK]
    why = (await h.explain("n12125550142", t))["verdict"]
    assert (why["block"], why["detail"], why["final"]) == ("finished", "current subscriber", True)
    assert text(await redis.hget(CampaignKeys(prefix, "c1").state("n12125550142"), "fn")) == "current subscriber"


async def test_a_prospect_taken_before_the_base_named_them_is_not_dialed(redis: Redis, prefix: str) -> None:
    """In the ready queue when the base refresh came: the take's own check finishes it."""
    c = campaign("c1", kind="cold", require_consent=False)
    s = store(redis, prefix)
    h = hopper(redis, c, prefix)
    await s.import_rows(c, [{"name": "Sandra", "phone": SANDRA}], now=T0)
    t = at(2025, 3, 4, 12)
    await h.fill(t)
    await s.import_base_rows([{"subscriber_id": "S1001", "mobile": SANDRA}])
    assert await h.take(5, t) == []
    assert text(await redis.hget(CampaignKeys(prefix, "c1").state("n12125550142"), "fn")) == "current subscriber"


async def test_a_reimport_removing_a_subscriber_finishes_the_lead_it_has(redis: Redis, prefix: str) -> None:
    c = campaign("c1", kind="cold", require_consent=False)
    s = store(redis, prefix)
    h = hopper(redis, c, prefix)
    await s.import_rows(c, [{"name": "Sandra", "phone": SANDRA}], now=T0)
    await s.import_base_rows([{"subscriber_id": "S1001", "mobile": SANDRA}])
    rep = await s.import_rows(c, [{"name": "Sandra", "phone": SANDRA}], now=T0 + 60)
    assert rep.removed_subscribers == 1
    assert [str(x) for x in rep.skipped] == ["line 1: current subscriber S1001: removed from the cold list"]
    k = CampaignKeys(prefix, "c1")
    assert text(await redis.hget(k.state("n12125550142"), "fn")) == "current subscriber"
    assert await redis.zscore(k.fresh("America/New_York"), "n12125550142") is None
    t = at(2025, 3, 4, 12)
    await h.fill(t)
    assert await h.take(5, t) == []


async def test_a_prospect_who_left_the_base_is_dialed_again_after_a_reimport(redis: Redis, prefix: str) -> None:
    c = campaign("c1", kind="cold", require_consent=False)
    s = store(redis, prefix)
    h = hopper(redis, c, prefix)
    await s.import_rows(c, [{"name": "Sandra", "phone": SANDRA}], now=T0)
    await s.import_base_rows([{"subscriber_id": "S1001", "mobile": SANDRA}])
    t = at(2025, 3, 4, 12)
    await h.fill(t)
    assert await h.take(5, t) == []
    await s.import_base_rows([{"subscriber_id": "S1001", "mobile": SANDRA, "status": "former"}])
    rep = await s.import_rows(c, [{"name": "Sandra", "phone": SANDRA}], now=t + 60)
    assert rep.removed_subscribers == 0
    await h.fill(t + 120)
    [x] = await h.take(5, t + 120)
    assert x.number_e164 == SANDRA
    await h.record_result(x, DialResult("no_answer"), t + 180)


async def test_a_base_campaign_still_dials_subscribers(redis: Redis, prefix: str) -> None:
    c = campaign("c1")
    s = store(redis, prefix)
    h = hopper(redis, c, prefix)
    await s.import_rows(c, [{"phone": SANDRA}], now=T0)
    await s.import_base_rows([{"subscriber_id": "S1001", "mobile": SANDRA}])
    t = at(2025, 3, 4, 12)
    await h.fill(t)
    assert [x.number_e164 for x in await h.take(5, t)] == [SANDRA]
