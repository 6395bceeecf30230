"""A callback is not handed to an agent whose account ties them to another campaign: they could never log in
to the callback's campaign, so it would wait for nobody (for ever, with personal_callback_wait_s null)."""

from __future__ import annotations

import httpx
from pydantic import SecretStr
from sup_fakes import AUTH
from test_callbacks_api import rig_with_callbacks

from dialer.config import AgentAccount
from dialer.http import build_app

SUP, RO = AUTH["supervisor"], AUTH["read-only"]


async def test_callbacks_go_only_to_agents_who_may_log_in_to_their_campaign(redis):
    rig, cid, leads = await rig_with_callbacks(redis)
    rig.daemon.settings.agents = [
        AgentAccount(id="ann", extension="1001", password=SecretStr("pw-12345"), campaign=cid),
        AgentAccount(id="zed", extension="1009", password=SecretStr("pw-12345"), campaign="winback"),
        AgentAccount(id="flo", extension="1010", password=SecretStr("pw-12345")),  # any campaign
    ]
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=build_app(rig.daemon)), base_url="http://x") as c:
        r = await c.post(f"/api/campaigns/{cid}/callbacks/reassign", json={"from_agent": "ann", "to_agent": "zed"},
                         headers=SUP)
        assert r.status_code == 422, r.text
        detail = r.json()["detail"]
        assert detail.startswith("to_agent: zed's account ([[agents]] campaign) ties them to campaign winback")
        assert f"can never log in to {cid}" in detail
        assert "name an agent who works" in detail

        r = await c.post(f"/api/campaigns/{cid}/callbacks/move", json={"lead_id": leads[0], "agent": "zed"},
                         headers=SUP)
        assert r.status_code == 422, r.text
        assert r.json()["detail"].startswith("agent: zed's account ([[agents]] campaign) ties them to campaign winback")

        r = await c.get(f"/api/campaigns/{cid}/callbacks", params={"agent": "ann"}, headers=RO)
        assert len(r.json()["callbacks"]) == 3  # nothing moved
        assert (await c.get("/api/audit", headers=AUTH["admin"])).json() == []

        # an agent tied to the campaign, or to none, may keep them
        r = await c.post(f"/api/campaigns/{cid}/callbacks/reassign", json={"from_agent": "ann", "to_agent": "flo"},
                         headers=SUP)
        assert (r.status_code, r.json()["moved"]) == (200, 3)
        r = await c.post(f"/api/campaigns/{cid}/callbacks/reassign", json={"from_agent": "flo", "to_agent": "ann"},
                         headers=SUP)
        assert (r.status_code, r.json()["moved"]) == (200, 3)
