"""The desk's HTTP API and event stream against a daemon in this process (real Redis, real HTTP)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Literal

import httpx
from fastapi import FastAPI

from agents import commands as ac
from agents.desk import DeskOptions, build_desk, build_router
from agents.desk.harness import DeskHarness
from dialer.ami import events as ev
from dialer.daemon import RESTART_REASON, Daemon
from dialer.engine.records import Undisposed
from dialer.errors import CallbackNotMovable, IllegalTransition

LEAD = {"first_name": "Anna", "last_name": "Novak", "tariff": "Unlimited Plus", "arpu": "64.90",
        "tenure_months": "41", "device": "Galaxy S9"}
PATH = ["opening", "offer_premium", "obj_min_spend", "refuse"]


class Clock:
    def __init__(self, t: float) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


@asynccontextmanager
async def harness(redis_url: str, *, streams: bool = False, **kw) -> AsyncIterator[DeskHarness]:
    """The desk in this process; with `streams` behind a real HTTP server (event streams need one),
    else driven in-process through httpx's ASGI transport (faster; same app, same cookies)."""
    async with DeskHarness(redis_url=redis_url, serve_http=streams, **kw) as h:
        yield h


@asynccontextmanager
async def client(h: DeskHarness, agent: str | None = "ann") -> AsyncIterator[httpx.AsyncClient]:
    if h.serve_http:
        c = httpx.AsyncClient(base_url=h.base_url, timeout=10)
    else:
        c = httpx.AsyncClient(transport=httpx.ASGITransport(app=h.app), base_url="http://desk.test", timeout=10)
    async with c:
        if agent is not None:
            password = next(a.password for a in h.agents if a.agent_id == agent)
            r = await c.post("/api/desk/login", json={"agent_id": agent, "password": password})
            assert r.status_code == 200, r.text
        yield c


@dataclass
class Sse:
    event: str
    data: dict
    ident: str | None


async def read_sse(resp: httpx.Response, stop) -> list[Sse]:
    """Events of an open stream until `stop(events)` is true (guarded by a timeout, never a sleep)."""
    out: list[Sse] = []
    event, data, ident = "message", [], None
    async with asyncio.timeout(5):
        async for line in resp.aiter_lines():
            if line.startswith("event: "):
                event = line[7:]
            elif line.startswith("data: "):
                data.append(line[6:])
            elif line.startswith("id: "):
                ident = line[4:]
            elif line == "" and data:
                out.append(Sse(event, json.loads("\n".join(data)), ident))
                event, data, ident = "message", [], None
                if stop(out):
                    return out
    return out


async def ready_and_call(h: DeskHarness, c: httpx.AsyncClient, *, hang_up: bool = True) -> str:
    assert (await c.post("/api/desk/command", json={"type": "ready"})).status_code == 200
    cid = h.place_call(LEAD)
    h.human(cid)
    h.bridge(cid)
    if hang_up:
        h.hangup(cid)
    return cid


async def test_login_sets_an_http_only_strict_cookie_and_logs_the_agent_in(redis_url):
    async with harness(redis_url) as h, client(h, None) as c:
        r = await c.post("/api/desk/login", json={"agent_id": "ann", "password": "ann-secret-1"})
        assert r.status_code == 200
        cookie = r.headers["set-cookie"].lower()
        assert "httponly" in cookie
        assert "samesite=strict" in cookie
        snap = (await c.get("/api/desk/snapshot")).json()
        assert snap["agent"]["state"] == "paused"
        assert snap["agent"]["name"] == "Ann Smith"
        assert snap["dispositions"]["codes"][1]["follow_up"] == "confirmation"
        assert snap["features"] == {"preview": True, "manual_dial": True, "transfer": True, "callbacks": True,
                                    "callback_moves": True}
        assert h.daemon.engine.roster.get("ann").extension == "1001"
        # a lead source that keeps no callbacks for agents (the harness's in-memory one): an empty list
        assert (await c.get("/api/desk/callbacks")).json() == {"campaign_id": h.campaign, "callbacks": []}
        moved = await c.post("/api/desk/callbacks/move", json={"lead_id": "L1", "owner": "anyone"})
        assert (moved.status_code, "Redis hopper" in moved.json()["detail"]) == (409, True)
        # A bearer token works as well as the cookie (scripts, tests).
        async with client(h, None) as other:
            r2 = await other.get("/api/desk/snapshot", headers={"Authorization": f"Bearer {r.json()['token']}"})
            assert r2.json()["agent"]["id"] == "ann"


async def test_wrong_passwords_and_unknown_agents_are_refused_alike(redis_url):
    async with harness(redis_url) as h, client(h, None) as c:
        wrong = await c.post("/api/desk/login", json={"agent_id": "ann", "password": "nope"})
        unknown = await c.post("/api/desk/login", json={"agent_id": "zed", "password": "nope"})
        assert (wrong.status_code, unknown.status_code) == (401, 401)
        assert wrong.json() == unknown.json() == {"detail": "unknown agent or wrong password"}
        assert "set-cookie" not in wrong.headers
        bad = await c.post("/api/desk/login", json={"agent_id": "ann/../x", "password": "p"})
        assert bad.status_code == 422
        other = await c.post("/api/desk/login", json={"agent_id": "ann", "password": "ann-secret-1",
                                                     "campaign_id": "winback"})
        assert other.status_code == 403


async def test_an_agent_of_several_campaigns_chooses_one_after_the_password(redis_url):
    async with harness(redis_url, extra_campaigns=("winback",)) as h, client(h, None) as c:
        r = await c.post("/api/desk/login", json={"agent_id": "ann", "password": "wrong"})
        assert r.status_code == 401  # the campaigns are only listed to someone with the password
        r = await c.post("/api/desk/login", json={"agent_id": "ann", "password": "ann-secret-1"})
        assert (r.status_code, r.json()) == (422, {"detail": "choose a campaign: one of upsell-device, winback",
                                                   "campaigns": ["upsell-device", "winback"]})
        r = await c.post("/api/desk/login", json={"agent_id": "ann", "password": "ann-secret-1",
                                                 "campaign_id": "nope"})
        assert r.status_code == 422
        r = await c.post("/api/desk/login", json={"agent_id": "ann", "password": "ann-secret-1",
                                                 "campaign_id": "winback"})
        assert r.status_code == 200
        assert h.daemon.engine.roster.get("ann").campaign_id == "winback"
        r = await c.post("/api/desk/login", json={"agent_id": "ann", "password": "ann-secret-1",
                                                 "campaign_id": "upsell-device"})
        assert (r.status_code, r.json()["detail"]) == (409, "already logged in to campaign winback; log out first")


async def test_forged_and_expired_sessions_are_refused(redis_url):
    wall = Clock(1_800_000_000.0)
    async with harness(redis_url, wall_clock=wall, session_ttl_s=600) as h, client(h) as c:
        assert (await c.get("/api/desk/snapshot")).status_code == 200
        token = c.cookies["desk_session"]
        header, payload, sig = token.split(".")  # a JWT
        async with client(h, "bob") as bob:
            bob_payload = bob.cookies["desk_session"].split(".")[1]
        async with client(h, None) as anon:
            assert (await anon.get("/api/desk/snapshot")).status_code == 401
            for forged in (f"{header}.{bob_payload}.{sig}", f"{header}.{payload}.{sig[:-3]}abc", "garbage"):
                r = await anon.get("/api/desk/snapshot", headers={"Authorization": f"Bearer {forged}"})
                assert r.status_code == 401, forged
            assert (await anon.get("/api/desk/events", headers={"Authorization": "Bearer x.y"})).status_code == 401
        wall.t += 601
        r = await c.get("/api/desk/snapshot")
        assert (r.status_code, r.json()) == (401, {"detail": "session expired; log in again"})
        assert (await c.post("/api/desk/command", json={"type": "ready"})).status_code == 401


async def test_an_agent_never_sees_another_agents_calls(redis_url):
    async with harness(redis_url, streams=True) as h, client(h, "ann") as ann, client(h, "bob") as bob:
        bob_seq = (await bob.get("/api/desk/snapshot")).json()["seq"]
        await bob.post("/api/desk/command", json={"type": "ready"})
        async with bob.stream("GET", "/api/desk/events", params={"after": 0}) as bob_stream:
            cid = await ready_and_call(h, ann, hang_up=False)
            assert h.daemon.engine.calls[cid].agent_id == "bob"  # bob was ready first: he takes this one
            cid2 = h.place_call({**LEAD, "first_name": "Eva"}, lead_id="L2")
            h.human(cid2)  # ann's call
            assert h.daemon.engine.calls[cid2].agent_id == "ann"
            h.hangup(cid2)
            await ann.post("/api/desk/command", json={"type": "disposition", "call_id": cid2, "code": "sale"})
            await bob.post("/api/desk/command", json={"type": "pause", "reason": "break"})  # bob's marker
            seen = await read_sse(bob_stream, lambda evs: any(e.data.get("kind") == "pause_pending" for e in evs))
        assert [e.data["seq"] for e in seen if e.event == "message"] == list(range(1, len(seen) + 1))
        assert seen[0].data["seq"] == 1
        assert bob_seq == 1
        pops = [e.data for e in seen if e.data.get("kind") == "screenpop"]
        assert [p["call_id"] for p in pops] == [cid]
        assert all("Eva" not in json.dumps(e.data) for e in seen)
        # Nor through the API: bob's snapshot, dispositions and DNC cannot touch ann's call.
        assert (await bob.get("/api/desk/snapshot")).json()["call"]["call_id"] == cid
        h.hangup(cid)
        r = await bob.post("/api/desk/command", json={"type": "disposition", "call_id": cid2, "code": "sale"})
        assert r.status_code == 409
        assert (await bob.post("/api/desk/dnc", json={"call_id": cid2})).status_code == 404


async def test_the_stream_resumes_after_last_event_id_and_reports_gaps(redis_url):
    async with harness(redis_url, streams=True, feed_keep=4) as h, client(h) as c:
        await c.post("/api/desk/command", json={"type": "ready"})
        await c.post("/api/desk/command", json={"type": "pause", "reason": "lunch"})  # seq 3
        async with c.stream("GET", "/api/desk/events", headers={"Last-Event-ID": "1"}) as s:
            got = await read_sse(s, lambda evs: len(evs) == 2)
        assert [(e.ident, e.data["kind"], e.data.get("state")) for e in got] == [
            ("2", "state", "ready"), ("3", "state", "paused")]
        for _ in range(3):
            await c.post("/api/desk/command", json={"type": "ready"})
            await c.post("/api/desk/command", json={"type": "pause", "reason": "lunch"})
        for after in (1, 99):  # older than the buffer, or ahead of the daemon (it restarted)
            async with c.stream("GET", "/api/desk/events", params={"after": after}) as s:
                [gap] = await read_sse(s, lambda evs: True)
            assert (gap.event, gap.data) == ("gap", {"last_seq": 9})
        async with c.stream("GET", "/api/desk/events", params={"after": 9}) as s:
            await c.post("/api/desk/command", json={"type": "ready"})
            [e] = await read_sse(s, lambda evs: True)
        assert (e.data["seq"], e.data["state"]) == (10, "ready")


async def test_a_last_event_id_that_is_not_ascii_digits_is_ignored_not_a_server_error(redis_url):
    # '²' passes str.isdigit() but not int(); 5000 digits pass both but exceed int()'s limit of 4300
    async with harness(redis_url) as h, client(h) as c:
        last = h.daemon.feed.last_seq("ann")
        for bad in ("\u00b2".encode("latin-1"), b"1" * 5000, b"-1", b"0x10", "\u0663".encode()):
            r = await c.get("/api/desk/events", params={"after": last + 5}, headers={"Last-Event-ID": bad})
            # `after` is used: ahead of the feed (as after a daemon restart), the stream answers a gap at once
            assert r.status_code == 200, (bad, r.text)
            assert f'event: gap\ndata: {{"last_seq":{last}}}' in r.text, (bad, r.text)


async def test_a_stream_ends_when_its_session_expires(redis_url):
    wall = Clock(1_800_000_000.0)
    async with harness(redis_url, streams=True, wall_clock=wall, session_ttl_s=60) as h, client(h) as c:
        async with c.stream("GET", "/api/desk/events") as s:
            wall.t += 61
            h.daemon.feed.publish("ann", "error", {"error": "wake up"})
            [e] = await read_sse(s, lambda evs: True)
        assert (e.event, e.data) == ("expired", {"detail": "session expired; log in again"})


async def test_pause_needs_a_known_reason_and_waits_for_the_call_to_end(redis_url):
    async with harness(redis_url) as h, client(h) as c:
        for body, code in (({"type": "pause"}, 422), ({"type": "pause", "reason": ""}, 422),
                           ({"type": "pause", "reason": "nap"}, 422), ({"type": "login", "extension": "1",
                                                                        "campaign_id": "x"}, 422),
                           ({"type": "dance"}, 422)):
            r = await c.post("/api/desk/command", json=body)
            assert r.status_code == code, (body, r.text)
        assert "pause reason 'nap' is not one of" in (
            await c.post("/api/desk/command", json={"type": "pause", "reason": "nap"})).json()["detail"]
        r = await c.post("/api/desk/command", json={"type": "preview_dial", "lead_id": "L1"})  # MQTT's; not here
        assert (r.status_code, "use POST /api/desk/preview/dial" in r.json()["detail"]) == (422, True)
        cid = await ready_and_call(h, c, hang_up=False)
        r = await c.post("/api/desk/command", json={"type": "pause", "reason": "lunch", "after_call": True})
        assert r.json()["pending_pause"] == "lunch"
        assert r.json()["state"] == "talking"
        h.hangup(cid)
        r = await c.post("/api/desk/command", json={"type": "disposition", "call_id": cid, "code": "sale"})
        assert (r.json()["state"], r.json()["reason"]) == ("paused", "lunch")


BAD_DISPOSITIONS = [
    ({"code": "won"}, "code: 'won' is not a disposition of this campaign"),
    ({"code": "refused", "script_path": PATH}, "fields.reason: a refusal needs a reason"),
    ({"code": "refused", "fields": {"reason": "too_expensive"}, "script_path": PATH},
     "fields.reason: 'too_expensive' is not offered here"),
    ({"code": "callback", "fields": {"callback_at": "2001-01-01T10:00:00Z"}}, "is not in the future"),
    ({"code": "sale", "script_path": ["opening", "refuse"]}, "script_path[1]: 'refuse' does not follow 'opening'"),
    ({"code": "sale", "fields": {"colour": "red"}}, "fields.colour: unknown field"),
    ({"code": "agreed", "script_path": ["opening", "offer_premium", "agree"]},
     "fields.delivery_address: 'Delivery address' is required by step 'agree'"),
    ({"code": "sale", "script_path": ["x" * 65]}, "script_path.0: String should have at most 64 characters"),
]


async def test_bad_dispositions_are_refused_with_the_field_and_nothing_changes(redis_url):
    async with harness(redis_url) as h, client(h) as c:
        cid = await ready_and_call(h, c)
        for body, detail in BAD_DISPOSITIONS:
            r = await c.post("/api/desk/command", json={"type": "disposition", "call_id": cid, **body})
            assert r.status_code == 422, body
            assert detail in r.json()["detail"], (body, r.json())
        assert h.daemon.engine.roster.get("ann").state.value == "wrapup"
        assert "disposition" not in await h.call_record(cid)


async def test_a_disposition_lands_in_the_call_record_with_fields_and_script_path(redis_url):
    async with harness(redis_url) as h, client(h) as c:
        cid = await ready_and_call(h, c, hang_up=False)
        early = await c.post("/api/desk/command", json={"type": "disposition", "call_id": cid, "code": "sale"})
        assert early.status_code == 409  # still talking: wrap-up starts when the call ends
        h.hangup(cid)
        r = await c.post("/api/desk/command", json={
            "type": "disposition", "call_id": cid, "code": "refused", "script_path": PATH,
            "fields": {"reason": "no_minimum_spend", "notes": "likes the phone, not the minimum"}})
        assert r.status_code == 200, r.text
        assert r.json()["state"] == "ready"
        rec = await h.call_record(cid)
        assert (rec["outcome"], rec["agent_id"], rec["disposition"]) == ("connected", "ann", "refused")
        assert json.loads(rec["script_path"]) == PATH
        assert json.loads(rec["disposition_fields"]) == {"reason": "no_minimum_spend",
                                                         "notes": "likes the phone, not the minimum"}
        # The next pop of this person shows the contact and its result.
        cid2 = h.place_call(LEAD, lead_id="L1")
        h.human(cid2)
        pop = (await c.get("/api/desk/snapshot")).json()["call"]
        assert pop["history"][0]["call_id"] == cid
        assert pop["history"][0]["disposition"] == "refused"
        assert pop["history"][0]["reason"] == "no_minimum_spend"


async def test_a_late_disposition_read_back_after_a_restart_shows_its_screen_pop_and_is_taken(redis_url):
    async with harness(redis_url) as h, client(h) as c:
        d = h.daemon
        until = d.clock.now() + 600.0
        # what `Daemon._restore_undisposed` puts back from Redis: the call is unknown to this engine
        d.engine.undisposed["ann"] = Undisposed("c-before", h.campaign, until)
        d.late_pops["c-before"] = {"call_id": "c-before", "lead": {"first_name": "Dana"}}
        snap = (await c.get("/api/desk/snapshot")).json()
        assert snap["late"] == {"call_id": "c-before", "until": until}
        assert snap["call"] == {"call_id": "c-before", "lead": {"first_name": "Dana"}}
        r = await c.post("/api/desk/command", json={"type": "disposition", "call_id": "c-before", "code": "sale"})
        assert r.status_code == 200, r.text
        assert "c-before" not in d.late_pops
        assert (await c.get("/api/desk/snapshot")).json()["late"] is None


class RestoredWhenWaitedFor(asyncio.Event):
    """`Daemon.agents_restored` of a daemon that logs its agents back in exactly when the desk waits for it."""

    def __init__(self, restore: Callable[[], None]) -> None:
        super().__init__()
        self.restore = restore

    async def wait(self) -> Literal[True]:
        self.restore()
        self.set()
        return await super().wait()


async def test_a_snapshot_after_a_restart_waits_for_the_agents_to_be_logged_back_in(redis_url):
    async with harness(redis_url) as h, client(h) as c:
        d = h.daemon
        d.agent_command(ac.Logout("ann"))  # a restarted daemon knows nobody until it reads Redis

        def restore() -> None:  # what `Daemon._restore_agents` does
            d.agent_command(ac.Login("ann", "1001", h.campaign))
            d.agent_command(ac.Pause("ann", RESTART_REASON))

        d.agents_restored = RestoredWhenWaitedFor(restore)
        agent = (await c.get("/api/desk/snapshot")).json()["agent"]
        assert (agent["state"], agent["reason"]) == ("paused", RESTART_REASON)  # not the login form


async def test_a_snapshot_does_not_wait_for_ever_for_a_restore_that_does_not_end(redis_url):
    async with harness(redis_url, options=DeskOptions(restore_wait_s=0.0)) as h, client(h) as c:
        h.daemon.agents_restored = asyncio.Event()  # Redis is slow: the restore has not ended
        agent = (await c.get("/api/desk/snapshot")).json()["agent"]
        assert agent["state"] == "paused"  # as the daemon knows it now (logged in, not ready yet); the stream goes on


async def test_a_command_sent_again_with_its_id_is_applied_once_and_answers_the_state(redis_url):
    # the page sends a command again when the network lost the answer (desk.js `command`)
    async with harness(redis_url) as h, client(h) as c:
        cid = await ready_and_call(h, c)
        body = {"type": "disposition", "call_id": cid, "code": "sale", "id": "page-1"}
        first = await c.post("/api/desk/command", json=body)
        again = await c.post("/api/desk/command", json=body)
        assert (first.status_code, again.status_code) == (200, 200), again.text
        assert again.json()["state"] == first.json()["state"] == "ready"
        fresh = await c.post("/api/desk/command", json={**body, "id": "page-2"})  # a new command: refused
        assert fresh.status_code == 409
        store = h.daemon.store
        await store.flush()
        assert [f["disposition"] for _id, f in await store.r.xrange(store.key("dispositions"))] == ["sale"]


async def test_a_dnc_request_is_recorded_at_once(redis_url):
    async with harness(redis_url) as h, client(h) as c:
        cid = await ready_and_call(h, c, hang_up=False)
        r = await c.post("/api/desk/dnc", json={"call_id": cid, "notes": "asked twice"})
        assert r.json() == {"recorded": True, "call_id": cid}
        store = h.daemon.store
        [(_id, entry)] = await store.r.xrange(store.key("dnc_requests"))
        assert (entry["number"], entry["agent_id"], entry["notes"], entry["source"], entry["person"]) == (
            "+12125550123", "ann", "asked twice", "agent-desk", "number:+12125550123")
        assert await store.r.sismember(store.key("dnc"), "+12125550123")  # on the list every hopper checks
        assert await store.r.sismember(store.key("dncp"), "number:+12125550123")
        assert (await c.post("/api/desk/dnc", json={"call_id": "nope"})).status_code == 404


async def test_logout_waits_for_the_call_and_then_ends_the_session(redis_url):
    async with harness(redis_url) as h, client(h) as c:
        cid = await ready_and_call(h, c, hang_up=False)
        r = await c.post("/api/desk/logout", json={})
        assert (r.json()["done"], r.json()["pending_logout"]) == (False, True)
        assert (await c.get("/api/desk/snapshot")).status_code == 200  # the session goes on for the wrap-up
        h.hangup(cid)
        r = await c.post("/api/desk/command", json={"type": "disposition", "call_id": cid, "code": "sale"})
        assert r.json()["state"] == "logged_out"
        # the logout is done: the token is refused as after a logout that did not wait
        r = await c.get("/api/desk/snapshot")
        assert (r.status_code, r.json()) == (401, {"detail": "session ended by logout; log in again"})
        assert (await c.post("/api/desk/logout", json={})).status_code == 401
        # Logging in again joins the campaign again.
        r = await c.post("/api/desk/login", json={"agent_id": "ann", "password": "ann-secret-1"})
        assert (await c.get("/api/desk/snapshot")).json()["agent"]["state"] == "paused"


@asynccontextmanager
async def restarted(h: DeskHarness, token: str) -> AsyncIterator[httpx.AsyncClient]:
    """A client, with `token`, of a new desk of the same daemon: what a restart keeps (the session secret,
    Redis, every write queued before it stopped) and nothing of the old desk's memory."""
    await h.daemon.store.flush()
    app = FastAPI()
    app.include_router(build_router(h.daemon, desk=build_desk(h.daemon, wall_clock=h.wall_clock)))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://desk.test", timeout=10,
                                 headers={"Authorization": f"Bearer {token}"}) as c:
        yield c


async def test_a_logged_out_token_is_refused_after_a_restart_and_other_sessions_go_on(redis_url):
    # docs: "Logout revokes the token's jti until the token would have expired anyway. A forged, edited, expired
    # or logged-out token gets a 401 on every endpoint"; the list was in memory only, so a restart forgot it
    async with harness(redis_url) as h, client(h, "ann") as ann, client(h, "bob") as bob:
        token = ann.cookies["desk_session"]
        assert (await ann.post("/api/desk/logout", json={})).json()["done"] is True
        async with restarted(h, token) as again:
            for r in (await again.get("/api/desk/snapshot"), await again.get("/api/desk/events"),
                      await again.post("/api/desk/command", json={"type": "ready"})):
                assert (r.status_code, r.json()) == (401, {"detail": "session ended by logout; log in again"})
        async with restarted(h, bob.cookies["desk_session"]) as bob_again:  # a restart logs nobody out
            assert (await bob_again.get("/api/desk/snapshot")).json()["agent"]["id"] == "bob"


async def test_a_logout_that_waited_for_the_wrapup_is_refused_after_a_restart(redis_url):
    async with harness(redis_url) as h, client(h) as c:
        token = c.cookies["desk_session"]
        cid = await ready_and_call(h, c)
        assert (await c.post("/api/desk/logout", json={})).json()["done"] is False
        # the page sends nothing more (closed): the wrap-up runs out, the dialer logs the agent out
        h.run_out_wrapup("ann")
        assert h.daemon.engine.roster.get("ann").state.value == "logged_out"
        assert h.desk is not None
        [waiting] = h.desk.signer.logouts.waiting()
        assert waiting.agent_id == "ann"
        h.desk.sweep_presence()  # the desk's lifespan task, every few seconds: the logout is done, the session over
        assert h.desk.signer.logouts.waiting() == []
        assert h.daemon.engine.undisposed["ann"].call_id == cid
        store = h.daemon.store
        await store.flush()
        assert await store.r.get(store.key("desk_logout", waiting.jti)) == "ended"
        async with restarted(h, token) as again:
            assert (await again.get("/api/desk/snapshot")).status_code == 401


async def test_posts_must_be_json(redis_url):
    async with harness(redis_url) as h, client(h) as c:
        r = await c.post("/api/desk/command", content=b'{"type":"ready"}', headers={"Content-Type": "text/plain"})
        assert r.status_code == 415
        r = await c.post("/api/desk/command", content=b"{not json", headers={"Content-Type": "application/json"})
        assert r.status_code == 422


async def test_presence_lost_pauses_a_ready_agent_and_after_the_call_a_busy_one(redis_url):
    mono = Clock(0.0)
    opts = DeskOptions(presence_timeout_s=30, sweep_every_s=1)
    async with harness(redis_url, monotonic=mono, options=opts) as h, client(h) as ann, \
            client(h, "bob") as bob:
        await ann.post("/api/desk/command", json={"type": "ready"})
        cid = await ready_and_call(h, bob, hang_up=False)  # ann was ready first: ann takes it
        assert h.daemon.engine.calls[cid].agent_id == "ann"
        mono.t = 20.0
        await bob.post("/api/desk/heartbeat", json={})
        mono.t = 40.0
        assert h.desk.sweep_presence() == ["ann"]
        ann_agent, bob_agent = h.daemon.engine.roster.get("ann"), h.daemon.engine.roster.get("bob")
        assert (ann_agent.state.value, ann_agent.pending_pause) == ("talking", "offline")
        assert bob_agent.state.value == "ready"
        mono.t = 51.0
        assert h.desk.sweep_presence() == ["bob"]
        assert (bob_agent.state.value, bob_agent.pause_reason) == ("paused", "offline")
        [last] = h.daemon.feed.since("bob", h.daemon.feed.last_seq("bob") - 1)
        assert last == {"seq": h.daemon.feed.last_seq("bob"), "kind": "presence", "online": False, "paused": True}
        await h.daemon.store.flush()
        assert await h.daemon.store.r.hget(h.daemon.store.key("agent", "bob"), "presence") == "offline"
        snap = (await bob.get("/api/desk/snapshot")).json()  # any request is a sign of life
        assert snap["presence"]["online"] is True
        assert await h.daemon.store.r.hget(h.daemon.store.key("agent", "bob"), "presence") in ("offline", "online")


async def test_a_refused_command_sent_again_with_its_id_is_refused_again_not_answered_as_taken(redis_url):
    # desk.js sends a command again, same id, when the network lost the answer: after a 422 the repeat
    # was answered 200 with the state, and the page said "Saved" for a disposition the dialer never took
    async with harness(redis_url) as h, client(h) as c:
        cid = await ready_and_call(h, c)
        body = {"type": "disposition", "call_id": cid, "code": "callback", "id": "page-7",
                "fields": {"callback_at": "2001-01-01T10:00:00Z", "callback_owner": "mine"}}
        assert (await c.post("/api/desk/command", json=body)).status_code == 422
        assert (await c.post("/api/desk/command", json=body)).status_code == 422
        assert h.daemon.engine.roster.get("ann").state.value == "wrapup"
        fixed = {**body, "id": "page-8", "code": "refused", "fields": {"reason": "no_minimum_spend"},
                 "script_path": PATH}
        assert (await c.post("/api/desk/command", json=fixed)).status_code == 200
        assert (await c.post("/api/desk/command", json=fixed)).status_code == 200  # a taken one's repeat: once
        assert h.daemon.engine.roster.get("ann").state.value == "ready"


async def test_presence_lost_while_the_agent_dials_pauses_them_when_the_dial_is_over(redis_url):
    mono = Clock(0.0)
    opts = DeskOptions(presence_timeout_s=30, sweep_every_s=1)
    async with harness(redis_url, monotonic=mono, options=opts) as h, client(h) as ann:
        await ann.post("/api/desk/command", json={"type": "ready"})
        r = await ann.post("/api/desk/dial", json={"number": "+12125550123"})
        cid = r.json()["call_id"]
        agent = h.daemon.engine.roster.get("ann")
        assert agent.state.value == "dialing"
        mono.t = 40.0  # the laptop slept while the agent's own phone rang
        assert h.desk.sweep_presence() == ["ann"]
        assert agent.pending_pause == "offline"
        h._feed(ev.OriginateResponse(action_id=cid, uniqueid=cid, channel="Local/1001@dialer-agent/n", success=False,
                                     reason=3))  # nobody picked the phone up
        assert (agent.state.value, agent.pause_reason) == ("paused", "offline")  # not READY for the next call


class NoHooksDaemon(Daemon):
    """A daemon without the desk's hooks (None blocks a method for `isinstance` with a Protocol)."""

    preview_dial = preview_skip = manual_dial = blind_transfer = own_callbacks = None  # type: ignore[assignment]
    move_callback = None  # type: ignore[assignment]


async def test_missing_daemon_hooks_answer_501_and_the_page_is_told(redis_url):
    async with harness(redis_url, daemon_class=NoHooksDaemon) as h, client(h) as c:
        cid = await ready_and_call(h, c, hang_up=False)
        r = await c.post("/api/desk/transfer", json={"call_id": cid, "target": "supervisor"})
        assert (r.status_code, "blind_transfer(agent_id, call_id, target)" in r.json()["detail"]) == (501, True)
        r = await c.post("/api/desk/transfer", json={"call_id": cid, "target": "zed"})
        assert r.status_code == 422
        r = await c.post("/api/desk/preview/dial", json={"lead_id": "L1"})
        assert (r.status_code, "preview_dial(agent_id, lead_id" in r.json()["detail"]) == (501, True)
        assert (await c.post("/api/desk/preview/skip", json={"lead_id": "L1"})).status_code == 501
        assert (await c.post("/api/desk/dial", json={"number": "+12125550199"})).status_code == 501
        r = await c.post("/api/desk/dial", json={"number": "12345"})
        assert (r.status_code, "international form" in r.json()["detail"]) == (422, True)
        targets = (await c.get("/api/desk/transfer-targets")).json()
        assert targets == {"agents": [], "supervisor": True}
        r = await c.get("/api/desk/callbacks")
        assert (r.status_code, "own_callbacks(agent_id, campaign_id)" in r.json()["detail"]) == (501, True)
        r = await c.post("/api/desk/callbacks/move", json={"lead_id": "L3", "owner": "anyone"})
        assert (r.status_code, "move_callback(campaign_id" in r.json()["detail"]) == (501, True)


class HookedDaemon(Daemon):
    """A daemon with the hooks the desk asks for, recording what it was asked."""

    asked: list[tuple] = []

    async def preview_dial(self, agent_id: str, lead_id: str, number_index: int) -> str:
        self.asked.append(("dial", agent_id, lead_id, number_index))
        return "call-p1"

    async def preview_skip(self, agent_id: str, lead_id: str, reason: str) -> None:
        self.asked.append(("skip", agent_id, lead_id, reason))

    async def manual_dial(self, agent_id: str, number: str) -> str:
        if number.endswith("99"):
            raise IllegalTransition("agent", agent_id, "talking", "manual dial")
        self.asked.append(("manual", agent_id, number))
        return "call-m1"

    def blind_transfer(self, agent_id: str, call_id: str, target: str) -> None:
        self.asked.append(("transfer", agent_id, call_id, target))

    async def own_callbacks(self, agent_id: str, campaign_id: str) -> list[dict]:
        return [{"lead_id": "L3", "at": 1.0, "number": "+1212", "lead": {}}] if agent_id == "ann" else []

    async def move_callback(self, campaign_id: str, lead_id: str, at: str | None, keep_for: str | None, *,
                            agent_id: str | None = None) -> dict:
        if lead_id in ("gone", "bobs"):
            raise CallbackNotMovable(f"lead {lead_id}", why="not_scheduled" if lead_id == "gone" else "not_yours")
        self.asked.append(("move", campaign_id, lead_id, at, keep_for, agent_id))
        return {"lead_id": lead_id, "at": None, "kept_for": keep_for}


async def test_with_the_hooks_the_desk_forwards_preview_manual_dial_and_transfer(redis_url):
    HookedDaemon.asked = []
    async with harness(redis_url, daemon_class=HookedDaemon) as h, client(h) as c, client(h, "bob"):
        assert (await c.get("/api/desk/snapshot")).json()["features"] == {
            "preview": True, "manual_dial": True, "transfer": True, "callbacks": True, "callback_moves": True}
        got = (await c.get("/api/desk/callbacks")).json()
        assert got == {"campaign_id": h.campaign, "callbacks": [{"lead_id": "L3", "at": 1.0, "number": "+1212",
                                                                  "lead": {}}]}
        moves = [{"lead_id": "L3", "at": "2026-11-24T15:00:00Z", "owner": "mine"}, {"lead_id": "L3", "owner": "anyone"}]
        for body in moves:
            assert (await c.post("/api/desk/callbacks/move", json=body)).status_code == 200
        assert HookedDaemon.asked == [("move", h.campaign, "L3", "2026-11-24T15:00:00Z", "ann", "ann"),
                                      ("move", h.campaign, "L3", None, None, "ann")]
        HookedDaemon.asked.clear()
        assert (await c.post("/api/desk/callbacks/move", json={"lead_id": "gone"})).status_code == 409
        assert (await c.post("/api/desk/callbacks/move", json={"lead_id": "bobs"})).status_code == 404
        r = await c.post("/api/desk/callbacks/move", json={"lead_id": "L3", "owner": "bob"})
        assert r.status_code == 422  # mine or anyone: an agent cannot keep a callback for a colleague
        assert (await c.post("/api/desk/preview/dial", json={"lead_id": "L7", "number_index": 1})).json() == {
            "call_id": "call-p1"}
        await c.post("/api/desk/preview/skip", json={"lead_id": "L8", "reason": "bad_data"})
        r = await c.post("/api/desk/dial", json={"number": "+1 212 555 0123"})
        assert r.json() == {"call_id": "call-m1", "number": "+12125550123"}
        assert (await c.post("/api/desk/dial", json={"number": "+12125550199"})).status_code == 409
        cid = await ready_and_call(h, c, hang_up=False)
        assert (await c.get("/api/desk/transfer-targets")).json()["agents"] == [
            {"id": "bob", "name": "Bob Jones", "state": "paused"}]
        assert (await c.post("/api/desk/transfer", json={"call_id": cid, "target": "bob"})).status_code == 200
        assert HookedDaemon.asked == [("dial", "ann", "L7", 1), ("skip", "ann", "L8", "bad_data"),
                                      ("manual", "ann", "+12125550123"), ("transfer", "ann", cid, "bob")]


async def test_the_page_is_served_from_the_daemon_with_nothing_from_elsewhere(redis_url):
    async with harness(redis_url) as h, client(h, None) as c:
        page = await c.get("/desk")
        assert page.status_code == 200
        assert "default-src 'self'" in page.headers["content-security-policy"]
        assets = [page.text]
        for name in ("desk.js", "desk.css"):
            r = await c.get(f"/desk/static/{name}")
            assert r.status_code == 200
            assets.append(r.text)
        for text in assets:
            assert "http://" not in text
            assert "https://" not in text
            assert "@import" not in text
        assert 'src="/desk/static/desk.js"' in page.text
        assert (await c.get("/desk/static/..%2Fcore.py")).status_code == 404
        assert (await c.get("/desk/static/index.html")).status_code == 404


async def test_the_daemons_app_serves_the_desk(redis_url):
    async with harness(redis_url, full_app=True) as h, client(h) as c:
        assert (await c.get("/desk")).status_code == 200
        assert (await c.get("/api/desk/snapshot")).json()["agent"]["id"] == "ann"


async def test_failed_logins_are_rate_limited_per_agent_and_per_address(redis_url):
    clock = Clock(1000.0)
    opts = DeskOptions(login_max_failures_per_agent=5, login_max_failures_per_address=8, login_window_s=300.0)
    async with harness(redis_url, monotonic=clock, options=opts) as h, client(h, None) as c:
        async def login(agent: str, password: str) -> httpx.Response:
            return await c.post("/api/desk/login", json={"agent_id": agent, "password": password})

        for i in range(5):
            clock.t = 1000.0 + i
            assert (await login("ann", "wrong")).status_code == 401
        r = await login("ann", "ann-secret-1")  # even the right password waits now
        assert (r.status_code, r.headers["retry-after"]) == (429, "296")
        assert "too many failed logins" in r.json()["detail"]
        assert (await login("bob", "bob-secret-2")).status_code == 200  # another agent is not locked out
        clock.t = 1300.5  # the first failure left the window
        assert (await login("ann", "ann-secret-1")).status_code == 200
        # The address: 8 failures in the window, whichever agents, lock out every agent from there.
        clock.t = 2000.0
        for agent in ("bob", "zed", "bob", "zed", "bob", "zed", "bob", "zed"):
            assert (await login(agent, "wrong")).status_code == 401
        r = await login("ann", "ann-secret-1")
        assert (r.status_code, r.headers["retry-after"]) == (429, "300")
        clock.t += 300.0
        assert (await login("ann", "ann-secret-1")).status_code == 200
