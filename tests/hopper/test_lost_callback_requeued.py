"""A due callback taken and never reported (an engine crash, its preview left on an agent's screen past
`inflight_timeout_s`) is recovered as a lost attempt that is still a callback: back in the callbacks, due
after the lost delay, at its time and for its agent, so the base-contact rule (callbacks are exempt) does not
hold the person off for 60 days although they asked to be called back."""

from __future__ import annotations

from hopper_helpers import at, campaign, hopper, store
from redis.asyncio import Redis

from dialer.hopper.views import S
from dialer.policy import DialResult

NUMBER = "+12125550123"
NOW = at(2025, 6, 3, 12)  # a Tuesday noon in New York
PROMISED = at(2025, 6, 4, 15)  # the next day, 15:00
LOST_DELAY = 2 * 3600.0  # the default "lost" retry delay


async def _lost_callback(redis: Redis, prefix: str, agent: str | None, **over: object):  # type: ignore[no-untyped-def]
    c = campaign("c1", **over)  # base_upsell: the base-contact rule, 60 days
    st = store(redis, prefix)
    await st.import_rows(c, [{"mobile": NUMBER, "id": "a"}], now=NOW)
    h = hopper(redis, c, prefix)
    await h.fill(NOW)
    (t,) = await h.take(1, NOW)
    await h.record_result(t, DialResult("live", "callback", callback_at=PROMISED, callback_agent=agent),  # type: ignore[arg-type]
                          NOW + 120)
    if agent is None:
        (cb,) = await h.take(1, PROMISED)
    else:
        cb = (await h.take_own_callbacks([agent], PROMISED))[agent]
    assert cb.is_callback
    recovered_at = PROMISED + 3601  # the dial never reports; an hour later a fill recovers it as lost
    assert (await h.fill(recovered_at)).recovered == 1
    return h, st, cb, recovered_at


async def test_a_lost_callback_is_still_a_callback(redis: Redis, prefix: str) -> None:
    h, st, cb, recovered_at = await _lost_callback(redis, prefix, None)
    state = await st.lead_state("c1", "a")
    assert float(state[S.CB_AT]) == PROMISED  # its time is kept
    assert state.get(S.FINISHED) is None
    where = (await h.explain("a", recovered_at))["where"]
    assert where == {"queue": "callback", "at": recovered_at + LOST_DELAY, "kept_for": None}
    assert await h.take(1, recovered_at + LOST_DELAY - 60) == []  # not before the lost delay
    later = recovered_at + LOST_DELAY + 60  # 18:01 the same day: inside hours
    again = await h.take(1, later)
    assert [(t.lead_id, t.is_callback, t.callback_at) for t in again] == [("a", True, PROMISED)]
    assert again[0].attempt == cb.attempt + 1  # the lost dial counted as an attempt


async def test_a_lost_callback_stays_with_its_agent(redis: Redis, prefix: str) -> None:
    h, _st, _cb, recovered_at = await _lost_callback(redis, prefix, "ann")
    later = recovered_at + LOST_DELAY + 60
    assert await h.take(1, later) == []  # kept for ann, not the pacer's
    assert [c.lead_id for c in await h.own_callbacks("ann")] == ["a"]
    mine = await h.take_own_callbacks(["ann"], later)
    assert mine["ann"].is_callback
    assert mine["ann"].callback_agent == "ann"


async def test_a_lost_callback_at_the_attempt_cap_is_still_a_callback(redis: Redis, prefix: str) -> None:
    # the callback's take was the last attempt the campaign allows: callbacks are exempt from the cap
    h, _st, _cb, recovered_at = await _lost_callback(redis, prefix, None, retry={"max_attempts_total": 2})
    later = recovered_at + LOST_DELAY + 60
    assert [t.lead_id for t in await h.take(1, later)] == ["a"]


async def test_the_real_result_of_a_lost_callback_takes_its_place(redis: Redis, prefix: str) -> None:
    h, st, cb, recovered_at = await _lost_callback(redis, prefix, None)
    await h.record_result(cb, DialResult("live", "sale"), recovered_at + 60)  # type: ignore[arg-type]
    state = await st.lead_state("c1", "a")
    assert state.get(S.FINISHED) == "sale"
    assert int(state[S.ATTEMPTS]) == cb.attempt  # the lost attempt's place, not another one
    assert await h.scheduled_callbacks() == []
