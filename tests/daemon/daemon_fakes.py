"""Fakes and helpers shared by the daemon tests that run a real `Daemon` against Redis (no AMI, no MQTT)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import AsyncIterator, Callable, Iterator, Mapping

import uvicorn

from agents import commands as ac
from agents.state import AgentState
from dialer.ami import actions
from dialer.ami import events as ev
from dialer.ami.client import AmiResponse
from dialer.config import CampaignSettings
from dialer.daemon import Daemon
from dialer.engine.commands import Originate
from dialer.engine.core import DialRequest
from dialer.http import EmbeddedServer
from dialer.leadsource import LeadSource
from dialer.overrides import RunState


class FakeAmi:
    def __init__(self) -> None:
        self._q: asyncio.Queue[object] = asyncio.Queue()

    async def events(self) -> AsyncIterator[object]:
        while True:
            yield await self._q.get()

    def submit_originate(self, action: object) -> None:
        pass

    async def send(self, action: object, timeout: float = 10.0, *, check: bool = True) -> object:
        return None

    async def core_show_channels(self, timeout: float = 5.0) -> list[object]:
        return []


class StartedServer(EmbeddedServer):
    """The daemon's embedded web server, telling a test when it is listening (`up`)."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.up = asyncio.Event()

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        self.up.set()


def db_get_answer(astdb: Mapping[str, str], headers: Mapping[str, str], refusal: str = "") -> AmiResponse:
    """A DBGet answered as `AmiClient.send` returns Asterisk 22's answers (main/db.c `manager_dbget`), from `astdb`
    ("<family>/<key>" -> value); `refusal`: the Error Asterisk answers instead ("Permission denied")."""
    if refusal:
        return AmiResponse(ok=False, response="Error", message=refusal)
    value = astdb.get(f"{headers['Family']}/{headers['Key']}")
    if value is None:
        return AmiResponse(ok=False, response="Error", message="Database entry not found")
    return AmiResponse(ok=True, response="Success", message="Result will follow",
                       fields=(("response", "Success"), ("eventlist", "start"), ("message", "Result will follow")),
                       events=((("event", "DBGetResponse"), ("family", headers["Family"]), ("key", headers["Key"]),
                                ("val", value)),
                               (("event", "DBGetComplete"), ("eventlist", "Complete"), ("listitems", "1"))))


class OriginateCapture(FakeAmi):
    """A FakeAmi that keeps every Originate the daemon submits, as the action it would send."""

    def __init__(self) -> None:
        super().__init__()
        self.originates: list[actions.OriginateAction] = []

    def submit_originate(self, action: object) -> None:
        assert isinstance(action, actions.OriginateAction)
        self.originates.append(action)


@contextlib.asynccontextmanager
async def running(d: Daemon) -> AsyncIterator[Daemon]:
    stop = asyncio.Event()
    async with asyncio.TaskGroup() as tg:
        tg.create_task(d.run(stop))
        await d.ready.wait()
        try:
            yield d
        finally:
            stop.set()


def ready_agent(d: Daemon, agent: str = "a1", ext: str = "1001", campaign: str = "uk") -> None:
    """Log an agent in to the campaign and make them ready."""
    d.agent_command(ac.Login(agent, ext, campaign))
    d.agent_command(ac.Ready(agent))


def talk_and_hang_up(d: Daemon, n: int, campaign: str = "uk", *, recording: str = "") -> str:
    """Agent a1 takes a call of `campaign`, and the customer hangs up: a1 is in wrap-up. With `recording`, the
    dialplan reports recording the call into that file before the bridge."""
    t = d.clock.now()
    eng = d.engine
    launched = eng.launch(campaign, [DialRequest(f"L{n}", f"+4420755{n:05d}")], t)
    [o] = [c for c in launched if isinstance(c, Originate)]
    kw = {"channel": f"Local/{n}@dialer-outbound-{n:08x};1", "uniqueid": o.call_id, "linkedid": o.call_id}
    d.execute(eng.on_ami(ev.Newchannel(state=ev.ChannelState.DOWN, **kw), t), t)
    d.execute(eng.on_ami(ev.Newstate(state=ev.ChannelState.UP, **kw), t), t)
    d.execute(eng.on_ami(ev.AmdResult(call_id=o.call_id, status=ev.AmdStatus.HUMAN, **kw), t), t)
    if recording:
        d.execute(eng.on_ami(ev.RecordingStarted(call_id=o.call_id, file=recording, **kw), t), t)
    d.execute(eng.on_ami(ev.BridgeEnter(bridge_uniqueid=f"b{n}", **kw), t), t)
    d.execute(eng.on_ami(ev.Hangup(cause=16, **kw), t), t)
    assert eng.roster.get("a1").state is AgentState.WRAPUP
    return o.call_id


async def stopping(d: Daemon) -> tuple[asyncio.Event, asyncio.Task[None]]:
    """Start the daemon in a task: its stop event and the task (set the one, then await the other)."""
    stop = asyncio.Event()
    task = asyncio.get_running_loop().create_task(d.run(stop))
    await d.ready.wait()
    return stop, task


@contextlib.contextmanager
def daemon_logs(test: Callable[[logging.LogRecord], bool],
                logger_name: str = "dialer.daemon") -> Iterator[asyncio.Event]:
    """An event set once the daemon (logger `dialer.daemon`, or `logger_name`) logs a record that passes `test`."""
    seen = asyncio.Event()

    class Watch(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if test(record):
                seen.set()

    watch = Watch()
    logger = logging.getLogger(logger_name)
    logger.addHandler(watch)
    try:
        yield seen
    finally:
        logger.removeHandler(watch)


def one_campaign_daemon(client: object, prefix: str, leads: LeadSource, start: float, campaign: str = "uk") -> Daemon:
    """A daemon with one campaign (`uk` unless named), on a clock from `start`, no HTTP, no metrics, no grace."""
    import random

    from bus_fakes import FakeBus

    from dialer.clock import ScaledClock
    from dialer.config import CampaignSettings, DialerSettings, HttpSettings, MetricsSettings
    from dialer.daemon import runtime_from_settings
    from dialer.engine.core import Engine
    from dialer.metrics import Metrics
    from dialer.store import RedisStore

    cs = CampaignSettings(id=campaign)
    cfg = DialerSettings(campaigns=[cs], http=HttpSettings(enabled=False), metrics=MetricsSettings(enabled=False),
                         shutdown_grace_s=0.0)
    engine = Engine(hold_s=1.5, rng=random.Random(3))
    engine.add_campaign(runtime_from_settings(cs))
    return Daemon(cfg, clock=ScaledClock(1.0, start=start), engine=engine, ami=FakeAmi(),  # type: ignore[arg-type]
                  store=RedisStore(client, prefix=prefix), bus=FakeBus(),  # type: ignore[arg-type]
                  leads={campaign: leads}, metrics=Metrics())


# what comes over the campaign `c` of `progressive_ami_side` while its leads are being taken
def stop_campaign(d: Daemon) -> None:
    d.set_run_state("c", RunState.STOPPED)


def pause_campaign(d: Daemon) -> None:
    d.set_run_state("c", RunState.PAUSED)


def shut_down(d: Daemon) -> None:
    d.dialing = False


@contextlib.asynccontextmanager
async def progressive_ami_side(redis_url: str, leads: LeadSource, ami: object, prefix: str,
                               start: float) -> AsyncIterator[Daemon]:
    """A daemon with one progressive campaign, `c`, and its AMI `ami`, on a clock 1,000 times slower than
    real time from `start` (`ami_side`)."""
    from dialer.config import CampaignSettings, PacingSettings
    from pacing import Mode

    cs = CampaignSettings(id="c", pacing=PacingSettings(mode=Mode.PROGRESSIVE))
    async with ami_side(redis_url, cs, leads, ami, prefix, start, speed=0.001) as d:
        yield d


@contextlib.asynccontextmanager
async def ami_side(redis_url: str, cs: CampaignSettings, leads: LeadSource, ami: object, prefix: str,
                   start: float, *, speed: float) -> AsyncIterator[Daemon]:
    """A daemon with the one campaign `cs`, its leads from `leads` and its AMI `ami`, on a clock `speed` times
    real time from `start`, whose AMI side runs (`run_ami_only`: events in, actions out, and the task group
    `_later` puts its tasks in), with no pacing or timer loop of its own. The task's first step comes at the
    caller's first await: what the caller sets before it holds from the start."""
    from bus_fakes import FakeBus

    from dialer.clock import ScaledClock
    from dialer.config import DialerSettings, HttpSettings, MetricsSettings
    from dialer.daemon import runtime_from_settings
    from dialer.engine.core import Engine
    from dialer.metrics import Metrics
    from dialer.store import RedisStore, connect_redis

    cfg = DialerSettings(campaigns=[cs], http=HttpSettings(enabled=False), metrics=MetricsSettings(enabled=False))
    engine = Engine(hold_s=1.5)
    engine.add_campaign(runtime_from_settings(cs))
    client = connect_redis(redis_url)
    d = Daemon(cfg, clock=ScaledClock(speed, start=start), engine=engine, ami=ami,  # type: ignore[arg-type]
               store=RedisStore(client, prefix=prefix), bus=FakeBus(),  # type: ignore[arg-type]
               leads={cs.id: leads}, metrics=Metrics())
    task = asyncio.create_task(d.run_ami_only())
    try:
        yield d
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await client.aclose()
