"""A preview left on screen past `inflight_timeout_s` is recovered as a lost attempt and goes back to the
queues; once due it may be taken again (another agent's preview, a predictive dial). The first agent's
Dial (`Hopper.recheck`) or Skip (`Hopper.give_back`) on that stale take is refused and changes nothing:
before, recheck checked only the contact policy and both agents called the same person."""

from __future__ import annotations

from hopper_helpers import at, campaign, hopper, store
from redis.asyncio import Redis

from dialer.policy import DialResult

NOW = at(2025, 6, 3, 10)
LOST_DELAY = 2 * 3600.0


async def _retaken(redis: Redis, prefix: str):  # type: ignore[no-untyped-def]
    c = campaign("c1", kind="cold", require_consent=False, hopper={"inflight_timeout_s": 600})
    st = store(redis, prefix)
    await st.import_rows(c, [{"mobile": "+12125550123", "id": "a"}], now=NOW)
    h = hopper(redis, c, prefix)
    await h.fill(NOW)
    (on_a,) = await h.take(1, NOW)  # on agent A's preview screen
    recovered = NOW + 700
    assert (await h.fill(recovered)).recovered == 1
    later = recovered + LOST_DELAY + 60
    await h.fill(later)
    (on_b,) = await h.take(1, later)  # the same lead, taken again
    assert on_b.lead_id == on_a.lead_id
    return h, on_a, on_b, later


async def test_a_preview_retaken_after_lost_recovery_is_not_dialed_again(redis: Redis, prefix: str) -> None:
    h, on_a, on_b, later = await _retaken(redis, prefix)
    verdict = await h.recheck(on_a, later + 30)  # A presses Dial
    assert not verdict.ok, "the lead is B's take now; A must not dial the same person"
    assert "taken back after the preview timed out" in verdict.detail
    assert (await h.explain("a", later + 30))["where"] == {"queue": "in flight", "since": later}
    assert (await h.recheck(on_b, later + 30)).ok  # B's take is untouched


async def test_a_stale_skip_leaves_the_new_take_alone(redis: Redis, prefix: str) -> None:
    h, on_a, on_b, later = await _retaken(redis, prefix)
    await h.give_back(on_a, later + 30)  # A presses Skip
    assert (await h.explain("a", later + 30))["where"] == {"queue": "in flight", "since": later}
    assert (await h.recheck(on_b, later + 40)).ok


async def test_a_lost_callback_does_not_pass_the_recheck_while_it_waits_in_the_callbacks(
        redis: Redis, prefix: str) -> None:
    c = campaign("c1", hopper={"inflight_timeout_s": 600})
    st = store(redis, prefix)
    await st.import_rows(c, [{"mobile": "+12125550123", "id": "a"}], now=NOW)
    h = hopper(redis, c, prefix)
    await h.fill(NOW)
    (t,) = await h.take(1, NOW)
    promised = at(2025, 6, 4, 11)
    await h.record_result(t, DialResult("live", "callback", callback_at=promised), NOW + 60)  # type: ignore[arg-type]
    (cb,) = await h.take(1, promised)  # on agent A's preview screen
    recovered = promised + 700
    assert (await h.fill(recovered)).recovered == 1  # back in the callbacks, due after the lost delay
    verdict = await h.recheck(cb, recovered + 60)
    assert not verdict.ok
    where = (await h.explain("a", recovered + 60))["where"]
    assert where["queue"] == "callback"  # still waiting there, unchanged


async def test_a_current_preview_still_passes_and_skips(redis: Redis, prefix: str) -> None:
    c = campaign("c1", kind="cold", require_consent=False, hopper={"inflight_timeout_s": 600})
    st = store(redis, prefix)
    await st.import_rows(c, [{"mobile": "+12125550123", "id": "a"}], now=NOW)
    h = hopper(redis, c, prefix)
    await h.fill(NOW)
    (t,) = await h.take(1, NOW)
    assert (await h.recheck(t, NOW + 30)).ok
    await h.give_back(t, NOW + 40)
    assert (await h.explain("a", NOW + 50))["where"]["queue"] == "retry"
