"""A release of a gone run's takes that fails part way (`Hopper.release_dead_takes`) strands nothing: a `settle` that
raises, or a lost dial's record that fails, leaves the dials not ended yet to the next release, and the recovery of a
fill records a gone run's dial with a call id lost once it is twice `inflight_timeout_s` old (the next AMI connect,
the only other release, may be days away)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest
from hopper_helpers import at, campaign, store
from redis.asyncio import Redis

from dialer.errors import StateStoreError
from dialer.hopper import Hopper
from dialer.hopper.hopper import DeadDial
from dialer.policy.contact import ContactPolicy

NOW = at(2025, 6, 3, 12)  # a Tuesday noon in New York
TIMEOUT = campaign("c1").hopper.inflight_timeout_s


def run(redis: Redis, prefix: str, run_id: str) -> Hopper:
    c = campaign("c1")
    return Hopper(redis, c, ContactPolicy(c), prefix=prefix, run_id=run_id)


async def dead_dials(redis: Redis, prefix: str, ids: str) -> list[Any]:
    rows = [{"mobile": f"+1212555{i:04d}", "id": lid} for i, lid in enumerate(ids)]
    await store(redis, prefix).import_rows(campaign("c1"), rows, now=NOW)
    dead = run(redis, prefix, "dead")
    await dead.fill(NOW)
    targets = await dead.take(len(ids), NOW)
    await dead.note_calls([(t, f"c1-{i}-{t.lead_id * 6}") for i, t in enumerate(targets)])
    return targets


async def nothing_settled(dials: Sequence[DeadDial]) -> set[str]:
    return set()


async def test_a_lost_record_that_fails_leaves_the_dials_not_ended_to_the_next_release(redis: Redis,
                                                                                       prefix: str) -> None:
    (a, b) = await dead_dials(redis, prefix, "ab")
    nxt = run(redis, prefix, "next")
    record = nxt._record
    calls = 0

    async def blip_once(*args: Any, **kw: Any) -> bool:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise StateStoreError("redis blip")
        return await record(*args, **kw)

    nxt._record = blip_once  # type: ignore[method-assign]
    with pytest.raises(StateStoreError):
        await nxt.release_dead_takes(NOW + 90, settle=nothing_settled)
    nxt._record = record  # type: ignore[method-assign]
    again = await nxt.release_dead_takes(NOW + 95, settle=nothing_settled)  # at the next AMI connect
    assert (again.lost, again.released) == (2, 2)
    for t in (a, b):
        info = await nxt.explain(t.lead_id, NOW + 95)
        assert (info["where"]["queue"], info["last_outcome"]) == ("retry", "no_answer")


async def test_a_settle_that_raises_leaves_its_dials_to_the_recovery_after_twice_the_timeout(redis: Redis,
                                                                                            prefix: str) -> None:
    (a,) = await dead_dials(redis, prefix, "a")

    async def settle(dials: Sequence[DeadDial]) -> set[str]:
        raise StateStoreError("reading the call record timed out")

    nxt = run(redis, prefix, "next")
    with pytest.raises(StateStoreError):
        await nxt.release_dead_takes(NOW + 90, settle=settle)
    within = NOW + 2 * TIMEOUT - 1
    await nxt.fill(within)  # still the release's, should the AMI connect again soon
    assert (await nxt.explain(a.lead_id, within))["where"] == {"queue": "in flight", "since": NOW}
    past = NOW + 2 * TIMEOUT + 1
    await nxt.fill(past)
    info = await nxt.explain(a.lead_id, past)
    assert (info["where"]["queue"], info["attempts"], info["last_outcome"]) == ("retry", 1, "no_answer")


async def test_a_dial_being_settled_is_not_recovered_by_a_fill_meanwhile(redis: Redis, prefix: str) -> None:
    (a,) = await dead_dials(redis, prefix, "a")
    nxt = run(redis, prefix, "next")
    late = NOW + 3 * TIMEOUT  # restarted long after the crash
    seen: list[Any] = []

    async def settle(dials: Sequence[DeadDial]) -> set[str]:
        await nxt.fill(late)  # the pacer's fill while Asterisk is asked
        seen.append((await nxt.explain(a.lead_id, late))["where"])
        return set()

    done = await nxt.release_dead_takes(late, settle=settle)
    assert seen == [{"queue": "in flight", "since": NOW}]
    assert done.lost == 1
