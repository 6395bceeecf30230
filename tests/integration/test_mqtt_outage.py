"""The daemon's MQTT session across a broker outage: agents' commands sent meanwhile are replayed after a
short outage, dropped after a long one, and never replayed into a daemon that starts afresh.

A TCP proxy between the daemon's bus and the real broker (amqtt, or $MQTT_URL) cuts the connection and
refuses new ones while "down"; the bus's idea of how long it was down comes from an injected clock.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from collections.abc import AsyncIterator
from urllib.parse import urlparse

import aiomqtt
import pytest

from dialer.bus import Delivery, MqttBus

GUARD_S = 20.0  # only a guard against a hang: every wait below is on an event


class CuttableProxy:
    """Forwards TCP to the broker until `cut()`: then drops every connection and refuses new ones."""

    def __init__(self, host: str, port: int) -> None:
        self._target = (host, port)
        self._down = False
        self._links: list[tuple[asyncio.StreamWriter, asyncio.StreamWriter]] = []
        self.refused = asyncio.Event()
        self.port = 0

    @contextlib.asynccontextmanager
    async def serve(self) -> AsyncIterator[CuttableProxy]:
        server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = server.sockets[0].getsockname()[1]
        async with server:
            yield self
        self.cut()

    def cut(self) -> None:
        self._down = True
        self.refused.clear()
        for a, b in self._links:
            a.transport.abort()
            b.transport.abort()
        self._links.clear()

    def restore(self) -> None:
        self._down = False

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self._down:
            writer.transport.abort()
            self.refused.set()
            return
        up_reader, up_writer = await asyncio.open_connection(*self._target)
        self._links.append((writer, up_writer))
        await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer))

    @staticmethod
    async def _pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, OSError):
            while data := await src.read(65536):
                dst.write(data)
                await dst.drain()
        dst.transport.abort()


class FakeMonotonic:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


@contextlib.asynccontextmanager
async def running(bus: MqttBus, *, resumed: bool = False) -> AsyncIterator[MqttBus]:
    """`bus` running, connected; with `resumed` (its signals' session is on the broker from an earlier run, so
    subscribed already) without waiting for the signals' SUBACK, which amqtt sends only once the messages it
    queued for the session are acknowledged: the test acknowledges them."""
    task = asyncio.get_running_loop().create_task(bus.run(reconnect_delay_s=0.01))
    try:
        async with asyncio.timeout(GUARD_S):
            await bus.connected.wait()
            if bus._signals_topic and not resumed:  # its own session: a signal sent before it subscribed is lost
                await bus.signals_connected.wait()
        yield bus
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def send(mqtt_url: str, agent_id: str, body: dict[str, object], topic: str = "") -> None:
    u = urlparse(mqtt_url)
    async with aiomqtt.Client(u.hostname or "127.0.0.1", u.port or 1883, identifier=f"agent-{uuid.uuid4().hex}") as c:
        await c.publish(topic or f"agents/{agent_id}/commands", json.dumps(body).encode(), qos=1)


async def next_command(bus: MqttBus) -> tuple[str, dict[str, object]]:
    async with asyncio.timeout(GUARD_S):
        agent_id, raw = await anext(aiter(bus.agent_commands()))
    return agent_id, json.loads(raw)


async def next_signal(signals: AsyncIterator[Delivery]) -> dict[str, object]:
    """The next suppression signal, acknowledged as the signals feed does once it has stored it."""
    async with asyncio.timeout(GUARD_S):
        delivery = await anext(signals)
    delivery.ack()
    body: dict[str, object] = json.loads(delivery.payload)
    return body


async def go_down(proxy: CuttableProxy, bus: MqttBus) -> None:
    """Cut the bus off and wait until it has tried to come back and been refused."""
    proxy.cut()
    async with asyncio.timeout(GUARD_S):
        await proxy.refused.wait()
    assert not bus.connected.is_set()


@pytest.fixture
async def proxy(mqtt_url: str) -> AsyncIterator[CuttableProxy]:
    u = urlparse(mqtt_url)
    async with CuttableProxy(u.hostname or "127.0.0.1", u.port or 1883).serve() as p:
        yield p


def bus_through(proxy: CuttableProxy, client_id: str, clock: FakeMonotonic, signals_topic: str = "") -> MqttBus:
    # a refused attempt ends only when its CONNACK wait times out, hence the short timeout
    return MqttBus(
        f"mqtt://127.0.0.1:{proxy.port}", client_id=client_id, timeout_s=1.0, replay_window_s=60.0, monotonic=clock,
        signals_topic=signals_topic,
    )


async def test_commands_sent_during_a_short_outage_arrive_after_reconnect(
    mqtt_url: str, proxy: CuttableProxy
) -> None:
    clock = FakeMonotonic()
    async with running(bus_through(proxy, f"dialer-{uuid.uuid4().hex}", clock)) as bus:
        # (nothing is exchanged before the cut: QoS 1 is at least once, and a command whose
        # acknowledgement the cut caught would rightly come again after it)
        await go_down(proxy, bus)
        await send(mqtt_url, "a1", {"type": "disposition", "call_id": "c-7", "code": "sale"})
        await send(mqtt_url, "a2", {"type": "pause", "reason": "break"})
        clock.t += 20.0
        proxy.restore()

        assert await next_command(bus) == ("a1", {"type": "disposition", "call_id": "c-7", "code": "sale"})
        assert await next_command(bus) == ("a2", {"type": "pause", "reason": "break"})
        assert bus.connected.is_set()


async def test_commands_queued_during_a_long_outage_are_dropped_as_stale(
    mqtt_url: str, proxy: CuttableProxy, caplog: pytest.LogCaptureFixture
) -> None:
    clock = FakeMonotonic()
    async with running(bus_through(proxy, f"dialer-{uuid.uuid4().hex}", clock)) as bus:
        await go_down(proxy, bus)
        await send(mqtt_url, "a1", {"type": "login", "extension": "1001", "campaign_id": "upsell"})
        clock.t += 61.0
        with caplog.at_level(logging.WARNING, logger="dialer.bus"):
            proxy.restore()
            async with asyncio.timeout(GUARD_S):
                await bus.connected.wait()
        # had the login been replayed, it would have come in at reconnect, before this one was sent
        await send(mqtt_url, "a1", {"type": "ready"})
        assert await next_command(bus) == ("a1", {"type": "ready"})
    assert any("dropped as stale" in r.getMessage() for r in caplog.records)


async def test_a_daemon_that_starts_gets_nothing_a_previous_run_left_queued(
    mqtt_url: str, proxy: CuttableProxy
) -> None:
    client_id = f"dialer-{uuid.uuid4().hex}"
    async with running(bus_through(proxy, client_id, FakeMonotonic())):
        pass  # the previous run: its persistent session outlives it on the broker
    await send(mqtt_url, "a1", {"type": "login", "extension": "1001", "campaign_id": "upsell"})

    async with running(bus_through(proxy, client_id, FakeMonotonic())) as bus:
        await send(mqtt_url, "a1", {"type": "ready"})
        assert await next_command(bus) == ("a1", {"type": "ready"})


async def test_suppression_signals_are_never_stale_after_a_long_outage_or_a_restart(
    mqtt_url: str, proxy: CuttableProxy
) -> None:
    clock = FakeMonotonic()
    topic = f"dialer/signals/suppression-{uuid.uuid4().hex}"  # the broker may be shared with other runs
    client_id = f"dialer-{uuid.uuid4().hex}"
    ticket = {"subject": "subscriber:S1", "kind": "trouble_ticket"}
    async with running(bus_through(proxy, client_id, clock, signals_topic=topic)) as bus:
        signals = aiter(bus.signals())
        await send(mqtt_url, "", ticket, topic=topic)
        assert await next_signal(signals) == ticket
        await go_down(proxy, bus)
        await send(mqtt_url, "", {**ticket, "action": "lift"}, topic=topic)
        clock.t += 600.0  # far past the agents' replay window
        proxy.restore()
        lift, got = {**ticket, "action": "lift"}, []
        while lift not in got:
            got.append(await next_signal(signals))
        # QoS 1 is at least once: the ticket again, if the cut caught its acknowledgement (applying a
        # signal twice changes nothing), but nothing after the lift and nothing lost
        assert got[-1] == lift
        assert all(g == ticket for g in got[:-1])
        # agents' commands still go their own way, once their session is back (the signals may come before it:
        # they are read from the CONNACK on)
        async with asyncio.timeout(GUARD_S):
            await bus.connected.wait()
        await send(mqtt_url, "a1", {"type": "ready"})
        assert await next_command(bus) == ("a1", {"type": "ready"})
    # the daemon is away (a restart): a ticket opened meanwhile reaches the next run
    await send(mqtt_url, "", {**ticket, "subject": "subscriber:S2"}, topic=topic)
    async with running(bus_through(proxy, client_id, FakeMonotonic(), signals_topic=topic), resumed=True) as bus:
        signals = aiter(bus.signals())
        while (one := await next_signal(signals)) == lift:  # the lift again: same reason as above
            pass
        assert one == {**ticket, "subject": "subscriber:S2"}
