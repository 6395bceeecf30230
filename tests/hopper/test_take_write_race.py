"""A write that ends a take checks, in its own script, that the take is still the lead's.

A preview's Skip (`give_back`) and a recheck's release read the lead's take in one round trip and wrote in
another. A lost-take recovery landing between the two (the preview sat past `inflight_timeout_s`), and the
lead taken again at once by another agent or the pacer, slipped through: the stale write took the new take
out of flight and queued the lead, which could then be taken and dialed a third time while the second dial
was up. `WriteRace` runs that recovery and retake right between the read and the write."""

from __future__ import annotations

from hopper_helpers import at, campaign, hopper, store
from hopper_races import WriteRace
from redis.asyncio import Redis

from dialer.hopper import Hopper
from dialer.hopper.types import DialTarget

NOW = at(2025, 6, 3, 10)
LATER = NOW + 700  # past the 600 s in-flight timeout: a fill recovers the first take as lost


async def _preview_and_a_retake(redis: Redis, prefix: str, numbers: list[str]) -> tuple[
        Hopper, Hopper, WriteRace, DialTarget, list[DialTarget]]:
    # lost delay 0: a take recovered as lost is due again at once, for another agent's take
    c = campaign("c1", kind="cold", require_consent=False, hopper={"inflight_timeout_s": 600},
                 retry={"delays_s": {"lost": 0}})
    await store(redis, prefix).import_rows(c, [{"phones": numbers, "id": "a"}], now=NOW)
    race = WriteRace(redis)
    first = hopper(race, c, prefix)  # type: ignore[arg-type]  # agent A's daemon
    other = hopper(redis, c, prefix)
    await first.fill(NOW)
    (on_a,) = await first.take(1, NOW)  # on agent A's preview screen
    retaken: list[DialTarget] = []

    async def recovered_and_retaken() -> None:
        assert (await other.fill(LATER)).recovered == 1
        retaken.extend(await other.take(1, LATER))
        assert [t.lead_id for t in retaken] == ["a"]

    race.arm(recovered_and_retaken)
    return first, other, race, on_a, retaken


async def test_a_skip_racing_a_recovery_leaves_the_new_take_alone(redis: Redis, prefix: str) -> None:
    first, other, race, on_a, retaken = await _preview_and_a_retake(redis, prefix, ["+12125550123"])
    await first.give_back(on_a, LATER)  # A presses Skip; the recovery and B's take land before its write
    assert race.raced == 1
    assert (await other.explain("a", LATER))["where"] == {"queue": "in flight", "since": LATER}
    assert (await other.recheck(retaken[0], LATER + 10)).ok


async def test_a_recheck_release_racing_a_recovery_leaves_the_new_take_alone(redis: Redis, prefix: str) -> None:
    first, other, race, on_a, retaken = await _preview_and_a_retake(redis, prefix, ["+12125550123", "+12125550124"])
    await store(redis, prefix).add_dnc(["+12125550123"], campaign_id="c1")  # the number on A's screen
    verdict = await first.recheck(on_a, LATER)  # A presses Dial: the number may not be dialed, the lead released
    assert race.raced == 1
    assert not verdict.ok
    (on_b,) = retaken
    assert on_b.number_index == 1
    assert (await other.explain("a", LATER))["where"] == {"queue": "in flight", "since": LATER}
    assert (await other.recheck(on_b, LATER + 10)).ok
