"""Preview dialing, manual dialing and blind transfer through the desk's API, against the PBX simulator.

The daemon's real AMI side (AmiClient, AMI loop) talks to the simulator over TCP; Redis is real. What
the desk asks for becomes AMI actions (agent-leg-first Originate, Redirect) and comes back as events.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx

from agents.desk.harness import DeskHarness
from dialer.engine.core import DialRequest
from pacing import Mode

LEADS = [DialRequest("L42", "+12125550142", fields={"first_name": "Anna", "last_name": "Novak", "arpu": "64.90"}),
         DialRequest("L43", "+12125550143", fields={"first_name": "Boris", "last_name": "Ivanov", "arpu": "12.00"})]


@asynccontextmanager
async def client(h: DeskHarness, agent: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=h.app), base_url="http://desk.test",
                                 timeout=10) as c:
        password = next(a.password for a in h.agents if a.agent_id == agent)
        r = await c.post("/api/desk/login", json={"agent_id": agent, "password": password})
        assert r.status_code == 200, r.text
        yield c


async def test_preview_skip_dial_and_blind_transfer_end_to_end(redis_url):
    async with DeskHarness(redis_url=redis_url, serve_http=False, pbx=True, mode=Mode.PREVIEW, leads=LEADS) as h, \
            client(h, "ann") as ann, client(h, "bob") as bob:
        assert (await ann.post("/api/desk/command", json={"type": "ready"})).status_code == 200
        await h.daemon.offer_previews(h.campaign)
        snap = (await ann.get("/api/desk/snapshot")).json()
        assert (snap["agent"]["state"], snap["preview"]["lead_id"]) == ("previewing", "L42")
        assert snap["preview"]["lead"]["first_name"] == "Anna"
        assert (await ann.post("/api/desk/preview/dial", json={"lead_id": "L43"})).status_code == 409
        r = await ann.post("/api/desk/preview/skip", json={"lead_id": "L42", "reason": "bad_data"})
        assert r.json() == {"skipped": "L42"}
        assert [x.lead_id for x in h.daemon.leads[h.campaign].given_back] == ["L42"]  # type: ignore[attr-defined]
        await h.daemon.offer_previews(h.campaign)
        assert (await ann.get("/api/desk/snapshot")).json()["preview"]["lead_id"] == "L43"
        cid = (await ann.post("/api/desk/preview/dial", json={"lead_id": "L43", "number_index": 0})).json()["call_id"]
        await h.wait_state("ann", "talking")  # the agent's phone answered, then the customer
        assert (await bob.post("/api/desk/command", json={"type": "ready"})).status_code == 200
        await h.daemon.offer_previews(h.campaign)  # bob previews L42 again; a previewing agent cannot take it
        assert (await ann.post("/api/desk/transfer", json={"call_id": cid, "target": "bob"})).status_code == 409
        await bob.post("/api/desk/preview/skip", json={"lead_id": "L42", "reason": "bad_data"})
        r = await ann.post("/api/desk/transfer", json={"call_id": cid, "target": "bob"})
        assert r.json() == {"transferred": True, "target": "bob"}
        await h.wait_state("bob", "talking")
        assert h.daemon.engine.roster.get("ann").state.value == "wrapup"
        r = await ann.post("/api/desk/command", json={"type": "disposition", "call_id": cid, "code": "language_barrier",
                                                      "fields": {"notes": "speaks Czech: to Bob"}})
        assert r.json()["state"] == "ready"
        await h.hangup_customer(cid)
        await h.wait_state("bob", "wrapup")
        r = await bob.post("/api/desk/command", json={"type": "disposition", "call_id": cid, "code": "sale",
                                                      "script_path": ["opening"]})
        assert r.status_code == 200, r.text
        rec = await h.call_record(cid)
        assert h.sim is not None
        sim_record = await h.sim.wait_call_ended(cid)
    assert (rec["outcome"], rec["kind"], rec["agent_id"], rec["transferred_from"]) == (
        "connected", "preview", "bob", "ann")
    assert (rec["lead_id"], rec["disposition"], json.loads(rec["script_path"])) == ("L43", "sale", ["opening"])
    assert sim_record.agent == "1002"  # the PBX connected the customer to bob's phone


async def test_manual_dial_checks_the_contact_policy_then_calls_agent_leg_first(redis_url):
    async with DeskHarness(redis_url=redis_url, serve_http=False, pbx=True, dnc=["+12125550199"]) as h, \
            client(h, "ann") as ann:
        r = await ann.post("/api/desk/dial", json={"number": "+1 212 555 0199"})
        assert r.status_code == 403
        assert "do-not-call" in r.json()["detail"]
        assert h.daemon.engine.stats.placed == 0
        r = await ann.post("/api/desk/dial", json={"number": "+1 212 555 0177"})  # from paused: allowed
        cid = r.json()["call_id"]
        await h.wait_state("ann", "talking")
        assert (await ann.post("/api/desk/dial", json={"number": "+12125550178"})).status_code == 409
        await h.hangup_customer(cid)
        await h.wait_state("ann", "wrapup")
        r = await ann.post("/api/desk/command", json={"type": "disposition", "call_id": cid, "code": "wrong_number"})
        assert r.json()["state"] == "paused"  # back to the pause the agent dialed from
        rec = await h.call_record(cid)
        journal = await h.daemon.store.r.xrange(h.daemon.store.key("agent_states"))
    assert (rec["kind"], rec["number"], rec["agent_id"], rec["disposition"]) == (
        "manual", "+12125550177", "ann", "wrong_number")
    states = [f["state"] for _id, f in journal if f["agent_id"] == "ann"]
    assert states == ["paused", "dialing", "talking", "wrapup", "paused"]


async def test_pausing_while_previewing_gives_the_lead_back(redis_url):
    async with DeskHarness(redis_url=redis_url, serve_http=False, pbx=True, mode=Mode.PREVIEW, leads=LEADS) as h, \
            client(h, "ann") as ann:
        await ann.post("/api/desk/command", json={"type": "ready"})
        await h.daemon.offer_previews(h.campaign)
        r = await ann.post("/api/desk/command", json={"type": "pause", "reason": "lunch"})
        assert r.json()["state"] == "paused"
        snap = (await ann.get("/api/desk/snapshot")).json()  # the give-back task ran meanwhile
        assert snap["preview"] is None
        assert [x.lead_id for x in h.daemon.leads[h.campaign].given_back] == ["L42"]  # type: ignore[attr-defined]
        assert h.daemon.engine.previews == {}


async def test_the_agent_state_journal_has_an_explicit_talking_entry_when_a_call_connects(redis_url):
    async with DeskHarness(redis_url=redis_url, serve_http=False) as h, client(h, "ann") as ann:
        await ann.post("/api/desk/command", json={"type": "ready"})
        cid = h.place_call({"first_name": "Anna"})
        h.human(cid)
        h.bridge(cid)
        h.hangup(cid)
        await h.daemon.store.flush()
        journal = await h.daemon.store.r.xrange(h.daemon.store.key("agent_states"))
    rows = [(f["state"], float(f["at"])) for _id, f in journal if f["agent_id"] == "ann"]
    assert [s for s, _ in rows] == ["paused", "ready", "reserved", "talking", "wrapup"]
    assert [at for _, at in rows] == sorted(at for _, at in rows)


async def _ann_talking_bob_ready(h: DeskHarness, ann: httpx.AsyncClient, bob: httpx.AsyncClient) -> str:
    cid = (await ann.post("/api/desk/dial", json={"number": "+12125550177"})).json()["call_id"]
    await h.wait_state("ann", "talking")
    assert (await bob.post("/api/desk/command", json={"type": "ready"})).status_code == 200
    return cid


def _feed(h: DeskHarness, agent: str, kind: str) -> list[dict]:
    return [m for m in h.daemon.feed.since(agent, 0) or [] if m["kind"] == kind]


async def test_a_transfer_to_a_busy_phone_brings_the_customer_back_to_the_first_agent(redis_url):
    async with DeskHarness(redis_url=redis_url, serve_http=False, pbx=True) as h, \
            client(h, "ann") as ann, client(h, "bob") as bob:
        assert h.sim is not None
        cid = await _ann_talking_bob_ready(h, ann, bob)
        h.sim.set_phone("1002", "busy")  # bob's phone refuses the call
        r = await ann.post("/api/desk/transfer", json={"call_id": cid, "target": "bob"})
        assert r.json() == {"transferred": True, "target": "bob"}
        await h.wait_state("ann", "reserved")
        await h.wait_state("ann", "talking")  # the customer is back on ann's phone
        assert h.daemon.engine.roster.get("bob").state.value == "ready"
        [failed] = _feed(h, "ann", "transfer_failed")
        assert (failed["target"], failed["reason"], failed["next"]) == ("bob", "busy", "you")
        assert (await ann.get("/api/desk/snapshot")).json()["call_live"] is True
        await h.hangup_customer(cid)
        await h.wait_state("ann", "wrapup")
        r = await ann.post("/api/desk/command", json={"type": "disposition", "call_id": cid, "code": "sale"})
        assert r.json()["state"] == "paused"  # ann had dialed from her pause
        rec = await h.call_record(cid)
        sim_record = await h.sim.wait_call_ended(cid)
    assert (rec["outcome"], rec["agent_id"], rec["transferred_from"], rec["transfer_failures"]) == (
        "connected", "ann", "", "bob: busy")
    assert (rec["abandoned"], rec["disposition"]) == ("0", "sale")
    assert (sim_record.agent, sim_record.abandon_at) == ("1001", None)  # back on ann's phone, no abandon message


async def test_when_the_first_agent_and_the_supervisor_fail_too_the_call_ends_transfer_failed(redis_url):
    async with DeskHarness(redis_url=redis_url, serve_http=False, pbx=True) as h, \
            client(h, "ann") as ann, client(h, "bob") as bob:
        assert h.sim is not None
        cid = await _ann_talking_bob_ready(h, ann, bob)
        for ext in ("1001", "1002", h.daemon.settings.supervisor_extension):  # every phone refuses a new call now
            h.sim.set_phone(ext, "unavailable")
        await ann.post("/api/desk/transfer", json={"call_id": cid, "target": "bob"})
        rec = await h.call_record(cid)
        while not rec.get("outcome"):
            await h.daemon.feed.wait("ann", h.daemon.feed.last_seq("ann"), 5.0)
            rec = await h.call_record(cid)
        assert h.daemon.engine.roster.get("ann").state.value == "wrapup"
        notes = [(m["target"], m["next"]) for m in _feed(h, "ann", "transfer_failed")]
        r = await ann.post("/api/desk/command", json={"type": "disposition", "call_id": cid,
                                                      "code": "language_barrier"})
        assert r.status_code == 200, r.text
        sim_record = await h.sim.wait_call_ended(cid)
    assert notes == [("bob", "you"), ("ann", "supervisor"), ("supervisor", None)]
    assert (rec["outcome"], rec["abandoned"], rec["agent_id"]) == ("transfer_failed", "0", "ann")
    assert rec["transfer_failures"] == "bob: phone unavailable; ann: phone unavailable; supervisor: phone unavailable"
    assert (sim_record.ended_by, sim_record.abandon_at) == ("dialer", None)


async def test_dialing_a_preview_the_contact_policy_now_refuses_releases_it_and_says_why(redis_url):
    async with DeskHarness(redis_url=redis_url, serve_http=False, pbx=True, mode=Mode.PREVIEW, leads=LEADS) as h, \
            client(h, "ann") as ann:
        await ann.post("/api/desk/command", json={"type": "ready"})
        await h.daemon.offer_previews(h.campaign)
        source = h.daemon.leads[h.campaign]
        source.refuse["L42"] = "suppressed (trouble_ticket)"  # type: ignore[attr-defined]  # a ticket opened
        r = await ann.post("/api/desk/preview/dial", json={"lead_id": "L42", "number_index": 0})
        assert r.status_code == 403
        assert "suppressed (trouble_ticket)" in r.json()["detail"]
        assert h.daemon.engine.stats.placed == 0
        snap = (await ann.get("/api/desk/snapshot")).json()
        assert (snap["agent"]["state"], snap["preview"]) == ("ready", None)
        assert [(x.lead_id, why) for x, why in source.released] == [  # type: ignore[attr-defined]
            ("L42", "suppressed (trouble_ticket)")]
        assert source.given_back == []  # type: ignore[attr-defined]  # released with its reason, not skipped
        await h.daemon.offer_previews(h.campaign)
        assert (await ann.get("/api/desk/snapshot")).json()["preview"]["lead_id"] == "L43"
        await h.daemon.store.flush()
        skips = await h.daemon.store.r.xrange(h.daemon.store.key("preview_skips"))
    [(_id, skip)] = skips
    assert (skip["lead_id"], skip["reason"].startswith("policy: lead L42 may not be dialed now")) == ("L42", True)
