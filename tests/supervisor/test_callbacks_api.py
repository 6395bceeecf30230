"""Supervisors list the callbacks an agent kept for themselves and hand them to another agent, or to anyone."""

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
from dialer.supervisor.records import lead_pseudonym

CAMPAIGN = Path(__file__).resolve().parents[2] / "examples" / "campaigns" / "base_upsell.toml"
T0 = dt.datetime(2026, 11, 23, 13, 0, tzinfo=ZoneInfo("America/New_York")).timestamp()


def anon(*leads: str) -> list[str]:
    """The lead ids as a read-only token sees them."""
    return [lead_pseudonym(x) for x in leads]


async def rig_with_callbacks(redis: Any) -> tuple[Any, str, list[str]]:
    """A daemon whose campaign's hopper holds three callbacks ann kept for herself and one bob kept."""
    config = load_campaign(CAMPAIGN)
    rig = make_rig(redis, cfg=settings([CampaignSettings(id=config.id)]), start=T0)
    prefix = rig.store.prefix
    await load_demo_leads(LeadStore(redis, prefix=prefix), config, 10, 7, T0 - 3600)
    hopper = Hopper(redis, config, ContactPolicy(config), prefix=prefix)
    await hopper.fill(T0 - 3600)
    taken = await hopper.take(4, T0 - 3600)
    for i, (t, agent) in enumerate(zip(taken, ("ann", "ann", "bob", "ann"), strict=True)):
        await hopper.record_result(t, DialResult("live", "callback", callback_at=T0 + 3600 * (i + 1),  # type: ignore[arg-type]
                                                 callback_agent=agent), T0 - 3600)
    rig.daemon.leads[config.id] = HopperLeadSource(hopper)
    return rig, config.id, [t.lead_id for t in taken]


async def test_a_supervisor_lists_an_agents_callbacks_and_hands_them_to_another_or_to_anyone(redis):
    rig, cid, leads = await rig_with_callbacks(redis)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=build_app(rig.daemon)), base_url="http://x") as c:
        r = await c.get(f"/api/campaigns/{cid}/callbacks", params={"agent": "ann"}, headers=AUTH["read-only"])
        assert [x["lead_id"] for x in r.json()["callbacks"]] == anon(leads[0], leads[1], leads[3])  # earliest first
        r = await c.post(f"/api/campaigns/{cid}/callbacks/reassign", json={"from_agent": "ann", "to_agent": "cid"},
                         headers=AUTH["read-only"])
        assert r.status_code == 403  # a supervisor's move
        r = await c.post(f"/api/campaigns/{cid}/callbacks/reassign", json={"from_agent": "ann", "to_agent": "cid"},
                         headers=AUTH["supervisor"])
        assert r.json() == {"campaign_id": cid, "from_agent": "ann", "to_agent": "cid", "moved": 3}
        r = await c.get(f"/api/campaigns/{cid}/callbacks", params={"agent": "ann"}, headers=AUTH["read-only"])
        assert r.json()["callbacks"] == []
        r = await c.get(f"/api/campaigns/{cid}/callbacks", params={"agent": "cid"}, headers=AUTH["read-only"])
        assert len(r.json()["callbacks"]) == 3
        r = await c.post(f"/api/campaigns/{cid}/callbacks/reassign", json={"from_agent": "bob"},
                         headers=AUTH["supervisor"])
        assert r.json()["moved"] == 1  # to anyone: the pacer's next take may dial it when due
        r = await c.post(f"/api/campaigns/{cid}/callbacks/reassign", json={"from_agent": "bob", "to_agent": "bob"},
                         headers=AUTH["supervisor"])
        assert r.status_code == 422
        audit = (await c.get("/api/audit", headers=AUTH["admin"])).json()
        assert [(a["action"], a["details"]["to_agent"], a["details"]["moved"]) for a in audit] == [
            ("callbacks.reassign", "anyone", 1), ("callbacks.reassign", "cid", 3)]
    targets = await rig.daemon.leads[cid].take(10, T0 + 3 * 3600 + 1)  # type: ignore[attr-defined]
    assert leads[2] in {t.lead_id for t in targets}  # bob's former callback, due, went to whoever was free


async def test_unknown_campaigns_and_sources_without_callbacks_answer_clearly(redis):
    rig = make_rig(redis)  # its campaign's leads come from an in-memory source
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=build_app(rig.daemon)), base_url="http://x") as c:
        r = await c.get("/api/campaigns/nope/callbacks", params={"agent": "ann"}, headers=AUTH["read-only"])
        assert r.status_code == 404
        r = await c.get("/api/campaigns/upsell/callbacks", params={"agent": "ann"}, headers=AUTH["read-only"])
        assert r.json()["callbacks"] == []  # nothing is kept for agents there
        r = await c.post("/api/campaigns/upsell/callbacks/reassign", json={"from_agent": "ann"},
                         headers=AUTH["supervisor"])
        assert (r.status_code, "Redis hopper" in r.json()["detail"]) == (409, True)


async def test_the_cli_lists_and_reassigns(redis):
    rig, cid, _leads = await rig_with_callbacks(redis)
    async with live_server(build_app(rig.daemon)) as url:
        run = cli_runner(url, TOKENS["supervisor"])
        listing = await run("callbacks", "list", cid, "--agent", "ann")
        assert len(listing.strip().splitlines()) == 3
        moved = await run("callbacks", "reassign", cid, "--from", "ann")
        assert moved == "3 callback(s) of ann now kept for any agent\n"
        assert await run("callbacks", "list", cid, "--agent", "ann") == f"ann: no callback kept in {cid}\n"


async def test_a_supervisor_moves_one_callback_in_time_or_to_another_agent(redis):
    rig, cid, leads = await rig_with_callbacks(redis)
    later = dt.datetime(2026, 11, 24, 14, 0, tzinfo=ZoneInfo("America/New_York"))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=build_app(rig.daemon)), base_url="http://x") as c:
        body = {"lead_id": leads[3], "at": later.isoformat(), "agent": "bob"}
        r = await c.post(f"/api/campaigns/{cid}/callbacks/move", json=body, headers=AUTH["read-only"])
        assert r.status_code == 403
        r = await c.post(f"/api/campaigns/{cid}/callbacks/move", json=body, headers=AUTH["supervisor"])
        assert r.json() == {"campaign_id": cid, "lead_id": leads[3], "at": later.timestamp(), "kept_for": "bob"}
        r = await c.get(f"/api/campaigns/{cid}/callbacks", params={"agent": "bob"}, headers=AUTH["read-only"])
        assert [(x["lead_id"], x["at"]) for x in r.json()["callbacks"]] == [(anon(leads[2])[0], T0 + 3 * 3600),
                                                                           (anon(leads[3])[0], later.timestamp())]
        r = await c.post(f"/api/campaigns/{cid}/callbacks/move", json={"lead_id": leads[0]},
                         headers=AUTH["supervisor"])
        assert r.json()["at"] is None  # same time, for anyone
        r = await c.get(f"/api/campaigns/{cid}/callbacks", params={"agent": "ann"}, headers=AUTH["read-only"])
        assert [x["lead_id"] for x in r.json()["callbacks"]] == anon(leads[1])
        # a time in the past, or too far ahead, is refused as the desk's callback time is, naming the field
        for bad, why in (("2026-11-23T12:00:00-05:00", "not in the future"), ("2027-06-01T12:00:00Z", "30 days"),
                         ("tomorrow", "ISO-8601"), ("2026-11-24T10:00", "UTC offset"),
                         ("2026-11-24T06:00:00-08:00", "outside calling hours")):  # the demo leads' zones
            r = await c.post(f"/api/campaigns/{cid}/callbacks/move", json={"lead_id": leads[1], "at": bad},
                             headers=AUTH["supervisor"])
            detail = r.json()["detail"]
            assert (r.status_code, detail.startswith("at: "), why in detail) == (422, True, True)
        r = await c.post(f"/api/campaigns/{cid}/callbacks/move", json={"lead_id": "nope"}, headers=AUTH["supervisor"])
        assert (r.status_code, "no scheduled callback" in r.json()["detail"]) == (409, True)
        audit = (await c.get("/api/audit", headers=AUTH["admin"])).json()
        assert [(a["action"], a["details"]["lead_id"], a["details"]["agent"]) for a in audit] == [
            ("callbacks.move", leads[0], "anyone"), ("callbacks.move", leads[3], "bob")]
    [taken] = await rig.daemon.leads[cid].take(1, T0 + 3600 + 1)  # type: ignore[attr-defined]
    assert taken.lead_id == leads[0]  # ann's former callback, now anyone's, due at its old time: first


async def test_the_cli_moves_one_callback(redis):
    rig, cid, leads = await rig_with_callbacks(redis)
    async with live_server(build_app(rig.daemon)) as url:
        run = cli_runner(url, TOKENS["supervisor"])
        out = await run("callbacks", "move", cid, "--lead", leads[1], "--at", str(int(T0 + 86400)), "--to", "bob")
        assert out.startswith(f"callback of lead {leads[1]} moved to ")
        assert out.endswith(", kept for bob\n")
        assert await run("callbacks", "move", cid, "--lead", leads[1]) == (
            f"callback of lead {leads[1]} moved, kept for any agent\n")
        assert len((await run("callbacks", "list", cid, "--agent", "ann")).strip().splitlines()) == 2


async def test_a_supervisor_sees_every_scheduled_callback_and_whose_it_is(redis):
    rig, cid, leads = await rig_with_callbacks(redis)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=build_app(rig.daemon)), base_url="http://x") as c:
        await c.post(f"/api/campaigns/{cid}/callbacks/move", json={"lead_id": leads[1]}, headers=AUTH["supervisor"])
        r = await c.get(f"/api/campaigns/{cid}/callbacks", headers=AUTH["read-only"])
        got = r.json()
        assert got["agent"] is None
        assert [(x["lead_id"], x["at"], x["kept_for"]) for x in got["callbacks"]] == list(zip(
            anon(*leads), (T0 + 3600, T0 + 7200, T0 + 3 * 3600, T0 + 4 * 3600), ("ann", None, "bob", "ann"),
            strict=True))
        r = await c.get(f"/api/campaigns/{cid}/callbacks", params={"limit": 1}, headers=AUTH["read-only"])
        assert [x["lead_id"] for x in r.json()["callbacks"]] == anon(leads[0])
    async with live_server(build_app(rig.daemon)) as url:
        listing = await cli_runner(url, TOKENS["read-only"])("callbacks", "list", cid)
        assert [line.rsplit("  ", 1)[1] for line in listing.strip().splitlines()] == [
            "[ann]", "[anyone]", "[bob]", "[ann]"]



async def test_where_agents_are_configured_a_callback_is_kept_only_for_one_of_them(redis):
    from pydantic import SecretStr

    from dialer.config import AgentAccount

    rig, cid, leads = await rig_with_callbacks(redis)
    rig.daemon.settings.agents = [AgentAccount(id=a, extension=f"10{i}", password=SecretStr("pw-12345"))
                                  for i, a in enumerate(("ann", "bob"))]
    sup = AUTH["supervisor"]
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=build_app(rig.daemon)), base_url="http://x") as c:
        r = await c.post(f"/api/campaigns/{cid}/callbacks/reassign", json={"from_agent": "ann", "to_agent": "bbo"},
                         headers=sup)
        assert r.status_code == 422
        assert "to_agent: bbo is not a configured agent" in r.json()["detail"]
        r = await c.post(f"/api/campaigns/{cid}/callbacks/move", json={"lead_id": leads[0], "agent": "an"},
                         headers=sup)
        assert (r.status_code, "agent: an is not a configured agent" in r.json()["detail"]) == (422, True)
        r = await c.get(f"/api/campaigns/{cid}/callbacks", params={"agent": "ann"}, headers=AUTH["read-only"])
        assert len(r.json()["callbacks"]) == 3  # nothing moved
        r = await c.post(f"/api/campaigns/{cid}/callbacks/reassign", json={"from_agent": "ann", "to_agent": "bob"},
                         headers=sup)
        assert r.json()["moved"] == 3


async def test_a_read_only_token_sees_callbacks_without_the_number_or_the_leads_data(redis):
    rig, cid, _leads = await rig_with_callbacks(redis)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=build_app(rig.daemon)), base_url="http://x") as c:
        ro = (await c.get(f"/api/campaigns/{cid}/callbacks", headers=AUTH["read-only"])).json()["callbacks"]
        sup = (await c.get(f"/api/campaigns/{cid}/callbacks", headers=AUTH["supervisor"])).json()["callbacks"]
    assert [x["lead_id"] for x in ro] == anon(*(x["lead_id"] for x in sup))  # an id may be a number's
    assert all(x["lead"] for x in sup)
    for r, s in zip(ro, sup, strict=True):
        assert r["lead"] == {}
        assert r["number"] != s["number"]
        assert (r["number"][:3], r["number"][-2:], set(r["number"][3:-2])) == (s["number"][:3], s["number"][-2:], {"*"})
