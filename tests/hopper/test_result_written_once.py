"""A dial's result is written once per take, whatever the retries and whoever else ends the take.

The daemon writes a result again while Redis does not answer (`HopperLeadSource`, `until_stored`). A try
whose script ran but whose reply was lost (Redis timed out after running it) was then applied twice: two
attempts for one dial, two dials against the daily cap, the outcome counted twice. The write now checks in
its script that the target is still the lead's take and ends it, so a second application writes nothing.
The same check settles a result racing the lost-take recovery: the result read the lead while in flight,
the recovery counted the take as lost, and the result's write then counted the dial a second time over it;
it now reads again and takes the lost attempt's place."""

from __future__ import annotations

from typing import Any

from hopper_helpers import at, campaign, hopper, store
from hopper_races import WriteRace
from redis.asyncio import Redis

from dialer.engine.records import CallRecord
from dialer.errors import StateStoreError
from dialer.hopper import Hopper
from dialer.hopper.views import S
from dialer.hopper_source import HopperLeadSource
from dialer.policy import ContactPolicy, DialResult
from dialer.policy.types import DialResult as Result

NOW = at(2025, 6, 3, 10)


def _campaign() -> Any:
    return campaign("c1", kind="cold", require_consent=False, hopper={"inflight_timeout_s": 600},
                    retry={"max_attempts_per_day": 2})


class ReplyLost(Hopper):
    """A hopper whose first result write runs in Redis and then times out, as a lost reply does."""

    lost = 1

    async def record_result(self, target: Any, result: Result, now: float) -> bool:
        written = await super().record_result(target, result, now)
        if self.lost:
            self.lost -= 1
            raise StateStoreError("Redis did not answer within 10 s while recording the result of lead a")
        return written


def _no_answer(lead_id: str) -> CallRecord:
    return CallRecord(call_id="c1", campaign_id="c1", lead_id=lead_id, number="+12125550123", attempt=1,
                      outcome="no_answer", abandoned=False, created_at=NOW, originated_at=NOW, answered_at=None,
                      human_at=None, connected_at=None, ended_at=NOW + 30, agent_id=None, amd_status=None,
                      dial_status="NOANSWER", hangup_cause=19, wait_s=None, talk_s=None)


async def test_a_result_retried_after_its_reply_was_lost_counts_one_attempt(redis: Redis, prefix: str) -> None:
    c = _campaign()
    st = store(redis, prefix)
    await st.import_rows(c, [{"mobile": "+12125550123", "id": "a"}], now=NOW)
    h = ReplyLost(redis, c, ContactPolicy(c), prefix=prefix)
    source = HopperLeadSource(h, retry_s=0.0, max_retry_s=0.0)
    await source.depth(NOW)  # fills
    (req,) = await source.take(1, NOW)
    await source.record_result(_no_answer("a"), req.target, NOW + 30)  # written, reply lost, written again
    assert h.lost == 0
    state = await st.lead_state("c1", "a")
    assert (state[S.ATTEMPTS], state[S.ATTEMPTS_DAY]) == ("1", "1"), "one dial counted twice"
    assert (await h.outcome_counts())["outcome:no_answer"] == 1
    assert [x.dials for x in await h.lists()] == [1]
    explained = await h.explain("a", NOW + 3 * 3600)
    assert explained["attempts_today"] == 1
    assert explained["verdict"]["dialable"], "the daily cap of 2 is not reached by one dial"


async def test_the_same_result_given_twice_writes_once(redis: Redis, prefix: str) -> None:
    c = _campaign()
    st = store(redis, prefix)
    await st.import_rows(c, [{"mobile": "+12125550123", "id": "a"}], now=NOW)
    h = hopper(redis, c, prefix)
    await h.fill(NOW)
    (t,) = await h.take(1, NOW)
    await h.record_result(t, DialResult("no_answer"), NOW + 30)  # type: ignore[arg-type]
    due = (await h.explain("a", NOW + 40))["where"]
    assert not await h.record_result(t, DialResult("no_answer"), NOW + 90)  # type: ignore[arg-type]
    assert (await st.lead_state("c1", "a"))[S.ATTEMPTS] == "1"
    assert (await h.explain("a", NOW + 100))["where"] == due  # not moved either


async def test_a_result_racing_the_lost_take_recovery_takes_the_lost_attempts_place(
        redis: Redis, prefix: str) -> None:
    c = _campaign()
    st = store(redis, prefix)
    await st.import_rows(c, [{"mobile": "+12125550123", "id": "a"}], now=NOW)
    race = WriteRace(redis)
    h = hopper(race, c, prefix)  # type: ignore[arg-type]
    other = hopper(redis, c, prefix)  # another daemon's fill, recovering takes older than 600 s
    await h.fill(NOW)
    (t,) = await h.take(1, NOW)

    async def recovered() -> None:
        assert (await other.fill(NOW + 700)).recovered == 1

    race.arm(recovered)
    await h.record_result(t, DialResult("live", "sale"), NOW + 700)  # type: ignore[arg-type]  # a long call
    assert race.raced == 1
    state = await st.lead_state("c1", "a")
    assert (state[S.ATTEMPTS], state.get(S.LOST), state.get(S.FINISHED)) == ("1", None, "sale")
    counts = await h.outcome_counts()
    assert (counts.get("outcome:no_answer", 0), counts["outcome:live"]) == (0, 1), "the dial counted twice"


async def test_a_late_real_result_leaves_the_leads_next_take_in_flight(redis: Redis, prefix: str) -> None:
    c = campaign("c1", kind="cold", require_consent=False, hopper={"inflight_timeout_s": 600},
                 retry={"delays_s": {"lost": 0}})  # a take recovered as lost is due again at once
    st = store(redis, prefix)
    await st.import_rows(c, [{"mobile": "+12125550123", "id": "a"}], now=NOW)
    h = hopper(redis, c, prefix)
    await h.fill(NOW)
    (first,) = await h.take(1, NOW)
    assert (await h.fill(NOW + 700)).recovered == 1
    (second,) = await h.take(1, NOW + 700)
    assert await h.record_result(first, DialResult("busy"), NOW + 710)  # type: ignore[arg-type]  # the real one
    assert (await h.explain("a", NOW + 710))["where"] == {"queue": "in flight", "since": NOW + 700}
    assert await h.record_result(second, DialResult("no_answer"), NOW + 760)  # type: ignore[arg-type]
    assert (await st.lead_state("c1", "a"))[S.ATTEMPTS] == "2"
