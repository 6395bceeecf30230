"""A follow-up written into a campaign where the lead is in flight (taken: being dialed, or on a confirmation
agent's preview screen) keeps its in-flight state there and waits in it (state field `fu`); that dial's result
schedules it (the earlier of it and the result's own next step). Before, the follow-up wiped the state and
queued the lead while it was in flight, and that dial's result then dropped it from the queue: the second
order was never confirmed."""

from __future__ import annotations

from hopper_helpers import at, campaign, hopper, store
from redis.asyncio import Redis

from dialer.hopper.views import S
from dialer.policy import DialResult

DAY1 = at(2025, 6, 3, 12)
DAY2_10 = at(2025, 6, 4, 10)
DAY3_10 = at(2025, 6, 5, 10)
FOLLOW = [{"on": "sale", "campaign": "confirm", "next_day_at": "10:00"}]


async def _second_order_while_confirming(redis: Redis, prefix: str):  # type: ignore[no-untyped-def]
    tv = campaign("tv", kind="cold", require_consent=False, follow_ups=FOLLOW)
    fiber = campaign("fiber", kind="cold", require_consent=False, follow_ups=FOLLOW)
    conf = campaign("confirm", kind="confirmation")
    st = store(redis, prefix)
    # the CRM's ids: the same person has the same lead id in both offers' campaigns; the fiber list has their home
    # number (with the same number, the fiber campaign could not call them while the confirmation has it out)
    await st.import_rows(tv, [{"mobile": "+12125550123", "id": "a"}], now=DAY1)
    await st.import_rows(fiber, [{"mobile": "+12125550124", "id": "a"}], now=DAY1)
    htv, hfi, hc = hopper(redis, tv, prefix), hopper(redis, fiber, prefix), hopper(redis, conf, prefix)
    await htv.fill(DAY1)
    (t1,) = await htv.take(1, DAY1)
    await htv.record_result(t1, DialResult("live", "sale"), DAY1 + 300)  # type: ignore[arg-type]  # TV sold
    await hc.fill(DAY2_10)
    (c1,) = await hc.take(1, DAY2_10)  # the TV order's confirmation, on a confirmation agent's screen
    await hfi.fill(DAY2_10 + 60)
    (t2,) = await hfi.take(1, DAY2_10 + 60)
    await hfi.record_result(t2, DialResult("live", "sale"), DAY2_10 + 300)  # type: ignore[arg-type]  # fiber sold
    state = await st.lead_state("confirm", "a")
    assert float(state[S.FOLLOW_UP]) == DAY3_10  # pending in the in-flight state, which is kept
    assert state[S.TAKEN_INDEX] == "0"
    assert (await hc.explain("a", DAY2_10 + 300))["where"] == {"queue": "in flight", "since": DAY2_10}
    assert (await hc.fill(DAY2_10 + 310)).moved == 0  # not queued while in flight: no second take
    return st, hc, c1


async def test_a_follow_up_made_while_the_lead_is_in_flight_there_survives_that_dial(
        redis: Redis, prefix: str) -> None:
    st, hc, c1 = await _second_order_while_confirming(redis, prefix)
    await hc.record_result(c1, DialResult("live", "confirmed"), DAY2_10 + 600)  # type: ignore[arg-type]
    # the number that take had out is free, though the follow-up wrote the lead with the fiber list's number
    assert await redis.get(f"{prefix}:out:+12125550123") is None
    where = (await hc.explain("a", DAY2_10 + 600))["where"]
    assert where == {"queue": "retry", "at": DAY3_10}, "the fiber order's confirmation was dropped"
    state = await st.lead_state("confirm", "a")
    assert S.FINISHED not in state
    assert S.FOLLOW_UP not in state
    fin = {k.decode(): int(v) for k, v in (await redis.hgetall(f"{prefix}:c:confirm:fin")).items() if int(v)}
    assert fin == {}  # the first confirmation did not finish the lead: it is due again for the second


async def test_an_earlier_retry_of_that_dial_comes_first(redis: Redis, prefix: str) -> None:
    st, hc, c1 = await _second_order_while_confirming(redis, prefix)
    await hc.record_result(c1, DialResult("no_answer"), DAY2_10 + 600)  # type: ignore[arg-type]
    where = (await hc.explain("a", DAY2_10 + 600))["where"]
    assert where["queue"] == "retry"
    assert where["at"] <= DAY3_10
    assert S.FOLLOW_UP not in await st.lead_state("confirm", "a")
