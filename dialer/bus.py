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
broker hands over everything queued for it since the daemon last ran, however long ago. Each is
acknowledged only when the signals feed is done with it (`Delivery.ack`: stored in Redis, or refused for
good), not on receipt: a signal received but not yet stored when the daemon stops (Redis away) stays
unacknowledged in the session, and a broker that keeps unacknowledged messages (Mosquitto) hands it over
again at the next run. aiomqtt has no manual acknowledgement of its own; `manual_ack` reaches the
paho-mqtt client beneath it.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from importlib.metadata import PackageNotFoundError, version
from typing import Any, Protocol
from urllib.parse import urlparse

import aiomqtt

from dialer.errors import BusError

__all__ = ["AIOMQTT_SUPPORTED", "BusPort", "Delivery", "MqttBus", "manual_ack", "parse_mqtt_url"]

log = logging.getLogger(__name__)


def parse_mqtt_url(url: str) -> tuple[str, int, str | None, str | None]:
    u = urlparse(url)
    if u.scheme not in ("mqtt", "tcp") or not u.hostname:
        raise BusError(f"MQTT url {url!r} is not like mqtt://host:1883; fix [mqtt] url")
    return u.hostname, u.port or 1883, u.username, u.password


# How long amqtt waits for the acknowledgement of a message it hands over (then drops it): a resumed session's
# subscribe is answered only after its queued messages are acknowledged or so dropped (`_run_signals`).
_QUEUE_ACK_WAIT_S = 5.0

# The aiomqtt releases `manual_ack` is known to work with (pyproject.toml pins the same range): 2.1 is the first on
# paho-mqtt 2 (whose Client has manual_ack_set and ack); a new major release may drop paho or move its client.
AIOMQTT_SUPPORTED = ">=2.1,<3"


def manual_ack(client: aiomqtt.Client) -> Callable[[int, int], object]:
    """Make `client` leave the acknowledgement of received QoS 1 messages to us, and return what sends one:
    `ack(mid, qos)`. Call it before `client` connects: a persistent session's queued messages come right after
    the CONNACK, before any subscribe.

    aiomqtt has no manual acknowledgement (requested upstream, empicano/aiomqtt#345): its paho-mqtt client
    sends the PUBACK as soon as a message is received. paho-mqtt 2 can leave it to the caller
    (`Client.manual_ack_set(True)`, then `Client.ack(mid, qos)`), and aiomqtt keeps that client in its private
    attribute `_client`. This is the one place that reaches it. An aiomqtt that no longer has it there fails
    here, at connect, naming its version, instead of the signals quietly going back to acknowledgement on
    receipt (which loses those still waiting for Redis at a stop)."""
    paho = getattr(client, "_client", None)
    manual_ack_set, ack = getattr(paho, "manual_ack_set", None), getattr(paho, "ack", None)
    if not callable(manual_ack_set) or not callable(ack):
        try:
            installed = f"aiomqtt {version('aiomqtt')}"
        except PackageNotFoundError:
            installed = "this aiomqtt (version unknown)"
        raise BusError(
            f"{installed} has no paho-mqtt client with manual acknowledgement at aiomqtt.Client._client (manual_ack_set"
            f" and ack), which the suppression signals need to be acknowledged only once stored in Redis; install "
            f"a supported aiomqtt: pip install 'aiomqtt{AIOMQTT_SUPPORTED}'")
    manual_ack_set(True)
    send: Callable[[int, int], object] = ack
    return send


class Delivery(Protocol):
    """A message the broker handed over, kept by it until `ack()` says we are done with it."""

    @property
    def payload(self) -> bytes: ...

    def ack(self) -> None: ...


class _Connection:
    """One connection of the signals' session. Its messages are acknowledged only while it is up: a message id
    means that message on this connection only, and once it is gone the broker hands them over again on the
    next, where their copies are acknowledged."""

    def __init__(self, ack: Callable[[int, int], object]) -> None:
        self.send_ack = ack
        self.up = True


class _SignalMessage:
    """A message of the signals' topic (`Delivery`): acknowledged on the connection it came on, if still up."""

    __slots__ = ("_connection", "_mid", "_qos", "payload")

    def __init__(self, payload: bytes, mid: int, qos: int, connection: _Connection) -> None:
        self.payload = payload
        self._mid, self._qos, self._connection = mid, qos, connection

    def ack(self) -> None:
        if self._connection.up:
            self._connection.send_ack(self._mid, self._qos)


class BusPort(Protocol):
    """What the daemon and the agent feed need of the MQTT side (`MqttBus` in production; the engine
    benchmark and the tests have fakes of their own, checked against this)."""

    def publish(self, topic: str, payload: dict[str, Any], *, qos: int = 1, retain: bool = False) -> None: ...

    def agent_commands(self) -> AsyncIterator[tuple[str, bytes]]: ...

    def signals(self) -> AsyncIterator[Delivery]: ...

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
        self._signals: asyncio.Queue[_SignalMessage] = asyncio.Queue(maxsize=10_000)
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

    async def signals(self) -> AsyncIterator[Delivery]:
        """Every message on the suppression-signals topic (`[mqtt] signals_topic`), raw, in order; each to be
        acknowledged (`Delivery.ack`) once done with.

        Those still queued here when their connection goes are handed over all the same, though the broker hands
        them over again on the next connection (they were not acknowledged; Mosquitto does, amqtt drops them):
        applying a signal twice changes nothing, and the copies come again in their order, after the first ones,
        so the last signal applied is still the newest. Skipping them would lose them on a broker that does not
        hand them over again."""
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
        hands over whatever it queued for it since the last run, however long ago (QoS 1), and whatever
        it handed over before without being acknowledged (`signals`)."""
        while True:
            client = self._client(clean=False, suffix="-signals")
            connection = _Connection(manual_ack(client))
            try:
                async with client, asyncio.TaskGroup() as tg:
                    # read from the CONNACK on, not from the SUBACK: amqtt hands a resumed session's queue over
                    # first and answers the subscribe only once those messages are acknowledged (they are, once
                    # stored) or dropped after 5 s; reading only after the SUBACK, they were dropped every time
                    tg.create_task(self._signals_reader(client, connection), name="mqtt-signals-reader")
                    await client.subscribe(self._signals_topic, qos=1, timeout=self._timeout + _QUEUE_ACK_WAIT_S)
                    self.signals_connected.set()
            except* aiomqtt.MqttError as group:
                self.signals_connected.clear()
                log.warning("mqtt signals connection lost, reconnecting", extra={"error": repr(group.exceptions[0])})
            finally:
                connection.up = False
            await asyncio.sleep(reconnect_delay_s)

    async def _signals_reader(self, client: aiomqtt.Client, connection: _Connection) -> None:
        async for msg in client.messages:
            payload = msg.payload if isinstance(msg.payload, bytes) else str(msg.payload).encode()
            # a full inbox (Redis away) waits: none is dropped
            await self._signals.put(_SignalMessage(payload, msg.mid, msg.qos, connection))

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
