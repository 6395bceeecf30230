"""Assembly: from settings to a running daemon, with embedded services where the settings ask for them.

`dialer run` and `dialer demo` both go through `run_daemon`; the only difference is where the
services come from (configured hosts, or embedded ones started here) and who the agents are.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import redis.asyncio as aioredis
from prometheus_client import CollectorRegistry, start_http_server

from dialer.ami.client import AmiClient
from dialer.bus import MqttBus
from dialer.clock import Clock, ScaledClock, WallClock
from dialer.config import CampaignSettings, DialerSettings, MetricsSettings, settle_campaign
from dialer.daemon import Daemon, persistence_checked, runtime_from_settings
from dialer.embedded import embedded_mqtt_process, embedded_redis
from dialer.engine.core import Engine, ScreenPopRenderer
from dialer.errors import ConfigError
from dialer.leadsource import LeadSource
from dialer.metrics import Metrics
from dialer.store import RedisStore, connect_redis
from pacing.traffic import TrafficModel

if TYPE_CHECKING:
    from wsgiref.simple_server import WSGIServer

__all__ = ["Services", "run_daemon", "serve_metrics", "services"]

log = logging.getLogger(__name__)

LeadsFactory = Callable[[CampaignSettings, aioredis.Redis], Awaitable[LeadSource]]


@dataclass(frozen=True, slots=True)
class Services:
    redis_url: str
    mqtt_url: str
    ami_host: str
    ami_port: int
    pbx: dict[str, Any] | None  # the embedded simulator's statistics (filled in when it stops)


@contextlib.asynccontextmanager
async def services(
    settings: DialerSettings, clock: Clock, *, traffic: TrafficModel | None = None, seed: int = 0,
    pbx_options: Mapping[str, Any] | None = None,
) -> AsyncIterator[Services]:
    """Resolve `embedded` settings by starting those services; stop them on exit. `pbx_options`: more
    keywords for the embedded PBX simulator (`PbxSimulator`)."""
    async with contextlib.AsyncExitStack() as stack:
        redis_url = settings.redis.url
        if redis_url == "embedded":
            redis_url = await stack.enter_async_context(embedded_redis())
        mqtt_url = settings.mqtt.url
        if mqtt_url == "embedded":
            mqtt_url = await stack.enter_async_context(embedded_mqtt_process())
        host, port, pbx = settings.ami.host, settings.ami.port, None
        if host == "embedded":
            from dialer.pbxsim.process import pbx_in_process

            if not isinstance(clock, ScaledClock):
                raise ConfigError("an embedded PBX simulator needs a ScaledClock to share with the daemon")
            port, pbx = await stack.enter_async_context(
                pbx_in_process(
                    traffic or TrafficModel(),
                    clock=clock,
                    seed=seed,
                    username=settings.ami.username,
                    secret=settings.ami.secret.get_secret_value(),
                    options=pbx_options,
                )
            )
            host = "127.0.0.1"
        yield Services(redis_url, mqtt_url, host, port, pbx)


def build_screenpop(settings: DialerSettings) -> ScreenPopRenderer:
    """The screen-pop renderer with each campaign's call script (raises ConfigError on a bad script)."""
    from agents.screenpop import ScreenPopRenderer as Renderer
    from agents.scripts import load_script

    scripts = {cs.id: load_script(cs.script) for cs in settings.campaigns if cs.script is not None}
    return Renderer(
        scripts,
        agent_names={a.id: a.name or a.id for a in settings.agents},
        campaign_titles={cs.id: cs.name or cs.id for cs in settings.campaigns},
    )


def build_engine(settings: DialerSettings, screenpop: ScreenPopRenderer | None = None) -> Engine:
    engine = Engine(hold_s=settings.hold_s, screenpop=screenpop or build_screenpop(settings))
    for cs in settings.campaigns:
        engine.add_campaign(runtime_from_settings(cs))
    return engine


def serve_metrics(settings: MetricsSettings, registry: CollectorRegistry) -> WSGIServer:
    """Serve `/metrics` for Prometheus on a thread, and say where (prometheus_client logs nothing)."""
    server, _thread = start_http_server(settings.port, addr=settings.host, registry=registry)
    host, port = server.socket.getsockname()[:2]
    log.info("metrics listening on http://%s/metrics", f"[{host}]:{port}" if ":" in host else f"{host}:{port}")
    return server


async def run_daemon(
    settings: DialerSettings,
    svc: Services,
    clock: Clock,
    leads_factory: LeadsFactory,
    stop: asyncio.Event,
    *,
    screenpop: ScreenPopRenderer | None = None,
    on_ready: Callable[[Daemon], Coroutine[Any, Any, None]] | None = None,
) -> Daemon:
    """Connect to Redis, MQTT and AMI, run the daemon until `stop`, return it (for its stats).

    `on_ready(daemon)` runs beside it once the daemon runs and takes agents' commands from MQTT."""
    # every campaign as it runs: caller ID and jurisdiction from its file where dialer.toml is silent. The file
    # `dialer run` read and checked (`read_campaign_files`) comes with the campaign and is not read again, here
    # or by the lead sources (`CampaignSettings.file_config`); settings not settled yet are read here, once
    settings = settings.model_copy(update={"campaigns": [settle_campaign(cs) for cs in settings.campaigns]})
    redis = connect_redis(svc.redis_url, timeout_s=settings.redis.timeout_s)
    metrics = Metrics()
    if isinstance(clock, WallClock):
        metrics.watch_clock(clock)
    metrics_server = None
    if settings.metrics.enabled:
        metrics_server = serve_metrics(settings.metrics, metrics.registry)
    try:
        store = RedisStore(redis, prefix=settings.redis.prefix, timeout_s=settings.redis.timeout_s)
        await store.ping()
        # said (and refused, `[redis] require_persistence`) before anything connects to Asterisk
        persistence = await persistence_checked(store, metrics, required=settings.redis.require_persistence)
        leads: Mapping[str, LeadSource] = {cs.id: await leads_factory(cs, redis) for cs in settings.campaigns}
        bus = MqttBus(
            svc.mqtt_url,
            client_id=f"dialer-{settings.redis.prefix}",
            timeout_s=settings.mqtt.timeout_s,
            replay_window_s=settings.mqtt.replay_window_s,
            signals_topic=settings.mqtt.signals_topic,
        )
        engine = build_engine(settings, screenpop)
        a = settings.ami
        async with AmiClient(
            host=svc.ami_host,
            port=svc.ami_port,
            username=a.username,
            secret=a.secret.get_secret_value(),
            events=a.events,
            ping_interval=a.ping_interval_s,
            ping_timeout=a.ping_timeout_s,
            connect_timeout=a.connect_timeout_s,
            reconnect_delay=a.reconnect_delay_s,
            max_pending_originates=a.max_pending_originates,
            boot_wait=a.boot_wait_s,
            clock=clock,
        ) as ami:
            daemon = Daemon(
                settings, clock=clock, engine=engine, ami=ami, store=store, bus=bus, leads=leads, metrics=metrics,
                leads_factory=leads_factory,
            )
            daemon.persistence = persistence
            async with asyncio.TaskGroup() as tg:
                run = tg.create_task(daemon.run(stop), name="daemon")
                side = None
                if on_ready is not None:
                    await daemon.ready.wait()
                    # MQTT hands a message only to those subscribed when it is published: agents that
                    # log in before the daemon's subscription would be lost, and nothing would dial
                    await bus.connected.wait()
                    side = tg.create_task(on_ready(daemon), name="on-ready")
                await run
                if side is not None:
                    side.cancel()
        return daemon
    finally:
        if metrics_server is not None:
            metrics_server.shutdown()
            metrics_server.server_close()
        await redis.aclose()
