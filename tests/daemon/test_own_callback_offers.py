"""A callback an agent kept for themselves ("me") reaches that agent, as a preview, in any pacing mode."""

from __future__ import annotations

import datetime as dt
import json
import random
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from bus_fakes import CommandBus, FakeBus
from daemon_fakes import FakeAmi, stopping

from agents import commands as ac
from agents.dispositions import DispositionRejected
from agents.state import AgentState
from dialer.campaigns.loader import load_campaign
from dialer.clock import ScaledClock
from dialer.config import CampaignSettings, DialerSettings, HttpSettings, MetricsSettings, PacingSettings
from dialer.daemon import Daemon, runtime_from_settings
from dialer.engine.calls import CallKind
from dialer.engine.core import Engine
from dialer.errors import CallbackNotMovable
from dialer.hopper import Hopper, LeadStore
from dialer.hopper_source import HopperLeadSource
from dialer.leads.demo import load_demo_leads
from dialer.metrics import Metrics
from dialer.policy import DialResult
from dialer.policy.contact import ContactPolicy
from dialer.store import RedisStore

CAMPAIGN = Path(__file__).resolve().parents[2] / "examples" / "campaigns" / "base_upsell.toml"
T0 = dt.datetime(2026, 11, 23, 13, 0, tzinfo=ZoneInfo("America/New_York")).timestamp()  # a Monday


async def rig(client: Any, prefix: str, *, auto_dial_s: float | None = None, scale: float = 1.0,
              bus: FakeBus | None = None) -> tuple[Daemon, HopperLeadSource, str]:
    """A predictive campaign whose first lead ann kept as a callback for herself, due now; the second is a
    callback for anyone."""
    config = load_campaign(CAMPAIGN)
    await load_demo_leads(LeadStore(client, prefix=prefix), config, 10, 7, T0 - 3600)
    hopper = Hopper(client, config, ContactPolicy(config), prefix=prefix)
    await hopper.fill(T0 - 3600)
    mine, anyone = await hopper.take(2, T0 - 3600)
    for t, agent in ((mine, "ann"), (anyone, None)):
        await hopper.record_result(t, DialResult("live", "callback", callback_at=T0 - 60,  # type: ignore[arg-type]
                                                 callback_agent=agent), T0 - 3600)
    cs = CampaignSettings(id=config.id, pacing=PacingSettings(mode="predictive"), preview_auto_dial_s=auto_dial_s)
    # no grace for calls still up at the stop: it is wall time here (a dial left ringing waited out 60 s)
    cfg = DialerSettings(campaigns=[cs], http=HttpSettings(enabled=False), metrics=MetricsSettings(enabled=False),
                         shutdown_grace_s=0.0)
    engine = Engine(hold_s=1.5, rng=random.Random(3))
    engine.add_campaign(runtime_from_settings(cs))
    source = HopperLeadSource(hopper)
    d = Daemon(cfg, clock=ScaledClock(scale, start=T0), engine=engine, ami=FakeAmi(),  # type: ignore[arg-type]
               store=RedisStore(client, prefix=prefix), bus=bus or FakeBus(),  # type: ignore[arg-type]
               leads={config.id: source}, metrics=Metrics())
    return d, source, mine.lead_id


async def next_preview(d: Daemon, agent_id: str) -> dict[str, Any]:
    """The first `preview` message on the agent's feed (waiting for it on the feed, at most 10 s)."""
    pos = 0
    while True:
        msgs = await d.feed.wait(agent_id, pos, 10.0)
        assert msgs, "no preview came"
        for m in msgs:
            if m["kind"] == "preview":
                return m
        pos = msgs[-1]["seq"]


async def ann_ready_for_her_callback(d: Daemon, cid: str) -> dict[str, Any]:
    """Ann logs in, goes ready, and is offered the callback she kept: its preview message."""
    d.agent_command(ac.Login("ann", "1001", cid))
    d.agent_command(ac.Ready("ann"))
    return await next_preview(d, "ann")


async def test_a_ready_agent_gets_the_callback_they_kept_as_a_preview_and_dials_it(client):
    d, _source, lead_id = await rig(client, "owncb1")
    cid = d.engine.campaigns.copy().popitem()[0]
    stop, task = await stopping(d)
    try:
        listed = await d.own_callbacks("ann", cid)  # what her desk lists
        assert [(c["lead_id"], c["at"]) for c in listed] == [(lead_id, T0 - 60)]
        assert await d.own_callbacks("bob", cid) == []
        for agent, ext in (("bob", "1002"), ("ann", "1001")):
            d.agent_command(ac.Login(agent, ext, cid))
            d.agent_command(ac.Ready(agent))
        preview = await next_preview(d, "ann")  # offered by the daemon's pacing loop
        assert d.engine.roster.get("ann").state is AgentState.PREVIEWING
        assert d.engine.roster.get("bob").state is AgentState.READY  # anyone's callback goes to the pacer
        assert (preview["lead_id"], preview["callback"]) == (lead_id, {"at": T0 - 60, "mine": True})
        await d.offer_own_callbacks(cid)  # nothing more is due for bob
        assert not [m for m in d.feed.since("bob", 0) or [] if m["kind"] == "preview"]
        call_id = await d.preview_dial("ann", lead_id, preview["number_index"])
        call = d.engine.calls[call_id]
        assert (call.kind, call.agent_id, call.lead_id) == (CallKind.CALLBACK, "ann", lead_id)
        assert d.engine.roster.get("ann").state is AgentState.DIALING
    finally:
        stop.set()
        await task


async def test_the_pacer_does_not_hand_an_agents_own_callback_to_another(client):
    d, source, lead_id = await rig(client, "owncb2")
    taken = await source.take(20, T0)
    assert lead_id not in {r.lead_id for r in taken}  # ann's, for an hour past its time
    assert sum(r.callback_at is not None for r in taken) == 1  # anyone's callback comes first
    assert taken[0].callback_at == T0 - 60
    del d


async def test_an_agent_moves_only_their_own_callback_and_only_to_a_time_a_disposition_could_set(client):
    d, source, lead_id = await rig(client, "owncb5")
    cid = d.engine.campaigns.copy().popitem()[0]
    with pytest.raises(CallbackNotMovable) as not_yours:
        await d.move_callback(cid, lead_id, None, None, agent_id="bob")
    assert not_yours.value.why == "not_yours"
    with pytest.raises(DispositionRejected) as past:
        await d.move_callback(cid, lead_id, "2026-11-23T12:00:00-05:00", "ann", agent_id="ann")
    assert (past.value.field, "not in the future" in str(past.value)) == ("at", True)
    later = T0 + 7200
    iso = dt.datetime.fromtimestamp(later, dt.UTC).isoformat()
    assert await d.move_callback(cid, lead_id, iso, "ann", agent_id="ann") == {"lead_id": lead_id, "at": later,
                                                                               "kept_for": "ann"}
    assert [(c["lead_id"], c["at"]) for c in await d.own_callbacks("ann", cid)] == [(lead_id, later)]
    await d.move_callback(cid, lead_id, None, None, agent_id="ann")  # "Give to anyone": the time stays
    assert await d.own_callbacks("ann", cid) == []
    assert lead_id not in {r.lead_id for r in await source.take(20, later - 1)}
    assert lead_id in {r.lead_id for r in await source.take(20, later)}  # the pacer's, when due
    with pytest.raises(CallbackNotMovable) as taken:
        await d.move_callback(cid, lead_id, None, "ann")  # being dialed: a supervisor cannot move it either
    assert taken.value.why == "not_scheduled"


async def test_a_paused_agent_is_told_once_that_a_callback_they_kept_is_due(client):
    d, _source, lead_id = await rig(client, "owncb6")
    cid = d.engine.campaigns.copy().popitem()[0]
    d.agent_command(ac.Login("ann", "1001", cid))  # paused at login
    d.agent_command(ac.Login("bob", "1002", cid))
    await d.offer_own_callbacks(cid)
    told = [m for m in d.feed.since("ann", 0) or [] if m["kind"] == "callbacks_due"]
    assert [(m["campaign_id"], m["count"], m["lead_ids"]) for m in told] == [(cid, 1, [lead_id])]
    assert not [m for m in d.feed.since("bob", 0) or [] if m["kind"] == "callbacks_due"]  # none kept by bob
    d._callbacks_reminded_at.clear()  # a minute later: still due, already told
    await d.offer_own_callbacks(cid)
    assert len([m for m in d.feed.since("ann", 0) or [] if m["kind"] == "callbacks_due"]) == 1
    d.agent_command(ac.Ready("ann"))
    d._callbacks_reminded_at.clear()
    await d.offer_own_callbacks(cid)  # ready: offered as her preview, not told again
    kinds = [m["kind"] for m in d.feed.since("ann", 0) or []]
    assert kinds.count("callbacks_due") == 1
    assert "preview" in kinds


async def test_a_campaign_that_auto_dials_previews_dials_the_callback_when_its_agent_lets_it_wait(client):
    d, _source, lead_id = await rig(client, "owncb3", auto_dial_s=5.0, scale=50.0)
    cid = d.engine.campaigns.copy().popitem()[0]
    stop, task = await stopping(d)
    try:
        preview = await ann_ready_for_her_callback(d, cid)
        assert preview["auto_dial_at"] == d.engine.preview_deadlines["ann"]  # the desk counts down to it
        assert preview["auto_dial_at"] - d.clock.now() <= 5.0
        pos = preview["seq"]
        while d.engine.roster.get("ann").state is not AgentState.DIALING:  # the timer loop dials it
            msgs = await d.feed.wait("ann", pos, 10.0)
            assert msgs, "the preview was not dialed by itself"
            pos = msgs[-1]["seq"]
        [call] = [c for c in d.engine.calls.values() if c.agent_id == "ann"]
        assert (call.kind, call.lead_id) == (CallKind.CALLBACK, lead_id)
        assert d.clock.now() >= preview["auto_dial_at"]
    finally:
        stop.set()
        await task


async def test_an_agent_without_the_desk_dials_the_preview_over_mqtt_and_hears_of_a_refusal(client):
    bus = CommandBus()
    d, _source, lead_id = await rig(client, "owncb4", bus=bus)
    cid = d.engine.campaigns.copy().popitem()[0]
    stop, task = await stopping(d)
    try:
        preview = await ann_ready_for_her_callback(d, cid)
        wrong = {"type": "preview_dial", "lead_id": "L-not-on-screen", "id": "p1"}
        await bus.commands.put(("ann", json.dumps(wrong).encode()))
        error = await bus.published_where(lambda p: p.get("kind") == "error")
        assert "L-not-on-screen" in error["error"]  # refused as the desk's would be, said to the agent
        dial = {"type": "preview_dial", "lead_id": lead_id, "number_index": preview["number_index"], "id": "p2"}
        await bus.commands.put(("ann", json.dumps(dial).encode()))
        await bus.published_where(lambda p: p.get("kind") == "state" and p.get("state") == "dialing")
        [call] = [c for c in d.engine.calls.values() if c.agent_id == "ann"]
        assert (call.kind, call.lead_id) == (CallKind.CALLBACK, lead_id)
    finally:
        stop.set()
        await task


async def test_a_callback_outside_the_persons_hours_is_refused_when_the_agent_sets_it_naming_the_next_time(client):
    d, source, _ = await rig(client, "owncb9")
    cid = d.engine.campaigns.copy().popitem()[0]
    [request] = await source.take(1, T0)
    target = request.target
    assert target.zones
    assert target.numbers
    # the call ann is wrapping up (only what the check reads: its campaign and the lead source's target)
    d.engine.calls["c-cb"] = SimpleNamespace(campaign_id=cid, target=target)  # type: ignore[assignment]
    thanksgiving = dt.datetime(2026, 11, 26, 13, 0, tzinfo=ZoneInfo(target.zones[0]))
    with pytest.raises(DispositionRejected) as refused:
        d.agent_command(ac.Disposition("ann", "c-cb", "callback", {"callback_at": thanksgiving.isoformat()}))
    assert refused.value.field == "fields.callback_at"
    assert "(a holiday) is outside calling hours" in str(refused.value)
    assert "the next allowed time is Fri 2026-11-27 09:00" in str(refused.value)
    assert source.callback_refusal(target, thanksgiving.timestamp() + 86400, T0) is None  # Friday 13:00


async def test_a_preview_campaign_refills_its_hopper_from_the_pacing_loop(client):
    # the hopper of a preview campaign was only ever filled by the wallboard's depth read: without one
    # (the demo; a daemon with the HTTP API off) it ran dry after its first fill
    config = load_campaign(CAMPAIGN)
    await load_demo_leads(LeadStore(client, prefix="prevfill"), config, 10, 7, T0 - 3600)
    hopper = Hopper(client, config, ContactPolicy(config), prefix="prevfill")
    cs = CampaignSettings(id=config.id, pacing=PacingSettings(mode="preview"))
    cfg = DialerSettings(campaigns=[cs], http=HttpSettings(enabled=False), metrics=MetricsSettings(enabled=False))
    engine = Engine(hold_s=1.5, rng=random.Random(3))
    engine.add_campaign(runtime_from_settings(cs))
    source = HopperLeadSource(hopper)
    d = Daemon(cfg, clock=ScaledClock(1.0, start=T0), engine=engine, ami=FakeAmi(),  # type: ignore[arg-type]
               store=RedisStore(client, prefix="prevfill"), bus=FakeBus(),  # type: ignore[arg-type]
               leads={config.id: source}, metrics=Metrics())
    assert await hopper.depth() == 0  # imported, never filled
    d.agent_command(ac.Login("ann", "1001", config.id))
    d.agent_command(ac.Ready("ann"))
    await d._pace_once(config.id, source)
    assert d.engine.roster.get("ann").state is AgentState.PREVIEWING
    assert await hopper.depth() > 0
