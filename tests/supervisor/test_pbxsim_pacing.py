"""Acceptance against the PBX simulator: the daemon as `dialer run` assembles it (AMI over TCP to the simulator,
real Redis, an embedded MQTT broker) dials a shift; a pacing change made through the API is what its very
next pacing decision uses, and every decision before it used the old setting."""

from __future__ import annotations

import asyncio
import contextlib

import httpx
import pytest
from sup_fakes import AUTH, live_server, settings

from agents import commands as ac
from dialer.app import run_daemon, services
from dialer.clock import ScaledClock
from dialer.config import AmiSettings, CampaignSettings, MetricsSettings, MqttSettings, PacingSettings, RedisSettings
from dialer.engine.core import DialRequest
from dialer.http import build_app
from dialer.leadsource import InMemoryLeadSource
from pacing import Mode
from pacing.traffic import TrafficModel

pytestmark = pytest.mark.integration


async def test_api_pacing_change_reaches_the_next_decision_of_a_daemon_dialing_the_simulator(redis_url):
    cfg = settings([CampaignSettings(id="upsell", amd=True, pacing=PacingSettings(mode=Mode.POWER, ratio=2.0))])
    cfg.ami = AmiSettings(host="embedded", ping_interval_s=2.0, ping_timeout_s=2.0)
    cfg.redis = RedisSettings(url=redis_url, prefix="suppbx")
    cfg.mqtt = MqttSettings(url="embedded")
    cfg.metrics = MetricsSettings(enabled=False)
    cfg.shutdown_grace_s = 0.0
    clock = ScaledClock(20.0)
    stop = asyncio.Event()
    seen: dict[str, object] = {}

    async def leads(cs, redis):
        return InMemoryLeadSource(DialRequest(f"L{i}", f"+1212555{i:04d}") for i in range(2000))

    async def shift(daemon):
        pacer = daemon.engine.campaigns["upsell"].pacer
        decided = asyncio.Event()
        original = pacer.decide
        log = []  # every decision, in order (the pacer's own log is a bounded ring)

        def decide(snap):
            d = original(snap)
            log.append(d)
            decided.set()
            return d

        pacer.decide = decide  # instrument only: let the test await decisions instead of sleeping
        set_knobs = daemon.set_knobs

        def spy(campaign_id, knobs):
            # decisions made before the change took effect. Only the supervisor's change counts: the
            # ledger's read-back also sets the knobs (the same ones, with the AMD audit's share), and on
            # a slow start it comes after the change
            if knobs.mode is not Mode.POWER and "at_change" not in seen:
                seen["at_change"] = len(log)
            set_knobs(campaign_id, knobs)

        daemon.set_knobs = spy
        for i in range(6):
            daemon.agent_command(ac.Login(f"a{i}", f"10{i:02d}", "upsell"))
            daemon.agent_command(ac.Ready(f"a{i}"))
        try:
            async with live_server(build_app(daemon)) as url, httpx.AsyncClient(base_url=url) as c:
                async with asyncio.timeout(30):
                    while daemon.engine.stats.placed < 12:  # the shift is under way: power 2:1 dials
                        decided.clear()
                        await decided.wait()
                r = await c.patch("/api/campaigns/upsell/pacing", headers=AUTH["supervisor"],
                                  json={"mode": "progressive"})
                assert r.status_code == 200, r.text
                async with asyncio.timeout(30):
                    while len(log) <= seen["at_change"]:
                        decided.clear()
                        await decided.wait()
                seen["decisions"] = list(log)
                seen["placed"] = daemon.engine.stats.placed
        finally:
            stop.set()

    async with services(cfg, clock, traffic=TrafficModel(), seed=3) as svc:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(90):
                await run_daemon(cfg, svc, clock, leads, stop, on_ready=shift)
    decisions = seen["decisions"]
    k = seen["at_change"]
    assert k > 0
    assert {d.mode for d in decisions[:k]} == {Mode.POWER}
    assert decisions[k].mode is Mode.PROGRESSIVE
    assert seen["placed"] >= 12
