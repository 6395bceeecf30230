"""MQTT: events out to agents and wallboards, agents' commands in.

Topics:
  agents/<agent-id>/screenpop   a call was handed to the agent (JSON, QoS 1)
  agents/<agent-id>/events      everything else for that agent (state, customer hung up, ...)
  agents/<agent-id>/commands    what the agent asks (login, ready, pause, disposition, logout)
  [mqtt] signals_topic          suppression signals from the operator's systems (`dialer.signals_feed`)

Messages to agents carry the `seq` of `dialer.agentfeed.AgentFeed`. Publishing never blocks the
dialer: messages go through an outbox drained by `run()`, which reconnects on its own (aiomqtt
leaves reconnecting to the caller).

Agents' commands sent while the daemon's connection is down are not lost: the daemon keeps a
persistent MQTT session (clean session off), so the broker queues them (QoS 1) and hands them over on
reconnect. Only a short outage is replayed: after one longer than `replay_window_s` the queued commands
are stale (a login from an agent who has gone since, a pause long over) and the daemon starts a clean
session instead, which drops them, and says so. A daemon that starts always starts clean, so nothing a
previous run left queued is replayed into it.

Suppression signals are the opposite: a trouble ticket opened while the daemon was away still holds.
They come on a session of their own (client id `<client_id>-signals`) that is never cleaned, so the
broker hands over everything queued for it since the daemon last ran, however long ago.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from typing import Any, Protocol
from urllib.parse import urlparse

import aiomqtt

from dialer.errors import BusError

__all__ = ["BusPort", "MqttBus", "parse_mqtt_url"]

log = logging.getLogger(__name__)


def parse_mqtt_url(url: str) -> tuple[str, int, str | None, str | None]:
    u = urlparse(url)
    if u.scheme not in ("mqtt", "tcp") or not u.hostname:
        raise BusError(f"MQTT url {url!r} is not like mqtt://host:1883; fix [mqtt] url")
    return u.hostname, u.port or 1883, u.username, u.password


class BusPort(Protocol):
    """What the daemon and the agent feed need of the MQTT side (`MqttBus` in production; the engine
    benchmark and the tests have fakes of their own, checked against this)."""

    def publish(self, topic: str, payload: dict[str, Any], *, qos: int = 1, retain: bool = False) -> None: ...

    def agent_commands(self) -> AsyncIterator[tuple[str, bytes]]: ...

    def signals(self) -> AsyncIterator[bytes]: ...

    async def run(self) -> None: ...

    async def drain(self, timeout_s: float = 5.0) -> bool: ...


class MqttBus:
    """One MQTT session for the daemon, kept up by `run()`."""

    def __init__(
        self,
        url: str,
        *,
        client_id: str = "dialer",
        timeout_s: float = 5.0,
        max_outbox: int = 100_000,
        replay_window_s: float = 60.0,
        signals_topic: str = "",
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._host, self._port, self._user, self._password = parse_mqtt_url(url)
        self._client_id = client_id
        self._timeout = timeout_s
        self._replay_window = replay_window_s
        self._monotonic = monotonic
        self._lost_at: float | None = None  # when the session last went down; None before the first one
        self._started = False  # a session of this process exists on the broker
        self._outbox: deque[tuple[str, bytes, int, bool]] = deque(maxlen=max_outbox)
        self._wake = asyncio.Event()
        self._inbox: asyncio.Queue[tuple[str, bytes]] = asyncio.Queue(maxsize=10_000)
        self._signals_topic = signals_topic
        self._signals: asyncio.Queue[bytes] = asyncio.Queue(maxsize=10_000)
        self.connected = asyncio.Event()
        self.signals_connected = asyncio.Event()  # the signals' session is subscribed (its own)
        self._empty = asyncio.Event()
        self._empty.set()
        self.dropped_inbound = 0

    # ------------------------------------------------------------------ outgoing
    def publish(self, topic: str, payload: dict[str, Any], *, qos: int = 1, retain: bool = False) -> None:
        data = json.dumps(payload, separators=(",", ":"), ensure_ascii=False, default=str).encode()
        self._outbox.append((topic, data, qos, retain))
        self._empty.clear()
        self._wake.set()

    @property
    def backlog(self) -> int:
        return len(self._outbox)

    # ------------------------------------------------------------------ incoming
    async def agent_commands(self) -> AsyncIterator[tuple[str, bytes]]:
        """(agent_id, raw JSON) for every message on agents/<id>/commands."""
        while True:
            yield await self._inbox.get()

    async def signals(self) -> AsyncIterator[bytes]:
        """Every message on the suppression-signals topic (`[mqtt] signals_topic`), raw, in order."""
        while True:
            yield await self._signals.get()

    # ------------------------------------------------------------------ the session
    async def run(self, reconnect_delay_s: float = 1.0) -> None:
        """Connect, subscribe, pump both ways; reconnect after any broker failure. Cancel to stop."""
        async with asyncio.TaskGroup() as tg:
            if self._signals_topic:
                tg.create_task(self._run_signals(reconnect_delay_s), name="mqtt-signals")
            await self._run_agents(reconnect_delay_s)

    async def _run_signals(self, reconnect_delay_s: float) -> None:
        """The suppression signals' own session. Unlike agents' commands they never go stale: a ticket
        opened while the daemon was away still holds, so this session is never cleaned, and the broker
        hands over whatever it queued for it since the last run, however long ago (QoS 1)."""
        while True:
            try:
                async with self._client(clean=False, suffix="-signals") as client:
                    await client.subscribe(self._signals_topic, qos=1)
                    self.signals_connected.set()
                    async for msg in client.messages:
                        payload = msg.payload if isinstance(msg.payload, bytes) else str(msg.payload).encode()
                        await self._signals.put(payload)  # a full inbox (Redis away) waits: none is dropped
            except aiomqtt.MqttError as exc:
                self.signals_connected.clear()
                log.warning("mqtt signals connection lost, reconnecting", extra={"error": repr(exc)})
            await asyncio.sleep(reconnect_delay_s)

    async def _run_agents(self, reconnect_delay_s: float) -> None:
        while True:
            try:
                if self._stale():
                    await self._drop_queued()
                async with self._client(clean=False) as client:
                    await client.subscribe("agents/+/commands", qos=1)
                    self._started, self._lost_at = True, None
                    self.connected.set()
                    log.info("mqtt connected", extra={"action": f"{self._host}:{self._port}"})
                    async with asyncio.TaskGroup() as tg:
                        tg.create_task(self._reader(client), name="mqtt-reader")
                        tg.create_task(self._writer(client), name="mqtt-writer")
            except* aiomqtt.MqttError as group:
                if self.connected.is_set():
                    self._lost_at = self._monotonic()
                self.connected.clear()
                log.warning("mqtt connection lost, reconnecting", extra={"error": repr(group.exceptions[0])})
            await asyncio.sleep(reconnect_delay_s)

    def _stale(self) -> bool:
        """Whether what the broker queued for us must be dropped rather than replayed."""
        if not self._started:
            return True
        return self._lost_at is not None and self._monotonic() - self._lost_at > self._replay_window

    async def _drop_queued(self) -> None:
        # a clean session discards the broker's session and queue for our client id
        async with self._client(clean=True):
            pass
        if self._started and self._lost_at is not None:
            log.warning(
                "mqtt was down longer than the replay window; agent commands sent meanwhile were dropped as stale",
                extra={"action": f"down {self._monotonic() - self._lost_at:.0f} s, "
                                 f"mqtt.replay_window_s {self._replay_window:g} s"},
            )
        self._lost_at = None

    def _client(self, *, clean: bool, suffix: str = "") -> aiomqtt.Client:
        return aiomqtt.Client(
            self._host,
            self._port,
            username=self._user,
            password=self._password,
            identifier=self._client_id + suffix,
            timeout=self._timeout,
            clean_session=clean,
        )

    async def _reader(self, client: aiomqtt.Client) -> None:
        async for msg in client.messages:
            payload = msg.payload if isinstance(msg.payload, bytes) else str(msg.payload).encode()
            parts = str(msg.topic).split("/")
            if len(parts) != 3 or parts[0] != "agents" or parts[2] != "commands":
                continue
            try:
                self._inbox.put_nowait((parts[1], payload))
            except asyncio.QueueFull:
                self.dropped_inbound += 1
                log.error("agent command inbox full, command dropped", extra={"agent_id": parts[1]})

    async def _writer(self, client: aiomqtt.Client) -> None:
        while True:
            while self._outbox:
                topic, data, qos, retain = self._outbox[0]
                await client.publish(topic, data, qos=qos, retain=retain)
                self._outbox.popleft()
            self._empty.set()
            self._wake.clear()
            await self._wake.wait()

    async def drain(self, timeout_s: float = 5.0) -> bool:
        """Wait until the outbox is empty (shutdown); False if it did not empty in time."""
        try:
            async with asyncio.timeout(timeout_s):
                await self._empty.wait()
        except TimeoutError:
            return False
        return True
