"""The API's numeric settings take JSON numbers only: `true` is not 1.

Lax pydantic read a boolean as a number, so PATCH .../pacing {"max_channels": true} answered 200 with one
channel, and {"surplus_hangup_after_s": false} switched surplus hang-ups off. A JSON integer still goes
where a fractional number may ("ratio": 2), and the 422 is the API's usual one (`message` "where: what").
"""

from __future__ import annotations

import httpx
import pytest
from sup_fakes import AUTH, HookedDaemon, Rig, make_rig

from dialer.http import build_app

SUP, ADMIN = AUTH["supervisor"], AUTH["admin"]


@pytest.mark.parametrize(("knob", "value", "what"), [
    ("max_channels", True, "Input should be a valid integer"),
    ("min_agents_predictive", True, "Input should be a valid integer"),
    ("ratio", True, "Input should be a valid number"),
    ("max_calls_per_agent", True, "Input should be a valid number"),
    ("max_cps", True, "Input should be a valid number"),
    ("surplus_hangup_after_s", False, "Input should be a valid number"),
])
async def test_a_boolean_pacing_knob_is_refused_and_changes_nothing(client, rig, knob, value, what):
    before = (await client.get("/api/campaigns/upsell/pacing", headers=SUP)).json()
    r = await client.patch("/api/campaigns/upsell/pacing", json={knob: value}, headers=SUP)
    assert r.status_code == 422, r.text
    assert r.json()["message"] == f"body.{knob}: {what}"
    assert (await client.get("/api/campaigns/upsell/pacing", headers=SUP)).json() == before


async def test_json_integers_still_set_fractional_knobs(client, rig):
    r = await client.patch("/api/campaigns/upsell/pacing",
                           json={"ratio": 2, "max_calls_per_agent": 4, "max_cps": 20, "max_channels": 50,
                                 "surplus_hangup_after_s": 0}, headers=SUP)
    assert r.status_code == 200, r.text
    p = r.json()["pacing"]
    assert (p["ratio"], p["max_calls_per_agent"], p["max_cps"], p["max_channels"]) == (2.0, 4.0, 20.0, 50)
    assert p["surplus_hangup_after_s"] is None  # 0: never, as before


@pytest.mark.parametrize("body", [{"late_disposition_s": True}, {"wrapup_timeout_s": True},
                                  {"preview_auto_dial_s": False}])
async def test_a_boolean_campaign_setting_is_refused(client, rig, body):
    r = await client.patch("/api/campaigns/upsell", json=body, headers=ADMIN)
    assert r.status_code == 422, r.text
    assert r.json()["message"] == f"body.{next(iter(body))}: Input should be a valid number"


async def test_campaign_settings_still_take_integers(client, rig):
    r = await client.patch("/api/campaigns/upsell", json={"wrapup_timeout_s": 30, "late_disposition_s": 0},
                           headers=ADMIN)
    assert r.status_code == 200, r.text
    assert (r.json()["wrapup_timeout_s"], r.json()["late_disposition_s"]) == (30.0, 0.0)


@pytest.fixture
def hooked(redis: object) -> Rig:
    return make_rig(redis, daemon_cls=HookedDaemon)


@pytest.mark.parametrize(("body", "where", "what"), [
    ({"pacing": {"max_channels": True}}, "body.pacing.max_channels", "Input should be a valid integer"),
    ({"pacing": {"ratio": True}}, "body.pacing.ratio", "Input should be a valid number"),
    ({"pacing": {"amd_audit_min_samples": True}}, "body.pacing.amd_audit_min_samples",
     "Input should be a valid integer"),
    ({"late_disposition_s": True}, "body.late_disposition_s", "Input should be a valid number"),
])
async def test_creating_a_campaign_refuses_booleans_for_numbers(hooked: Rig, body, where, what):
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=build_app(hooked.daemon)),
                                 base_url="http://dialer") as c:
        r = await c.post("/api/campaigns", json={"id": "winback", **body}, headers=ADMIN)
    assert r.status_code == 422, r.text
    assert r.json()["message"] == f"{where}: {what}"
    assert "winback" not in hooked.engine.campaigns


async def test_creating_a_campaign_takes_integers_and_keeps_the_config_rules(hooked: Rig):
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=build_app(hooked.daemon)),
                                 base_url="http://dialer") as c:
        r = await c.post("/api/campaigns", json={"id": "winback", "pacing": {"surplus_hangup_after_s": 14}},
                         headers=ADMIN)
        assert r.status_code == 422, r.text  # the config's bound, kept
        assert r.json()["message"].startswith("body.pacing.surplus_hangup_after_s: Input should be greater than")
        r = await c.post("/api/campaigns", json={"id": "winback", "ring_timeout_s": 30, "pacing": {
            "mode": "power", "ratio": 2, "max_cps": 10, "max_channels": 40, "surplus_hangup_after_s": 0}},
            headers=ADMIN)
    assert r.status_code == 201, r.text
    p = r.json()["pacing"]
    assert (p["mode"], p["ratio"], p["max_cps"], p["max_channels"]) == ("power", 2.0, 10.0, 40)
    assert p["surplus_hangup_after_s"] is None
    assert r.json()["ring_timeout_s"] == 30.0
