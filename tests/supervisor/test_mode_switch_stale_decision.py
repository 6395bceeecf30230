"""A pacing decision made under another mode than the campaign's current one is not shown as current.

A preview campaign makes no pacing decisions (its agents ask for leads): switched from power while nobody was
ready, the wallboard, /api/status and `dialer_pacing_blocked` kept "Not dialing: no ready agents" for the rest
of the day. Preview is never blocked.
"""

from __future__ import annotations

from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families
from sup_fakes import AUTH, Rig

from dialer.engine.core import DialRequest
from pacing import Reason

SUP, RO = AUTH["supervisor"], AUTH["read-only"]


def _gauge(rig: Rig, name: str, campaign: str = "upsell") -> float:
    for fam in text_string_to_metric_families(generate_latest(rig.daemon.metrics.registry).decode()):
        for s in fam.samples:
            if s.name == name and s.labels.get("campaign") == campaign:
                return float(s.value)
    raise AssertionError(f"no {name} for {campaign}")


def _leads(rig: Rig, n: int = 5) -> None:
    for i in range(n):
        rig.leads["upsell"].add(DialRequest(f"L{i}", f"+1212555{i:04d}"))


async def test_switch_to_preview_clears_the_no_ready_agents_block(client, rig):
    _leads(rig)
    await rig.daemon._pace_once("upsell", rig.leads["upsell"])  # power, nobody ready
    assert rig.engine.campaigns["upsell"].pacer.decisions[-1].reason is Reason.NO_READY_AGENTS
    before = (await client.get("/api/wallboard", headers=RO)).json()["campaigns"][0]
    assert before["hopper"]["blocked"] == "no ready agents"  # true while in power mode

    r = await client.patch("/api/campaigns/upsell/pacing", json={"mode": "preview"}, headers=SUP)
    assert r.status_code == 200, r.text
    rig.login("a1", "1001")
    await rig.daemon._pace_once("upsell", rig.leads["upsell"])
    assert rig.engine.roster.get("a1").state.value == "previewing"

    board = (await client.get("/api/wallboard", headers=RO)).json()["campaigns"][0]
    assert board["hopper"]["blocked"] is None
    assert board["hopper"]["why"] == board["why"] == "preview: agents ask for leads"
    assert board["last_decision"] is None
    status = (await client.get("/api/status", headers=RO)).json()["campaigns"][0]
    assert status["why"] == "preview: agents ask for leads"
    one = (await client.get("/api/campaigns/upsell", headers=RO)).json()
    assert (one["last_decision"], one["why"]) == (None, "preview: agents ask for leads")
    log = (await client.get("/api/campaigns/upsell/decisions", headers=RO)).json()
    assert log["why"] == "preview: agents ask for leads"
    assert log["decisions"][0]["reason"] == "no ready agents"  # the log keeps its history
    assert _gauge(rig, "dialer_pacing_blocked") == 0
    assert _gauge(rig, "dialer_pacing_launch") == 0


async def test_a_decision_of_the_old_mode_waits_for_one_of_the_new(client, rig):
    _leads(rig)
    await rig.daemon._pace_once("upsell", rig.leads["upsell"])  # power, nobody ready
    r = await client.patch("/api/campaigns/upsell/pacing", json={"mode": "progressive"}, headers=SUP)
    assert r.status_code == 200, r.text

    board = (await client.get("/api/wallboard", headers=RO)).json()["campaigns"][0]
    assert board["hopper"]["blocked"] is None
    assert board["why"] == "no pacing decision yet in progressive mode"
    assert _gauge(rig, "dialer_pacing_blocked") == 0

    await rig.daemon._pace_once("upsell", rig.leads["upsell"])  # progressive, still nobody ready
    board = (await client.get("/api/wallboard", headers=RO)).json()["campaigns"][0]
    assert board["hopper"]["blocked"] == "no ready agents"
    assert board["why"] == "not dialing because: no ready agents"
    assert _gauge(rig, "dialer_pacing_blocked") == 1


async def test_preview_is_never_blocked(client, rig):
    _leads(rig)
    r = await client.patch("/api/campaigns/upsell/pacing", json={"mode": "preview"}, headers=SUP)
    assert r.status_code == 200, r.text
    d = rig.engine.decide("upsell", rig.clock.now(), 5)  # the pacer's own answer in preview, were it asked
    assert (d.launch, d.reason) == (0, Reason.PREVIEW_MODE)
    board = (await client.get("/api/wallboard", headers=RO)).json()["campaigns"][0]
    assert board["hopper"]["blocked"] is None
    assert _gauge(rig, "dialer_pacing_blocked") == 0
