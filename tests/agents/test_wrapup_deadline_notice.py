"""The desk counts a wrap-up down to the dialer's own deadline: the wrap-up state notice and the snapshot carry
it (`wrapup_deadline`, on the daemon's clock), so a page opened before a supervisor changed the campaign's
`wrapup_timeout_s` shows the time the dialer will really end the wrap-up at. The page side is in
tests/e2e/test_desk_wrapup_deadline_browser.py."""

from __future__ import annotations

from typing import Any

from test_desk_api import LEAD, client, harness

from agents import commands as ac
from agents.desk.harness import DeskHarness


def state_notices(h: DeskHarness, after: int) -> list[dict[str, Any]]:
    return [m for m in h.daemon.feed.since("ann", after) or [] if m["kind"] == "state"]


def wrap_up(h: DeskHarness) -> None:
    cid = h.place_call(LEAD)
    h.human(cid)
    h.bridge(cid)
    h.hangup(cid)


async def test_the_wrap_up_notice_carries_the_deadline_of_a_timeout_the_supervisor_changed(redis_url):
    async with harness(redis_url) as h, client(h) as c:
        snap = (await c.get("/api/desk/snapshot")).json()
        assert snap["wrapup_timeout_s"] == 120.0  # what the page was loaded with
        await c.post("/api/desk/command", json={"type": "ready"})
        h.daemon.edit_campaign(h.campaign, {"wrapup_timeout_s": 30.0})
        wrap_up(h)
        agent = h.daemon.engine.roster.get("ann")
        deadline = h.daemon.engine.wrapup_deadlines["ann"]
        assert deadline == agent.since + 30.0
        last = state_notices(h, snap["seq"])[-1]
        assert (last["state"], last["wrapup_deadline"]) == ("wrapup", deadline)
        again = (await c.get("/api/desk/snapshot")).json()  # a reload
        assert (again["agent"]["state"], again["agent"]["wrapup_deadline"]) == ("wrapup", deadline)


async def test_a_wrap_up_under_way_keeps_its_deadline_when_the_timeout_is_edited(redis_url):
    # the engine does not re-arm a running wrap-up: the edit applies from the next one, and the page says so
    async with harness(redis_url) as h, client(h) as c:
        await c.post("/api/desk/command", json={"type": "ready"})
        wrap_up(h)
        since = h.daemon.engine.roster.get("ann").since
        h.daemon.edit_campaign(h.campaign, {"wrapup_timeout_s": 30.0})
        snap = (await c.get("/api/desk/snapshot")).json()
        assert snap["agent"]["wrapup_deadline"] == since + 120.0 == h.daemon.engine.wrapup_deadlines["ann"]


async def test_a_login_repeated_in_the_wrap_up_tells_the_deadline_again(redis_url):
    async with harness(redis_url) as h, client(h) as c:
        await c.post("/api/desk/command", json={"type": "ready"})
        wrap_up(h)
        seq = h.daemon.feed.last_seq("ann")
        h.daemon.agent_command(ac.Login("ann", "1001", h.campaign))  # a client logging in again, as after a reload
        [notice] = state_notices(h, seq)
        assert (notice["state"], notice["wrapup_deadline"]) == ("wrapup", h.daemon.engine.wrapup_deadlines["ann"])


async def test_no_deadline_outside_the_wrap_up(redis_url):
    async with harness(redis_url) as h, client(h) as c:
        seq = h.daemon.feed.last_seq("ann")
        await c.post("/api/desk/command", json={"type": "ready"})
        wrap_up(h)
        cid = h.daemon.engine.roster.get("ann").call_id
        r = await c.post("/api/desk/command", json={"type": "disposition", "call_id": cid, "code": "sale"})
        assert r.status_code == 200, r.text
        notices = state_notices(h, seq)
        assert [n["state"] for n in notices if "wrapup_deadline" in n] == ["wrapup"]
        snap = (await c.get("/api/desk/snapshot")).json()
        assert (snap["agent"]["state"], snap["agent"]["wrapup_deadline"]) == ("ready", None)
