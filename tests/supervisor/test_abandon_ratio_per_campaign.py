"""`dialer_abandon_ratio{campaign=X}` ("abandoned / live answers since start") is campaign X's own: its abandons
over its live answers offered to agents, as `dialer_calls_abandoned_total` and `dialer_live_answers_total` are
labelled. It was the engine-wide count, set under the label of whichever campaign's record came last, so a
campaign that abandoned nobody read another campaign's rate (and alert rules fired for the wrong campaign)."""

from __future__ import annotations

from dataclasses import replace

from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families
from sup_fakes import make_rig, record, settings

from dialer.ami import events as ev
from dialer.config import CampaignSettings, PacingSettings
from dialer.engine.commands import Originate, WriteCallRecord
from dialer.engine.core import DialRequest
from pacing import Mode


def _metric(rig, name, campaign):
    for fam in text_string_to_metric_families(generate_latest(rig.daemon.metrics.registry).decode()):
        for s in fam.samples:
            if s.name == name and s.labels.get("campaign") == campaign:
                return s.value
    return None


def _call(rig, campaign, n, now, agent_ready):
    """A live answer of `campaign`, connected to its ready agent, or abandoned (no agent within 2 s)."""
    eng = rig.engine
    [o] = [c for c in eng.launch(campaign, [DialRequest(f"L{n}", f"+1555999{n:04d}")], now)
           if isinstance(c, Originate)]
    cid = o.call_id
    kw = {"channel": f"Local/1555999{n:04d}@dialer-outbound-{n:08x};1", "uniqueid": cid, "linkedid": cid}
    out = []
    out += eng.on_ami(ev.Newchannel(state=ev.ChannelState.DOWN, **kw), now)
    out += eng.on_ami(ev.Newstate(state=ev.ChannelState.UP, **kw), now + 1)
    out += eng.on_ami(ev.AmdResult(call_id=cid, status=ev.AmdStatus.HUMAN, **kw), now + 2)
    if agent_ready:
        out += eng.on_ami(ev.BridgeEnter(bridge_uniqueid=f"b{n}", **kw), now + 2.2)
    else:
        out += eng.tick(now + 5)
    out += eng.on_ami(ev.Hangup(channel=kw["channel"], uniqueid=cid, linkedid=cid, cause=16), now + 30)
    return [c for c in out if isinstance(c, WriteCallRecord)]


async def test_each_campaign_reads_its_own_abandon_ratio(redis):
    cfg = settings([CampaignSettings(id="a", pacing=PacingSettings(mode=Mode.PROGRESSIVE)),
                    CampaignSettings(id="b", pacing=PacingSettings(mode=Mode.PROGRESSIVE))])
    rig = make_rig(redis, cfg=cfg)
    now = rig.clock.now()
    rig.login("b1", "2001", campaign="b")
    recs = []
    for campaign, n, t, ready in (("a", 1, now, False), ("b", 2, now + 60, True)):
        got = _call(rig, campaign, n, t, agent_ready=ready)  # a: abandoned; b: connected
        for w in got:  # the daemon writes each record as its call ends
            rig.daemon._record(w, t + 30)
        recs += got
    assert [(w.record.campaign_id, w.record.abandoned) for w in recs] == [("a", True), ("b", False)]
    assert _metric(rig, "dialer_abandon_ratio", "a") == 1.0
    assert _metric(rig, "dialer_abandon_ratio", "b") == 0.0  # b abandoned nobody


async def test_the_ratio_counts_only_live_answers_offered_to_agents(redis):
    cfg = settings([CampaignSettings(id="a", pacing=PacingSettings(mode=Mode.PROGRESSIVE))])
    rig = make_rig(redis, cfg=cfg)
    now = rig.clock.now()
    rows = [record("c1", campaign="a", ended_at=now - 60),
            record("c2", campaign="a", ended_at=now - 50, outcome="abandoned", abandoned=True, agent=None, talk=None),
            record("c3", campaign="a", ended_at=now - 40, outcome="no_answer", live=False),
            record("c4", campaign="a", ended_at=now - 30, outcome="connected"),
            # agentless, its Redirect to the message refused: abandoned, but offered to no agent
            replace(record("x1", campaign="a", ended_at=now - 20, outcome="abandoned", abandoned=True, agent=None,
                           talk=None), message="dialer-message.wav")]
    for r in rows:
        rig.daemon._record(WriteCallRecord(r), now)
    assert _metric(rig, "dialer_live_answers_total", "a") == 3.0
    assert _metric(rig, "dialer_abandon_ratio", "a") == 1 / 3
