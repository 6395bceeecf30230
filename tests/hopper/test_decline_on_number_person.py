"""A refusal's decline suppression (`declined_offer:<offer>`, `decline_suppress_days`) is written on every person
the lead is, as a contact and a DNC are: its own (`subscriber:<id>`), each number's `number:<e164>`, and the
subscriber the base lists for a number. A second campaign selling the same offer, whose list knows the person by
the same mobile without the account column, does not offer it again within the days. Each subject keeps the later
of its own end and the refusal's (a longer signal is not shortened)."""

from __future__ import annotations

from hopper_helpers import at, campaign, hopper, store
from redis.asyncio import Redis

from dialer.hopper import Hopper, LeadStore
from dialer.policy import Block, DialResult

M = "+12125550161"
NOW = at(2024, 3, 4, 12)
DAY = 86400.0
KIND = "declined_offer:fiber"


async def _refused(redis: Redis, prefix: str, *, b_is_base: bool, signals: bool = False) -> tuple[Hopper, LeadStore]:
    a = campaign("fa", offer="fiber")
    b = campaign("fb", offer="fiber", counts_as_base=b_is_base)  # a second wave of the offer, another export
    s = store(redis, prefix)
    await s.import_rows(a, [{"mobile": M, "id": "K1", "subscriber_id": "S9"}], now=NOW - 3 * DAY, list_name="crm")
    await s.import_rows(b, [{"mobile": M, "id": "X1"}], now=NOW - 3 * DAY, list_name="export")
    ha = hopper(redis, a, prefix)
    await ha.fill(NOW)
    (t,) = await ha.take(1, NOW)
    if signals:  # while the call is up: longer declines from the CRM
        await s.suppress(f"number:{M}", KIND, NOW + 365 * DAY)
        await s.suppress("subscriber:S9", KIND, None)  # until lifted
    await ha.record_result(t, DialResult("live", "refused"), NOW)  # type: ignore[arg-type]
    return hopper(redis, b, prefix), s


async def _verdict(h: Hopper, lead_id: str, now: float) -> Block | None:
    await h.fill(now)
    got = await h.take(5, now)
    if got:
        return None
    return Block((await h.explain(lead_id, now))["verdict"]["block"])


async def test_the_refusal_is_written_on_the_number_person(redis: Redis, prefix: str) -> None:
    _hb, s = await _refused(redis, prefix, b_is_base=True)
    until = NOW + 90 * DAY
    assert await s.suppressions("subscriber:S9") == {KIND: until}
    assert await s.suppressions(f"number:{M}") == {KIND: until}


async def test_the_same_offer_is_not_made_again_after_the_base_contact_hold(redis: Redis, prefix: str) -> None:
    hb, _s = await _refused(redis, prefix, b_is_base=True)
    assert await _verdict(hb, "X1", at(2024, 5, 13, 12)) is Block.SUPPRESSED  # day 70: 62-day hold over


async def test_the_same_offer_is_not_made_again_the_next_day_outside_the_base(redis: Redis, prefix: str) -> None:
    hb, _s = await _refused(redis, prefix, b_is_base=False)
    assert await _verdict(hb, "X1", NOW + DAY) is Block.SUPPRESSED
    assert await _verdict(hb, "X1", NOW + 91 * DAY) is None  # the decline's days are over


async def test_a_longer_suppression_is_kept(redis: Redis, prefix: str) -> None:
    _hb, s = await _refused(redis, prefix, b_is_base=False, signals=True)
    assert await s.suppressions(f"number:{M}") == {KIND: NOW + 365 * DAY}
    assert await s.suppressions("subscriber:S9") == {KIND: float("inf")}
