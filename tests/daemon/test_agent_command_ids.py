"""Agents' MQTT commands sent again with the same id (QoS 1 is at least once) are applied once, silently."""

from __future__ import annotations

import asyncio
import json
import random
from typing import Any

from bus_fakes import CommandBus
from daemon_fakes import FakeAmi, ready_agent, stopping, talk_and_hang_up

from dialer.clock import ScaledClock
from dialer.config import CampaignSettings, DialerSettings, HttpSettings, MetricsSettings
from dialer.daemon import Daemon, runtime_from_settings
from dialer.engine.core import Engine
from dialer.leadsource import InMemoryLeadSource
from dialer.metrics import Metrics
from dialer.store import RedisStore

T0 = 1_795_000_000.0


def make_daemon(client: Any, prefix: str) -> tuple[Daemon, InMemoryLeadSource, CommandBus]:
    cs = CampaignSettings(id="uk")
    cfg = DialerSettings(campaigns=[cs], http=HttpSettings(enabled=False), metrics=MetricsSettings(enabled=False))
    engine = Engine(hold_s=1.5, rng=random.Random(3))
    engine.add_campaign(runtime_from_settings(cs))
    bus = CommandBus()
    source = InMemoryLeadSource([])
    d = Daemon(cfg, clock=ScaledClock(1.0, start=T0), engine=engine, ami=FakeAmi(),  # type: ignore[arg-type]
               store=RedisStore(client, prefix=prefix), bus=bus,  # type: ignore[arg-type]
               leads={"uk": source}, metrics=Metrics())
    return d, source, bus


def send(bus: CommandBus, agent_id: str, body: dict[str, object]) -> None:
    bus.commands.put_nowait((agent_id, json.dumps(body).encode()))


async def test_a_disposition_delivered_twice_with_its_id_is_applied_once_and_answered_once(client):
    d, source, bus = make_daemon(client, "cmdid1")
    stop, task = await stopping(d)
    try:
        ready_agent(d)
        cid = talk_and_hang_up(d, 1)
        dispose = {"type": "disposition", "call_id": cid, "code": "sale", "id": "desk-42"}
        send(bus, "a1", dispose)
        send(bus, "a1", dispose)  # the broker's redelivery: the first's acknowledgement was lost
        send(bus, "a1", {"type": "disposition", "call_id": "no-such-call", "code": "sale"})  # marks the end
        await bus.published_where(lambda p: p.get("kind") == "error" and "no-such-call" in str(p.get("error")))
    finally:
        stop.set()
        await task
    errors = [p["error"] for _t, p in bus.published if p.get("kind") == "error"]
    assert len(errors) == 1, errors  # only the marker's: the repeat was dropped without an answer
    assert [(x.call_id, x.code) for x in source.dispositions] == [(cid, "sale")]


async def test_a_repeat_without_an_id_is_still_applied_again_and_refused(client):
    d, source, bus = make_daemon(client, "cmdid2")
    stop, task = await stopping(d)
    try:
        ready_agent(d)
        cid = talk_and_hang_up(d, 2)
        send(bus, "a1", {"type": "disposition", "call_id": cid, "code": "sale"})
        send(bus, "a1", {"type": "disposition", "call_id": cid, "code": "sale"})
        refused = await bus.published_where(lambda p: p.get("kind") == "error")
    finally:
        stop.set()
        await task
    assert f"dispose call {cid}" in refused["error"]
    assert [(x.call_id, x.code) for x in source.dispositions] == [(cid, "sale")]


async def test_a_refused_preview_command_is_answered_again_when_sent_again_with_its_id(client):
    # the first answer (an error) may be what the client missed: the same id must not be dropped as a repeat
    d, _source, bus = make_daemon(client, "cmdid3")
    stop, task = await stopping(d)
    try:
        ready_agent(d)
        skip = {"type": "preview_skip", "lead_id": "L-none", "reason": "bad_data", "id": "desk-7"}
        send(bus, "a1", skip)
        await bus.published_where(lambda p: p.get("kind") == "error")
        send(bus, "a1", skip)

        def refusals() -> int:
            return sum(1 for _t, p in bus.published if p.get("kind") == "error" and "L-none" in str(p.get("error")))

        async with asyncio.timeout(10):  # a bound, not a wait: before the fix the second answer never came
            await bus.published_where(lambda _p: refusals() >= 2)
    finally:
        stop.set()
        await task
    errors = [p["error"] for _t, p in bus.published if p.get("kind") == "error"]
    assert len(errors) == 2, errors
    assert errors[0] == errors[1]


async def test_a_pause_over_mqtt_takes_only_a_reason_the_desk_offers(client):
    d, _source, bus = make_daemon(client, "cmdid4")
    stop, task = await stopping(d)
    try:
        ready_agent(d)
        send(bus, "a1", {"type": "pause", "reason": "nap"})
        async with asyncio.timeout(10):  # a bound: before the fix no error came
            refused = await bus.published_where(lambda p: p.get("kind") == "error")
        send(bus, "a1", {"type": "pause", "reason": "lunch"})
        await bus.published_where(lambda p: p.get("kind") == "state" and p.get("state") == "paused")
    finally:
        stop.set()
        await task
    assert refused["field"] == "reason"
    assert refused["error"].startswith("pause reason 'nap' is not one of break, coaching, lunch")
    assert d.engine.roster.get("a1").pause_reason == "lunch"
