"""A daemon built in-process for the supervisor tests: real Engine, Pacer, RedisStore (real Redis), fake AMI
and MQTT ports, in-memory leads."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

import uvicorn
from bus_fakes import FakeBus

from agents import commands as ac
from dialer.ami import actions
from dialer.ami.client import AmiResponse
from dialer.clock import ScaledClock
from dialer.config import ApiToken, CampaignSettings, DialerSettings, HttpSettings, PacingSettings
from dialer.daemon import Daemon
from dialer.engine.core import CampaignRuntime, DialRequest, Engine
from dialer.engine.records import CallRecord
from dialer.http import EmbeddedServer, build_app
from dialer.leadsource import InMemoryLeadSource
from dialer.metrics import Metrics
from dialer.store import RedisStore
from pacing import Mode, Pacer

AFTERNOON = datetime(2024, 3, 5, 14, 30).timestamp()  # a Tuesday mid-shift, local time: scenes are deterministic
TOKENS = {"admin": "adm-token-0123456789", "supervisor": "sup-token-0123456789", "read-only": "ro-token-0123456789"}
AUTH = {role: {"Authorization": f"Bearer {tok}"} for role, tok in TOKENS.items()}


class FakeAmi:
    """The daemon's AMI port: records what it is asked, answers every action with success."""

    def __init__(self) -> None:
        self.events_q: asyncio.Queue[object] = asyncio.Queue()
        self.originates: asyncio.Queue[actions.OriginateAction] = asyncio.Queue()
        self.sent: list[actions.AmiAction] = []
        self.reply: AmiResponse | None = AmiResponse(ok=True, response="Success",
                                                     message="Originate successfully queued")
        self.fail: Exception | None = None

    async def events(self) -> AsyncIterator[object]:
        while True:
            yield await self.events_q.get()

    def submit_originate(self, action: actions.OriginateAction) -> None:
        self.originates.put_nowait(action)

    async def send(self, action: actions.AmiAction, timeout: float = 10.0) -> AmiResponse | None:
        if self.fail is not None:
            raise self.fail
        self.sent.append(action)
        return self.reply

    async def core_show_channels(self) -> list[object]:
        return []


_prefixes = itertools.count(1)


@dataclass
class Rig:
    daemon: Daemon
    ami: FakeAmi
    leads: dict[str, InMemoryLeadSource]
    store: RedisStore
    engine: Engine
    clock: ScaledClock
    pacer_of: dict[str, Pacer] = field(default_factory=dict)

    def login(self, agent: str, ext: str, campaign: str = "upsell", ready: bool = True) -> None:
        self.daemon.agent_command(ac.Login(agent, ext, campaign))
        if ready:
            self.daemon.agent_command(ac.Ready(agent))

    def record(self, rec: CallRecord) -> None:
        self.store.append_call_record(rec)

    async def flush(self) -> None:
        await self.store.flush()


def settings(campaigns: list[CampaignSettings] | None = None, tokens: bool = True) -> DialerSettings:
    return DialerSettings(
        campaigns=campaigns or [CampaignSettings(id="upsell", name="Fiber upsell",
                                                 pacing=PacingSettings(mode=Mode.POWER, ratio=1.0))],
        api_tokens=[ApiToken(name=f"{role}-user", token=tok, role=role) for role, tok in TOKENS.items()]  # type: ignore[arg-type]
        if tokens else [],
        http=HttpSettings(enabled=False),  # the tests serve the app themselves (live_server) or over ASGI
    )


def make_rig(redis: Any, *, cfg: DialerSettings | None = None, leads: int = 0, scale: float = 1.0,
             start: float = 1_700_000_000.0, daemon_cls: type[Daemon] = Daemon, leads_factory: Any = None,
             prefix: str | None = None) -> Rig:
    """A daemon on its own key prefix; pass `prefix` to build a restarted one on an earlier rig's Redis state."""
    cfg = cfg or settings()
    clock = ScaledClock(scale, start=start)
    engine = Engine(hold_s=cfg.hold_s)
    for cs in cfg.campaigns:
        engine.add_campaign(CampaignRuntime(campaign_id=cs.id, pacer=Pacer(cs.pacing.knobs()), amd=cs.amd,
                                            ring_timeout_s=cs.ring_timeout_s,
                                            caller_id_name=cs.caller_id_name or "Dialer",
                                            caller_id_number=cs.caller_id_number or "0000",
                                            wrapup_timeout_s=cs.wrapup_timeout_s))
    store = RedisStore(redis, prefix=prefix or f"suptest{next(_prefixes)}-{id(engine):x}")
    ami = FakeAmi()
    sources = {cs.id: InMemoryLeadSource(DialRequest(f"L{i}", f"+1555000{i:04d}") for i in range(leads))
               for cs in cfg.campaigns}
    daemon = daemon_cls(cfg, clock=clock, engine=engine, ami=ami, store=store, bus=FakeBus(),  # type: ignore[arg-type]
                        leads=sources, metrics=Metrics(),
                        **({"leads_factory": leads_factory} if leads_factory is not None else {}))
    return Rig(daemon, ami, sources, store, engine, clock)


def period_under_way(rig: Rig, campaign: str = "upsell", lives: int = 1000) -> None:
    """The campaign's compliance ledger as read back in a 30-day period under way: `lives` connected live
    answers an hour ago, so power mode's dials beyond one per ready agent have an abandon budget (a fresh
    period has none, and power then dials as progressive)."""
    ledger = rig.engine.campaigns[campaign].pacer.ledger
    ledger.release()
    for _ in range(lives):
        ledger.record_live(rig.clock.now() - 3600.0, abandoned=False)


async def period_under_way_once_read(rig: Rig, campaign: str = "upsell", lives: int = 1000) -> None:
    """`period_under_way` for a running daemon: once it has read the campaign's ledger back from Redis."""
    await rig.daemon.ledger_ready[campaign].wait()
    period_under_way(rig, campaign, lives)


def app_of(rig: Rig, **kw: Any) -> Any:
    return build_app(rig.daemon)


@contextlib.asynccontextmanager
async def live_server(app: Any) -> AsyncIterator[str]:
    """uvicorn on a socket that is already listening (so no wait for start-up); stopped on exit."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    port = sock.getsockname()[1]
    server = EmbeddedServer(uvicorn.Config(app, log_level="warning", lifespan="on", timeout_graceful_shutdown=2))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task
        sock.close()


def put_on_call(rig: Rig, campaign: str = "upsell", n: int = 1) -> str:
    """Dial, answer (human) and bridge one call through the engine; the longest-idle ready agent takes it."""
    from dialer.ami import events as ev
    from dialer.engine.commands import Originate

    now = rig.clock.now()
    [o] = [c for c in rig.engine.launch(campaign, [DialRequest(f"LC{n}", f"+1555999{n:04d}")], now)
           if isinstance(c, Originate)]
    cid = o.call_id
    kw = {"channel": f"Local/1555999{n:04d}@dialer-outbound-{n:08x};1", "uniqueid": cid, "linkedid": cid}
    rig.engine.on_ami(ev.Newchannel(state=ev.ChannelState.DOWN, **kw), now)
    rig.engine.on_ami(ev.Newstate(state=ev.ChannelState.UP, **kw), now + 1)
    rig.engine.on_ami(ev.AmdResult(call_id=cid, status=ev.AmdStatus.HUMAN, **kw), now + 2)
    rig.engine.on_ami(ev.BridgeEnter(bridge_uniqueid="b1", **kw), now + 2.2)
    return cid


def record(call_id: str, *, campaign: str = "upsell", ended_at: float, outcome: str = "connected",
           live: bool = True, abandoned: bool = False, agent: str | None = "a1", talk: float | None = 120.0,
           lead: str = "L1", attempt: int = 1, number: str = "+15551234567", wait: float | None = 0.5,
           ring: float = 10.0) -> CallRecord:
    created = ended_at - (talk or 0.0) - ring - 5
    answered = created + ring if live or outcome == "machine" else None
    human = answered + 1.5 if live and answered is not None else None
    connected = human + (wait or 0.0) if outcome == "connected" and human is not None else None
    return CallRecord(call_id=call_id, campaign_id=campaign, lead_id=lead, number=number, attempt=attempt,
                      outcome=outcome, abandoned=abandoned, created_at=created, originated_at=created,
                      answered_at=answered, human_at=human, connected_at=connected, ended_at=ended_at,
                      agent_id=agent if outcome == "connected" else None, amd_status="HUMAN" if live else None,
                      dial_status="ANSWER" if answered else "NOANSWER", hangup_cause=16,
                      wait_s=wait if live else None, talk_s=talk if outcome == "connected" else None)


def bare_record(**given: Any) -> CallRecord:
    """A call record of only the `given` fields; every other reads as a stored record without it would
    (`CallRecord.from_fields`: None, "", 0, False or the field's default)."""
    return replace(CallRecord.from_fields({}), **given)


def scene(rig: Rig, calls: int = 900) -> None:
    """A believable mid-shift for the wallboard: agents in every state for various times, a day of calls
    with sales and abandons (the last 15 minutes over the cap), a second campaign with an empty hopper."""
    from agents import commands as ac
    from dialer.ami import events as ev
    from dialer.engine.commands import DispositionMade, Originate
    from dialer.supervisor.tally import local_midnight

    now = rig.clock.now()
    eng = rig.engine

    def agent(aid: str, ext: str, at: float, campaign: str = "upsell") -> None:
        eng.on_agent(ac.Login(aid, ext, campaign), at - 5)
        eng.on_agent(ac.Ready(aid), at)

    def talk(aid: str, started: float, n: int) -> str:
        [o] = [c for c in eng.launch("upsell", [DialRequest(f"S{n}", f"+1555777{n:04d}")], started - 12)
               if isinstance(c, Originate)]
        cid = o.call_id
        kw = {"channel": f"Local/1555777{n:04d}@dialer-outbound-{n:08x};1", "uniqueid": cid, "linkedid": cid}
        eng.on_ami(ev.Newchannel(state=ev.ChannelState.DOWN, **kw), started - 12)
        eng.on_ami(ev.Newstate(state=ev.ChannelState.UP, **kw), started - 3)
        eng.on_ami(ev.AmdResult(call_id=cid, status=ev.AmdStatus.HUMAN, **kw), started - 1)
        eng.on_ami(ev.BridgeEnter(bridge_uniqueid=f"b{n}", **kw), started)
        return cid

    staff = [("a01", "1001"), ("a02", "1002"), ("a03", "1003"), ("a04", "1004"), ("a05", "1005"), ("a06", "1006"),
             ("a07", "1007"), ("a08", "1008"), ("a09", "1009"), ("a10", "1010"), ("a11", "1011"), ("a12", "1012")]
    for i, (aid, ext) in enumerate(staff):
        agent(aid, ext, now - 3600 - 60 * i if aid != "a12" else now - 38)
    for i, secs in enumerate((45, 130, 250, 380, 95, 660, 20)):  # a02 and a06 talk long: amber, red
        talk(staff[i][0], now - secs, i)
    for i, secs in ((7, 20), (8, 70)):  # wrap-up: one in time, one amber
        cid = talk(staff[i][0], now - secs - 140, 20 + i)
        eng.on_ami(ev.Hangup(channel="x", uniqueid=cid, linkedid=cid, cause=16), now - secs)
    eng.on_agent(ac.Pause("a10", "break"), now - 1080)  # paused 18 min: red
    eng.on_agent(ac.Pause("a11", "coaching"), now - 200)
    for n in range(5):  # calls ringing
        eng.launch("upsell", [DialRequest(f"R{n}", f"+1555888{n:04d}")], now - 3 * n)
    agent("b01", "2001", now - 1500, "winback")  # idle 25 minutes: the win-back list ran dry
    agent("b02", "2002", now - 300, "winback")
    for _ in range(180):
        rig.leads["upsell"].add(DialRequest("H", "+15550000000"))
    eng.decide("upsell", now, 180)
    eng.decide("winback", now, 0)
    day0 = max(local_midnight(now), now - 8 * 3600)
    for i in range(calls):  # the day so far: 1.9% abandoned; the last 15 minutes about 5%
        t = day0 + (now - day0 - 60) * i / calls
        recent = t > now - 900
        ab = (i % 53 == 0) if not recent else (i % 20 == 0)
        rec = record(f"d{i}", ended_at=t, agent=staff[i % 12][0], abandoned=ab,
                     outcome="abandoned" if ab else "connected", talk=None if ab else 150.0, lead=f"D{i}")
        rig.store.append_call_record(rec)
        if not ab and i % 9 == 0:
            rig.store.add_disposition(DispositionMade(f"d{i}", staff[i % 12][0], "sale", {}, (), t + 20))
        elif not ab and i % 4 == 0:
            why = ("price", "happy with current", "no need", "bad time")[i % 7 % 4]
            rig.store.add_disposition(DispositionMade(f"d{i}", staff[i % 12][0], "refused", {"reason": why}, (),
                                                      t + 25))
        if i % 3 == 0:
            rig.store.append_call_record(record(f"m{i}", ended_at=t, outcome="no_answer", live=False))


class HookedDaemon(Daemon):
    """The hook as docs/SUPERVISOR.md specifies it, for the API side's test."""

    @property
    def can_add_campaigns(self) -> bool:
        return True

    async def add_campaign(self, settings: CampaignSettings) -> None:
        from dialer.daemon import audit_from_settings
        from dialer.engine.core import CampaignRuntime
        from dialer.leadsource import InMemoryLeadSource
        from pacing import Pacer

        if settings.id in self.engine.campaigns:
            from dialer.errors import ConfigError

            raise ConfigError(f"campaign {settings.id} exists")
        self.engine.add_campaign(CampaignRuntime(settings.id, Pacer(settings.pacing.knobs()), amd=settings.amd,
                                                 ring_timeout_s=settings.ring_timeout_s, paused=True))
        self.leads[settings.id] = InMemoryLeadSource()  # type: ignore[index]
        self._dirty[settings.id] = asyncio.Event()
        self.ledger_ready[settings.id] = asyncio.Event()
        self.ledger_ready[settings.id].set()  # a new campaign: no ledger or AMD audit history to read back
        self.audits[settings.id] = audit_from_settings(settings)
        if self._actions is not None:
            self._actions.create_task(self._pacing_loop(settings.id), name=f"pacing-{settings.id}")


def cli_runner(url: str, token: str) -> Any:
    """`await run("campaign", "show", "x")`: the `dialer` CLI against `url`, its output; it must exit 0."""
    import io

    from dialer.supervisor import cli

    async def run(*argv: str) -> str:
        out, err = io.StringIO(), io.StringIO()
        code = await asyncio.to_thread(cli.main, [*argv, "--url", url, "--token", token], out=out, err=err)
        assert code == 0, err.getvalue()
        return out.getvalue()

    return run
