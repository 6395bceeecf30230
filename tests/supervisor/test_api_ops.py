"""Supervisor API: auth and roles, campaigns, pacing knobs, decision log, agents, listen-in, calls, audit."""

from __future__ import annotations

from sup_fakes import AUTH, TOKENS, HookedDaemon, make_rig, period_under_way, put_on_call, record, settings

from agents.state import AgentState
from dialer.errors import AmiConnectionError
from dialer.supervisor.records import lead_pseudonym
from pacing import Mode, Reason

ADMIN, SUP, RO = AUTH["admin"], AUTH["supervisor"], AUTH["read-only"]


# ---------------------------------------------------------------------------------------------- auth
UNAUTHORISED = [
    ({}, "missing credentials"),
    ({"Authorization": "Bearer nope"}, "unknown API token"),
    ({"Authorization": f"Basic {TOKENS['admin']}"}, "missing credentials"),
    ({"Authorization": "Bearer change-me-session-secret"}, "agent session tokens are not accepted"),
]


async def test_requests_without_a_valid_api_token_get_401(client):
    for headers, words in UNAUTHORISED:
        r = await client.get("/api/campaigns", headers=headers)
        assert r.status_code == 401, headers
        assert words in r.json()["detail"]
        assert r.headers["www-authenticate"] == "Bearer"


async def test_a_daemon_without_tokens_says_how_to_configure_them(redis):
    import httpx

    from dialer.http import build_app

    rig = make_rig(redis, cfg=settings(tokens=False))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=build_app(rig.daemon)), base_url="http://x") as c:
        r = await c.get("/api/status", headers=ADMIN)
    assert r.status_code == 401
    assert "[[api_tokens]]" in r.json()["detail"]


NEEDS = [
    ("patch", "/api/campaigns/upsell/pacing", {"ratio": 2.0}, "supervisor"),
    ("post", "/api/campaigns/upsell/pause", None, "supervisor"),
    ("post", "/api/agents/a1/pause", {"reason": "coaching"}, "supervisor"),
    ("patch", "/api/campaigns/upsell", {"amd": False}, "admin"),
    ("post", "/api/campaigns", {"id": "winback"}, "admin"),
    ("get", "/api/audit", None, "admin"),
    ("post", "/api/campaigns/upsell/amd_audit/reset", {"reason": "AMD retuned"}, "supervisor"),
]


async def test_roles_below_the_needed_one_get_403_and_nothing_changes(client, rig):
    rig.login("a1", "1001")
    for method, path, body, least in NEEDS:
        for role in ("read-only",) if least == "supervisor" else ("read-only", "supervisor"):
            kw = {"json": body} if body is not None else {}
            r = await client.request(method, path, headers=AUTH[role], **kw)
            assert r.status_code == 403, (role, path, r.text)
            assert f"needs {least}" in r.json()["detail"]
    camp = rig.engine.campaigns["upsell"]
    assert (camp.pacer.knobs.ratio, camp.paused, camp.amd) == (1.0, False, True)
    assert rig.engine.roster.get("a1").state is AgentState.READY
    assert "winback" not in rig.engine.campaigns


async def test_whoami_and_openapi(client):
    r = await client.get("/api/whoami", headers=SUP)
    assert r.json() == {"name": "supervisor-user", "role": "supervisor"}
    spec = (await client.get("/api/openapi.json")).json()
    assert "/api/campaigns/{campaign_id}/pacing" in spec["paths"]
    assert spec["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"


# ---------------------------------------------------------------------------------------------- campaigns
async def test_list_and_show_campaigns(client, rig):
    rig.login("a1", "1001")
    [c] = (await client.get("/api/campaigns", headers=RO)).json()
    assert (c["id"], c["name"], c["status"], c["pacing"]["mode"], c["agents"]["ready"]) == (
        "upsell", "Fiber upsell", "running", "power", 1)
    r = await client.get("/api/campaigns/nope", headers=RO)
    assert r.status_code == 404
    assert "no campaign 'nope' (campaigns: upsell)" in r.json()["detail"]
    assert (await client.get("/api/campaigns/bad%20id", headers=RO)).status_code == 422


async def test_start_pause_stop(client, rig):
    rig.login("a1", "1001")
    rig.login("a2", "1002", ready=False)
    r = await client.post("/api/campaigns/upsell/pause", headers=SUP)
    assert r.json()["status"] == "paused"
    assert rig.engine.campaigns["upsell"].paused
    r = await client.post("/api/campaigns/upsell/start", headers=SUP)
    assert r.json()["status"] == "running"
    assert not rig.engine.campaigns["upsell"].paused
    r = await client.post("/api/campaigns/upsell/stop", headers=SUP)
    assert r.json()["status"] == "stopped"
    assert rig.engine.campaigns["upsell"].paused
    assert rig.engine.roster.get("a1").state is AgentState.PAUSED
    assert rig.engine.roster.get("a1").pause_reason == "campaign stopped"
    assert (await client.post("/api/campaigns/upsell/start", headers=SUP)).json()["status"] == "running"
    assert (await client.post("/api/campaigns/nope/start", headers=SUP)).status_code == 404


async def test_edit_campaign_settings(client, rig):
    r = await client.patch("/api/campaigns/upsell", headers=ADMIN,
                           json={"amd": False, "ring_timeout_s": 25, "caller_id_number": "+15550100"})
    assert r.status_code == 200
    camp = rig.engine.campaigns["upsell"]
    assert (camp.amd, camp.ring_timeout_s, camp.caller_id_number) == (False, 25, "+15550100")
    assert (camp.record_calls, camp.after_wrapup_timeout, camp.late_disposition_s) == (False, "pause", 900.0)
    r = await client.patch("/api/campaigns/upsell", headers=ADMIN,
                           json={"record_calls": True, "after_wrapup_timeout": "ready", "late_disposition_s": 0})
    assert r.status_code == 200, r.text
    assert (camp.record_calls, camp.after_wrapup_timeout, camp.late_disposition_s) == (True, "ready", 0.0)
    view = r.json()
    assert (view["record_calls"], view["after_wrapup_timeout"], view["late_disposition_s"]) == (True, "ready", 0.0)
    assert (view["amd"], view["ring_timeout_s"]) == (False, 25.0)  # fields left out keep their value
    r = await client.patch("/api/campaigns/upsell", headers=ADMIN, json={"preview_auto_dial_s": 10})
    assert (r.json()["preview_auto_dial_s"], camp.preview_auto_dial_s) == (10.0, 10.0)
    r = await client.patch("/api/campaigns/upsell", headers=ADMIN, json={"preview_auto_dial_s": 0})  # off again
    assert (r.json()["preview_auto_dial_s"], camp.preview_auto_dial_s) == (None, None)


async def test_bad_campaign_edits_get_422_and_change_nothing(client, rig):
    for body in ({"ring_timeout_s": 10}, {"caller_id_name": 'Evil"<x>'}, {"amd": "maybe"}, {"colour": "red"}, {},
                 {"wrapup_timeout_s": -1}, {"after_wrapup_timeout": "sleep"}, {"late_disposition_s": -5},
                 {"record_calls": "sometimes"}, {"preview_auto_dial_s": 1}, {"preview_auto_dial_s": 601}):
        r = await client.patch("/api/campaigns/upsell", headers=ADMIN, json=body)
        assert r.status_code == 422, (body, r.text)
        camp = rig.engine.campaigns["upsell"]
        assert (camp.amd, camp.ring_timeout_s, camp.caller_id_name) == (True, 20.0, "Dialer")
        assert (camp.record_calls, camp.after_wrapup_timeout, camp.late_disposition_s) == (False, "pause", 900.0)


async def test_creating_a_campaign_needs_the_daemon_hook(client, rig):
    r = await client.post("/api/campaigns", headers=ADMIN, json={"id": "winback"})
    assert r.status_code == 501
    assert "Daemon.add_campaign" in r.json()["detail"]
    assert (await client.post("/api/campaigns", headers=ADMIN, json={"id": "upsell"})).status_code == 409


async def test_create_campaign_through_the_hook_starts_paused(redis):
    import httpx

    from dialer.http import build_app

    rig = make_rig(redis, daemon_cls=HookedDaemon)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=build_app(rig.daemon)), base_url="http://x") as c:
        body = {"id": "winback", "name": "Win-back Q3", "amd": False,
                "pacing": {"mode": "predictive", "target_abandon": 0.02}}
        r = await c.post("/api/campaigns", headers=ADMIN, json=body)
        assert r.status_code == 201, r.text
        assert (r.json()["status"], r.json()["name"], r.json()["pacing"]["mode"]) == ("paused", "Win-back Q3",
                                                                                      "predictive")
        assert rig.engine.campaigns["winback"].paused
        bad = await c.post("/api/campaigns", headers=ADMIN, json={"id": "x y"})
        assert bad.status_code == 422
        bad = await c.post("/api/campaigns", headers=ADMIN, json={"id": "cold", "pacing": {"ratio": 0.5}})
        assert bad.status_code == 422
        assert "cold" not in rig.engine.campaigns
        audit = (await c.get("/api/audit", headers=ADMIN)).json()
        assert [a["action"] for a in audit] == ["campaign.create"]


# ---------------------------------------------------------------------------------------------- pacing
async def test_pacing_change_applies_to_the_next_decision(client, rig):
    period_under_way(rig)
    rig.login("a1", "1001")
    rig.login("a2", "1002")
    r = await client.patch("/api/campaigns/upsell/pacing", headers=SUP, json={"ratio": 2.5})
    assert r.status_code == 200
    assert (r.json()["before"]["ratio"], r.json()["pacing"]["ratio"]) == (1.0, 2.5)
    d = rig.engine.decide("upsell", rig.clock.now(), 100)
    assert (d.mode, d.launch) == (Mode.POWER, 5)
    knobs = (await client.get("/api/campaigns/upsell/pacing", headers=RO)).json()
    assert knobs["ratio"] == 2.5
    assert knobs["mode"] == "power"


BAD_PACING = [
    ({"ratio": 0.5}, "ratio"),
    ({"ratio": 11}, "ratio"),
    ({"mode": "turbo"}, "mode"),
    ({"target_abandon": 0.05}, "target_abandon"),
    ({"target_abandon": 0}, "target_abandon"),
    ({"max_calls_per_agent": 0.2}, "max_calls_per_agent"),
    ({"ratio": 2, "speed": 3}, "speed"),
    ({"ratio": "two"}, "ratio"),
    ({}, "nothing to change"),
    ({"surplus_hangup_after_s": 10}, "at least 15 s"),
    ({"surplus_hangup_after_s": -1}, "surplus_hangup_after_s"),
]


async def test_surplus_hangups_are_tuned_or_switched_off_live(client, rig):
    r = await client.patch("/api/campaigns/upsell/pacing", headers=SUP, json={"surplus_hangup_after_s": 20})
    assert (r.json()["before"]["surplus_hangup_after_s"], r.json()["pacing"]["surplus_hangup_after_s"]) == (15.0, 20.0)
    r = await client.patch("/api/campaigns/upsell/pacing", headers=SUP, json={"surplus_hangup_after_s": 0})
    assert r.json()["pacing"]["surplus_hangup_after_s"] is None
    assert rig.engine.campaigns["upsell"].pacer.knobs.surplus_hangup_after_s is None


async def test_bad_pacing_payloads_get_422_naming_the_field_and_change_nothing(client, rig):
    before = rig.engine.campaigns["upsell"].pacer.knobs
    for body, words in BAD_PACING:
        r = await client.patch("/api/campaigns/upsell/pacing", headers=SUP, json=body)
        assert r.status_code == 422, body
        assert words in r.text
        assert rig.engine.campaigns["upsell"].pacer.knobs is before


async def test_malformed_json_and_nan_are_rejected(client, rig):
    before = rig.engine.campaigns["upsell"].pacer.knobs
    for raw in (b"{ratio: 2", b'{"ratio": NaN}', b'{"ratio": Infinity}', b"[1,2]"):
        r = await client.patch("/api/campaigns/upsell/pacing", headers={**SUP, "content-type": "application/json"},
                               content=raw)
        assert r.status_code == 422, raw
    assert rig.engine.campaigns["upsell"].pacer.knobs is before


async def test_decision_log_says_why(client, rig):
    now = rig.clock.now()
    rig.engine.decide("upsell", now, 100)
    rig.login("a1", "1001")
    rig.engine.decide("upsell", now + 1, 0)
    rig.engine.decide("upsell", now + 2, 100)
    log = (await client.get("/api/campaigns/upsell/decisions?limit=2", headers=RO)).json()
    assert [d["reason"] for d in log["decisions"]] == [Reason.DIALING.value, Reason.HOPPER_EMPTY.value]
    assert log["why"].startswith("dialing 1 (power; 1 ready, 0 in flight")
    assert log["decisions"][1]["why"] == "not dialing because: hopper empty"
    assert log["reasons"] == {"no ready agents": 1, "hopper empty": 1, "dialing": 1}
    assert (await client.get("/api/campaigns/upsell/decisions?limit=0", headers=RO)).status_code == 422


# ---------------------------------------------------------------------------------------------- agents
async def test_agents_list_and_forced_pause_and_logout(client, rig):
    rig.login("a1", "1001")
    rig.login("a2", "1002")
    cid = put_on_call(rig)
    agents = (await client.get("/api/agents?campaign=upsell", headers=RO)).json()
    assert [(a["id"], a["state"]) for a in agents] == [("a1", "talking"), ("a2", "ready")]
    assert agents[0]["call_id"] == cid
    assert [a["id"] for a in (await client.get("/api/agents?state=ready", headers=RO)).json()] == ["a2"]
    r = await client.post("/api/agents/a2/pause", headers=SUP, json={"reason": "coaching"})
    assert (r.json()["state"], r.json()["pause_reason"]) == ("paused", "coaching")
    r = await client.post("/api/agents/a1/pause", headers=SUP, json={"reason": "coaching"})
    assert (r.json()["state"], r.json()["pending_pause"]) == ("talking", "coaching")
    r = await client.post("/api/agents/a2/logout", headers=SUP)
    assert r.json()["state"] == "logged_out"
    r = await client.post("/api/agents/a2/logout", headers=SUP)
    assert r.status_code == 409
    assert "already logged out" in r.json()["detail"]
    assert (await client.post("/api/agents/zz/logout", headers=SUP)).status_code == 404
    assert (await client.get("/api/agents?state=dancing", headers=RO)).status_code == 422
    assert (await client.post("/api/agents/a1/pause", headers=SUP, json={"reason": ""})).status_code == 422
    actions = [a["action"] for a in (await client.get("/api/audit", headers=ADMIN)).json()]
    assert actions == ["agent.logout", "agent.pause", "agent.pause"]


async def test_listen_whisper_barge_ring_the_supervisor_into_chanspy_and_are_audited(client, rig):
    rig.login("a1", "1001")
    rig.login("a2", "1002")
    assert (await client.post("/api/agents/a1/spy", headers=SUP, json={"extension": "2001"})).status_code == 409
    cid = put_on_call(rig)
    r = await client.post("/api/agents/a1/spy", headers=SUP, json={"mode": "whisper", "extension": "2001"})
    assert r.status_code == 200, r.text
    [action] = rig.ami.sent
    h = dict(action.headers)
    assert (action.name, h["Channel"], h["Application"], h["Data"], h["Async"]) == (
        "Originate", "PJSIP/2001", "ChanSpy", "PJSIP/1001-,qbEw", "true")
    assert f"DIALER_SPY_CALL={cid}" in h["Variable"]
    audit = (await client.get("/api/audit", headers=ADMIN)).json()
    assert [(a["action"], a["who"], a["target"]) for a in audit] == [
        ("spy.whisper.started", "supervisor-user", "a1"), ("spy.whisper", "supervisor-user", "a1")]
    assert audit[1]["details"]["call_id"] == cid
    assert (await client.post("/api/agents/a1/spy", headers=RO, json={"extension": "2001"})).status_code == 403
    bad = await client.post("/api/agents/a1/spy", headers=SUP, json={"mode": "steal", "extension": "2001"})
    assert bad.status_code == 422
    bad = await client.post("/api/agents/a1/spy", headers=SUP, json={"extension": "20 01\r\nAction: Hangup"})
    assert bad.status_code == 422
    rig.ami.fail = AmiConnectionError("not connected to AMI")
    r = await client.post("/api/agents/a1/spy", headers=SUP, json={"mode": "barge", "extension": "2001"})
    assert r.status_code == 503
    assert "not connected" in r.json()["detail"]
    assert (await client.get("/api/audit?limit=1", headers=ADMIN)).json()[0]["action"] == "spy.barge.failed"
    assert len(rig.ami.sent) == 1


# ---------------------------------------------------------------------------------------------- calls
async def test_call_records_query_filters_masks_and_pages(client, rig):
    t0 = rig.clock.now()
    for i in range(5):
        rig.record(record(f"c{i}", ended_at=t0 + i, agent="a1" if i % 2 else "a2", lead=f"L{i}"))
    rig.record(record("c5", ended_at=t0 + 5, outcome="abandoned", abandoned=True, agent=None, talk=None))
    await rig.flush()
    page = (await client.get("/api/calls?limit=2", headers=SUP)).json()
    assert [c["call_id"] for c in page["calls"]] == ["c5", "c4"]
    assert page["calls"][0]["abandoned"] is True
    assert page["calls"][1]["talk_s"] == 120.0
    assert page["calls"][1]["number"] == "+15551234567"
    nxt = (await client.get(f"/api/calls?limit=2&before={page['next']}", headers=SUP)).json()
    assert [c["call_id"] for c in nxt["calls"]] == ["c3", "c2"]
    ro = (await client.get("/api/calls?agent=a1", headers=RO)).json()
    assert [c["call_id"] for c in ro["calls"]] == ["c3", "c1"]
    assert ro["calls"][0]["number"] == "+15*******67"
    ab = (await client.get("/api/calls?abandoned=true", headers=RO)).json()
    assert [c["call_id"] for c in ab["calls"]] == ["c5"]
    win = (await client.get(f"/api/calls?since={t0 + 1}&until={t0 + 3}", headers=RO)).json()
    assert [c["call_id"] for c in win["calls"]] == ["c2", "c1"]
    assert (await client.get("/api/calls?before=abc", headers=RO)).status_code == 422
    one = await client.get("/api/calls/c2", headers=RO)
    assert one.json()["lead_id"] == lead_pseudonym("L2")  # a lead id may be a number's: read-only sees a pseudonym
    assert (await client.get("/api/calls/c2", headers=SUP)).json()["lead_id"] == "L2"
    assert (await client.get("/api/calls/none", headers=RO)).status_code == 404


async def test_status_summarises_every_campaign(client, rig):
    rig.login("a1", "1001")
    rig.engine.decide("upsell", rig.clock.now(), 0)
    s = (await client.get("/api/status", headers=RO)).json()
    assert s["dialing"] is True
    assert s["agents"]["ready"] == 1
    assert s["campaigns"][0]["why"] == "not dialing because: hopper empty"


async def test_an_agents_desktop_session_token_is_refused(client, rig):
    from agents.desk.auth import SessionSigner

    token = SessionSigner(rig.daemon.settings.http.session_secret.get_secret_value(), 3600).issue("a1").token
    r = await client.get("/api/campaigns", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 401
    assert "agent session tokens are not accepted" in r.json()["detail"]
    client.cookies.set("dialer_session", token)
    assert (await client.get("/api/campaigns")).status_code == 401


async def test_the_amd_audit_reset_needs_the_read_back_and_a_reason_and_is_audited(client, rig):
    path = "/api/campaigns/upsell/amd_audit/reset"
    r = await client.post(path, headers=SUP, json={"reason": "AMD retuned"})
    assert r.status_code == 503  # the daemon has not read the sample back from Redis yet
    assert "not read back from Redis yet" in r.json()["detail"]
    assert (await client.post(path, headers=SUP, json={})).status_code == 422  # no reason
    assert (await client.post(path, headers=SUP, json={"reason": "x\r\nAction: Hangup"})).status_code == 422
    rig.daemon.ledger_ready["upsell"].set()
    audit = rig.daemon.audits["upsell"]
    for person in (True, False, False):
        audit.record(person)
    r = await client.post(path, headers=SUP, json={"reason": "AMD retuned: silence threshold 1500"})
    assert r.status_code == 200, r.text
    assert r.json()["forgotten"] == {"persons": 1, "audited": 3}
    assert (r.json()["amd_audit"]["audited"], r.json()["amd_audit"]["source"]) == (0, "configured")
    [entry] = [a for a in (await client.get("/api/audit", headers=ADMIN)).json() if a["action"] == "amd_audit.reset"]
    assert (entry["who"], entry["target"]) == ("supervisor-user", "upsell")
    assert entry["details"] == {"reason": "AMD retuned: silence threshold 1500", "forgotten_persons": 1,
                                "forgotten_audits": 3}
    assert (await client.post("/api/campaigns/nope/amd_audit/reset", headers=SUP,
                              json={"reason": "AMD retuned"})).status_code == 404
