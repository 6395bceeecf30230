"""The takes a crashed process left are released at once by the next run (`Hopper.release_dead_takes`), not an hour
later as lost dials: a lead taken and never dialed (a preview on screen) goes back with no attempt counted, a
callback kept for an agent back to that agent, a take whose dial may have gone out (a pacer's take, a preview its
agent dialed) is recorded lost now. This run's takes, another campaign's and those whose calls are up are left."""

from __future__ import annotations

from hopper_helpers import at, campaign, store
from redis.asyncio import Redis

from dialer.hopper import Hopper
from dialer.hopper.views import S
from dialer.policy import DialResult
from dialer.policy.contact import ContactPolicy

NOW = at(2025, 6, 3, 12)  # a Tuesday noon in New York
PROMISED = at(2025, 6, 3, 15)  # the callback the person asked for: 15:00 the same day


def run(redis: Redis, prefix: str, run_id: str, cid: str = "c1") -> Hopper:
    c = campaign(cid)
    return Hopper(redis, c, ContactPolicy(c), prefix=prefix, run_id=run_id)


async def leads(redis: Redis, prefix: str, cid: str, ids: str) -> None:
    rows = [{"mobile": f"+1212555{i:04d}", "id": lid} for i, lid in enumerate(ids, start=500 * (cid != "c1"))]
    await store(redis, prefix).import_rows(campaign(cid), rows, now=NOW)


async def test_a_preview_never_dialed_goes_back_at_once_with_no_attempt(redis: Redis, prefix: str) -> None:
    await leads(redis, prefix, "c1", "a")
    dead = run(redis, prefix, "dead")
    await dead.fill(NOW)
    (t,) = await dead.take(1, NOW, preview=True)  # on an agent's screen when the process was killed
    after = NOW + 90
    done = await run(redis, prefix, "next").release_dead_takes(after)
    assert (done.returned, done.lost, done.runs) == (1, 0, ("dead",))
    st = await store(redis, prefix).lead_state("c1", t.lead_id)
    assert st.get(S.ATTEMPTS) in (None, "0")  # no attempt counted
    assert S.TAKEN_RUN not in st
    assert S.OUT not in st
    again = run(redis, prefix, "next")
    await again.fill(after)
    assert [(x.lead_id, x.attempt) for x in await again.take(1, after)] == [(t.lead_id, 1)]  # dialable at once


async def test_a_dial_that_may_have_gone_out_is_recorded_lost_now(redis: Redis, prefix: str) -> None:
    await leads(redis, prefix, "c1", "ab")
    dead = run(redis, prefix, "dead")
    await dead.fill(NOW)
    (dialed,) = await dead.take(1, NOW)  # a pacer's take: dialed at once
    (previewed,) = await dead.take(1, NOW, preview=True)
    assert (await dead.recheck(previewed, NOW + 30)).ok  # its agent pressed Dial
    done = await run(redis, prefix, "next").release_dead_takes(NOW + 90)
    assert (done.returned, done.lost) == (0, 2)
    for t in (dialed, previewed):
        info = await dead.explain(t.lead_id, NOW + 90)
        assert info["where"]["queue"] != "in flight"
        assert (info["attempts"], info["last_outcome"]) == (1, "no_answer")


async def test_a_callback_kept_for_an_agent_goes_back_to_that_agent(redis: Redis, prefix: str) -> None:
    await leads(redis, prefix, "c1", "a")
    dead = run(redis, prefix, "dead")
    await dead.fill(NOW)
    (t,) = await dead.take(1, NOW)
    await dead.record_result(t, DialResult("live", "callback", callback_at=PROMISED, callback_agent="ann"),  # type: ignore[arg-type]
                             NOW + 120)
    mine = (await dead.take_own_callbacks(["ann"], PROMISED))["ann"]  # on ann's screen, not dialed
    nxt = run(redis, prefix, "next")
    done = await nxt.release_dead_takes(PROMISED + 60)
    assert (done.callbacks, done.lost) == (1, 0)
    assert [c.lead_id for c in await nxt.own_callbacks("ann")] == [mine.lead_id]
    assert await nxt.take(1, PROMISED + 60) == []  # still ann's, not the pacer's
    back = (await nxt.take_own_callbacks(["ann"], PROMISED + 60))["ann"]
    assert (back.is_callback, back.callback_at, back.attempt) == (True, PROMISED, mine.attempt)  # no attempt


async def test_this_runs_takes_another_campaigns_and_calls_up_are_left(redis: Redis, prefix: str) -> None:
    await leads(redis, prefix, "c1", "abc")
    await leads(redis, prefix, "c2", "x")
    dead = run(redis, prefix, "dead")
    other = run(redis, prefix, "live-elsewhere", "c2")  # a daemon running another campaign on the same Redis
    nxt = run(redis, prefix, "next")
    for h in (dead, other):
        await h.fill(NOW)
    (up,) = await dead.take(1, NOW)  # its call is up in Asterisk: the new daemon took it over
    (up_unread,) = await dead.take(1, NOW)  # up too, its lead not read (Getvar failed): known by number only
    (elsewhere,) = await other.take(1, NOW, preview=True)
    (own,) = await nxt.take(1, NOW, preview=True)  # the new run's own preview
    done = await nxt.release_dead_takes(NOW + 90, keep_leads={up.lead_id}, keep_numbers={up_unread.number_e164})
    assert (done.released, done.up) == (0, 1)
    for h, t in ((dead, up), (dead, up_unread), (other, elsewhere), (nxt, own)):
        info = await h.explain(t.lead_id, NOW + 90)
        assert info["where"] == {"queue": "in flight", "since": NOW}
        assert info["attempts"] == 0
