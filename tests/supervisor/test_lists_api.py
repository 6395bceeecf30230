"""A supervisor lists a campaign's lead lists, pauses one and resumes it (API, CLI, audit)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from sup_fakes import AUTH, TOKENS, cli_runner, live_server, make_rig, settings

from dialer.campaigns.loader import load_campaign
from dialer.config import CampaignSettings
from dialer.hopper import Hopper, LeadStore
from dialer.hopper_source import HopperLeadSource
from dialer.http import build_app
from dialer.leads.demo import load_demo_leads
from dialer.policy import DialResult
from dialer.policy.contact import ContactPolicy
from dialer.supervisor.context import Ctx

CAMPAIGN = Path(__file__).resolve().parents[2] / "examples" / "campaigns" / "base_upsell.toml"
T0 = dt.datetime(2026, 11, 23, 13, 0, tzinfo=ZoneInfo("America/New_York")).timestamp()


async def rig_with_two_lists(redis: Any) -> tuple[Any, str, Hopper]:
    """Four synthetic leads in list "demo", two in list "vendor may"."""
    camp = load_campaign(CAMPAIGN)
    rig = make_rig(redis, cfg=settings([CampaignSettings(id=camp.id)]), start=T0)
    store = LeadStore(redis, prefix=rig.store.prefix)
    await load_demo_leads(store, camp, 4, 7, T0 - 3600)
    await store.import_rows(camp, [{"mobile": "2125550142", "id": "v1"}, {"mobile": "2125550143", "id": "v2"}],
                            now=T0 - 3600, list_name="vendor may")
    hopper = Hopper(redis, camp, ContactPolicy(camp), prefix=rig.store.prefix)
    rig.daemon.leads[camp.id] = HopperLeadSource(hopper)
    return rig, camp.id, hopper


def unworked(leads: int) -> dict[str, int]:
    return {"dials": 0, "contacts": 0, "sales": 0, "finished": 0, "remaining": leads}


async def test_a_supervisor_pauses_a_list_its_leads_wait_and_a_resume_brings_them_back(redis):
    rig, cid, hopper = await rig_with_two_lists(redis)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=build_app(rig.daemon)), base_url="http://x") as c:
        sup = AUTH["supervisor"]
        got = (await c.get(f"/api/campaigns/{cid}/lists", headers=sup)).json()
        assert got == {"campaign_id": cid, "lists": [{"name": "demo", "leads": 4, "paused": False, **unworked(4)},
                                                     {"name": "vendor may", "leads": 2, "paused": False,
                                                      **unworked(2)}]}
        r = await c.post(f"/api/campaigns/{cid}/lists/vendor may/pause", headers=AUTH["read-only"])
        assert r.status_code == 403
        r = await c.post(f"/api/campaigns/{cid}/lists/vendor%20may/pause", headers=sup)
        assert r.json() == {"campaign_id": cid, "name": "vendor may", "leads": 2, "paused": True, **unworked(2)}
        await hopper.fill(T0)
        taken = await hopper.take(10, T0)
        assert len(taken) == 4
        assert not {"v1", "v2"} & {t.lead_id for t in taken}
        r = await c.post(f"/api/campaigns/{cid}/lists/vendor may/resume", headers=sup)
        assert r.json() == {"campaign_id": cid, "name": "vendor may", "leads": 2, "paused": False, **unworked(2),
                            "released": 2}
        await hopper.fill(T0 + 60)
        assert sorted(t.lead_id for t in await hopper.take(10, T0 + 60)) == ["v1", "v2"]
        r = await c.post(f"/api/campaigns/{cid}/lists/vendor-june/pause", headers=sup)
        assert r.status_code == 404
        assert "its lists: demo, vendor may" in r.json()["detail"]
        audit = (await c.get("/api/audit", headers=AUTH["admin"])).json()
        assert [(a["action"], a["details"]) for a in audit] == [
            ("lists.resume", {"list_name": "vendor may", "released": 2}),
            ("lists.pause", {"list_name": "vendor may"})]


async def test_the_cli_shows_pauses_and_resumes_lists(redis):
    rig, cid, _ = await rig_with_two_lists(redis)
    async with live_server(build_app(rig.daemon)) as url:
        run = cli_runner(url, TOKENS["supervisor"])
        assert await run("lists", "pause", cid, "vendor may") == (
            f"{cid}: list vendor may paused; its leads wait until it is resumed (those also in a running list, "
            "and due callbacks, do not)\n")
        shown = (await run("lists", "show", cid)).splitlines()
        assert [line.split() for line in shown] == [
            ["list", "leads", "dials", "contacts", "sales", "conv", "finished", "remaining", "state"],
            ["demo", "4", "0", "0", "0", "-", "0", "4", "running"],
            ["vendor", "may", "2", "0", "0", "0", "-", "0", "2", "PAUSED"]]
        assert await run("lists", "resume", cid, "vendor may") == (
            f"{cid}: list vendor may resumed; 0 lead(s) that waited for it are due again\n")


async def test_the_wallboard_names_the_paused_lists(redis):
    rig, cid, hopper = await rig_with_two_lists(redis)
    board = Ctx.build(rig.daemon).board
    [card] = [c for c in (await board.snapshot())["campaigns"] if c["id"] == cid]
    assert card["hopper"]["lists_paused"] == []
    await hopper.pause_list("vendor may", T0)
    [card] = [c for c in (await board.snapshot())["campaigns"] if c["id"] == cid]
    assert card["hopper"]["lists_paused"] == ["vendor may"]


async def test_the_wallboard_and_the_metrics_show_how_far_each_list_is_worked(redis):
    rig, cid, hopper = await rig_with_two_lists(redis)
    await hopper.fill(T0)
    [t] = [t for t in await hopper.take(10, T0) if t.lead_id == "v1"]
    await hopper.record_result(t, DialResult("live", "sale"), T0)  # type: ignore[arg-type]
    ctx = Ctx.build(rig.daemon)
    [card] = [c for c in (await ctx.board.snapshot())["campaigns"] if c["id"] == cid]
    assert card["hopper"]["lists"] == [
        {"name": "demo", "leads": 4, "remaining": 4, "contacts": 0, "sales": 0, "paused": False},
        {"name": "vendor may", "leads": 2, "remaining": 1, "contacts": 1, "sales": 1, "paused": False}]
    gauge = rig.daemon.metrics.list_remaining
    assert gauge.labels(cid, "vendor may")._value.get() == 1
