"""A follow-up waiting in the state of a lead in flight (field `fu`, see test_follow_up_in_flight_pending) is
kept when the lead leaves flight finished by the policy instead of by a result: a recheck on the preview
screen, or a later fill, meets a final block (here the attempt cap, lowered meanwhile). Before, the lead was
finished and the follow-up (a second order to confirm) was never called; now the lead starts afresh at the
follow-up's time, as a result finishing it does."""

from __future__ import annotations

from typing import Any

from hopper_helpers import at, campaign, hopper, store
from redis.asyncio import Redis

from dialer.hopper import Hopper, LeadStore
from dialer.hopper.types import DialTarget
from dialer.hopper.views import S
from dialer.policy import DialResult

DAY1 = at(2025, 6, 3, 12)
DAY2_10 = at(2025, 6, 4, 10)
DAY2_13 = at(2025, 6, 4, 13)
DAY3_10 = at(2025, 6, 5, 10)
FOLLOW = [{"on": "sale", "campaign": "confirm", "next_day_at": "10:00"}]


def _confirm(**over: Any) -> Any:
    return campaign("confirm", kind="confirmation", **over)


async def _second_order_on_screen(redis: Redis, prefix: str) -> tuple[LeadStore, Hopper, DialTarget]:
    tv = campaign("tv", kind="cold", require_consent=False, follow_ups=FOLLOW)
    fiber = campaign("fiber", kind="cold", require_consent=False, follow_ups=FOLLOW)
    st = store(redis, prefix)
    await st.import_rows(tv, [{"mobile": "+12125550123", "id": "a"}], now=DAY1)
    await st.import_rows(fiber, [{"mobile": "+12125550124", "id": "a"}], now=DAY1)
    htv, hfi, hc = hopper(redis, tv, prefix), hopper(redis, fiber, prefix), hopper(redis, _confirm(), prefix)
    await htv.fill(DAY1)
    (t1,) = await htv.take(1, DAY1)
    await htv.record_result(t1, DialResult("live", "sale"), DAY1 + 300)  # type: ignore[arg-type]  # TV sold
    await hc.fill(DAY2_10)
    (c1,) = await hc.take(1, DAY2_10)
    await hc.record_result(c1, DialResult("no_answer"), DAY2_10 + 60)  # type: ignore[arg-type]
    await hc.fill(DAY2_13)
    (c2,) = await hc.take(1, DAY2_13)  # the TV order's confirmation, second try, on an agent's screen
    await hfi.fill(DAY2_13 + 60)
    (t2,) = await hfi.take(1, DAY2_13 + 60)
    await hfi.record_result(t2, DialResult("live", "sale"), DAY2_13 + 300)  # type: ignore[arg-type]  # fiber sold
    assert float((await st.lead_state("confirm", "a"))[S.FOLLOW_UP]) == DAY3_10  # waits in the in-flight state
    return st, hc, c2


async def _started_afresh(redis: Redis, prefix: str, st: LeadStore, hc: Hopper, now: float) -> None:
    state = await st.lead_state("confirm", "a")
    assert S.FINISHED not in state, "the second order's confirmation was dropped"
    assert S.FOLLOW_UP not in state
    assert (await hc.explain("a", now))["where"] == {"queue": "retry", "at": DAY3_10}
    assert (await hc.status(now)).finished_by_reason == {}


async def test_a_recheck_finishing_the_lead_keeps_the_waiting_follow_up(redis: Redis, prefix: str) -> None:
    st, hc, c2 = await _second_order_on_screen(redis, prefix)
    capped = hopper(redis, _confirm(retry={"max_attempts_total": 1}), prefix)  # the cap lowered meanwhile
    verdict = await capped.recheck(c2, DAY2_13 + 400)  # the agent presses Dial
    assert (verdict.ok, verdict.final) == (False, True)
    await _started_afresh(redis, prefix, st, hc, DAY2_13 + 400)
    await hc.fill(DAY3_10)
    assert [t.lead_id for t in await hc.take(1, DAY3_10)] == ["a"]


async def test_a_fill_finishing_a_skipped_lead_keeps_the_waiting_follow_up(redis: Redis, prefix: str) -> None:
    st, hc, c2 = await _second_order_on_screen(redis, prefix)
    await hc.give_back(c2, DAY2_13 + 400)  # the agent skips it: no result, the follow-up still waits
    capped = hopper(redis, _confirm(retry={"max_attempts_total": 1}), prefix)
    await capped.fill(DAY2_13 + 800)
    await _started_afresh(redis, prefix, st, hc, DAY2_13 + 800)
