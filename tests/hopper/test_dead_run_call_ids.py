"""A predictive dial's take keeps the call id once the daemon placed it (`Hopper.note_calls`), and a restart hands
the gone run's dials with one to the caller's `settle` (which ends them by the call's answer mark) before it records
the rest lost (`Hopper.release_dead_takes`): what `settle` ends is left to the caller to write, what it does not is
recorded lost as before. The first fill of a restart more than `inflight_timeout_s` after the crash (before the first
AMI connect) leaves those dials to that release rather than recovering them as lost no-answers."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from hopper_helpers import at, campaign, store
from redis.asyncio import Redis

from dialer.hopper import Hopper
from dialer.hopper.hopper import DeadDial
from dialer.hopper.views import S
from dialer.policy.contact import ContactPolicy

NOW = at(2025, 6, 3, 12)  # a Tuesday noon in New York


def run(redis: Redis, prefix: str, run_id: str) -> Hopper:
    c = campaign("c1")
    return Hopper(redis, c, ContactPolicy(c), prefix=prefix, run_id=run_id)


async def leads(redis: Redis, prefix: str, ids: str) -> None:
    rows = [{"mobile": f"+1212555{i:04d}", "id": lid} for i, lid in enumerate(ids)]
    await store(redis, prefix).import_rows(campaign("c1"), rows, now=NOW)


async def test_the_call_id_is_kept_on_the_take_it_was_placed_for_only(redis: Redis, prefix: str) -> None:
    await leads(redis, prefix, "ab")
    dead = run(redis, prefix, "dead")
    await dead.fill(NOW)
    (a, b) = await dead.take(2, NOW)
    other = run(redis, prefix, "other")
    stale = replace(a, taken_at=NOW - 1)
    assert await other.note_calls([(b, "c1-2-bbbbbb")]) == 0  # not that run's take
    assert await dead.note_calls([(stale, "c1-1-000000")]) == 0  # not that take
    assert await dead.note_calls([(a, "c1-1-aaaaaa")]) == 1
    st = store(redis, prefix)
    assert (await st.lead_state("c1", a.lead_id))[S.DIALED] == "c1-1-aaaaaa"
    assert (await st.lead_state("c1", b.lead_id))[S.DIALED] == "1"


async def test_a_dead_runs_dials_with_a_call_id_go_to_settle_the_rest_are_recorded_lost(redis: Redis,
                                                                                      prefix: str) -> None:
    await leads(redis, prefix, "abc")
    dead = run(redis, prefix, "dead")
    await dead.fill(NOW)
    (marked, unmarked, unnoted) = await dead.take(3, NOW)
    await dead.note_calls([(marked, "c1-1-aaaaaa"), (unmarked, "c1-2-bbbbbb")])
    handed: list[Sequence[DeadDial]] = []

    async def settle(dials: Sequence[DeadDial]) -> set[str]:
        handed.append(dials)
        return {"c1-1-aaaaaa"}  # its answer mark ended it; the other one has none

    nxt = run(redis, prefix, "next")
    done = await nxt.release_dead_takes(NOW + 90, settle=settle)
    [dials] = handed
    assert sorted((d.call_id, d.target.lead_id, d.target.taken_at, d.target.attempt) for d in dials) == [
        ("c1-1-aaaaaa", marked.lead_id, NOW, 1), ("c1-2-bbbbbb", unmarked.lead_id, NOW, 1)]
    assert (done.settled, done.lost, done.released, done.runs) == (1, 2, 3, ("dead",))
    # settled: its result is the caller's to write (the record's, with the take's target); nothing written here
    assert (await nxt.explain(marked.lead_id, NOW + 90))["where"] == {"queue": "in flight", "since": NOW}
    for t in (unmarked, unnoted):
        info = await nxt.explain(t.lead_id, NOW + 90)
        assert (info["where"]["queue"], info["attempts"], info["last_outcome"]) == ("retry", 1, "no_answer")
    again = await nxt.release_dead_takes(NOW + 95, settle=settle)  # at the next AMI connect: not handed again
    assert (again.released, len(handed)) == (0, 1)


async def test_without_settle_a_dial_with_a_call_id_is_recorded_lost(redis: Redis, prefix: str) -> None:
    await leads(redis, prefix, "a")
    dead = run(redis, prefix, "dead")
    await dead.fill(NOW)
    (t,) = await dead.take(1, NOW)
    await dead.note_calls([(t, "c1-1-aaaaaa")])
    done = await run(redis, prefix, "next").release_dead_takes(NOW + 90)
    assert (done.settled, done.lost) == (0, 1)


async def test_the_first_fill_after_a_long_death_leaves_dials_with_a_call_id_to_the_release(redis: Redis,
                                                                                          prefix: str) -> None:
    await leads(redis, prefix, "ab")
    dead = run(redis, prefix, "dead")
    await dead.fill(NOW)
    (noted, unnoted) = await dead.take(2, NOW)
    await dead.note_calls([(noted, "c1-1-aaaaaa")])
    later = NOW + campaign("c1").hopper.inflight_timeout_s + 60  # restarted an hour after the crash
    nxt = run(redis, prefix, "next")
    await nxt.fill(later)  # the pacer's first depth read, before AMI is connected
    assert (await nxt.explain(noted.lead_id, later))["where"] == {"queue": "in flight", "since": NOW}
    assert (await nxt.explain(unnoted.lead_id, later))["last_outcome"] == "no_answer"  # no call id: lost
