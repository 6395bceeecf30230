"""The signals' MQTT session acknowledges a message only when the feed says so (`Delivery.ack`), on the
connection it came on, through paho beneath aiomqtt (`dialer.bus.manual_ack`); an aiomqtt without that paho
client fails naming its version. Fake clients stand in for aiomqtt's connections: no broker, no sleeps."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from importlib.metadata import version

import aiomqtt
import pytest

from dialer.bus import AIOMQTT_SUPPORTED, MqttBus, manual_ack
from dialer.errors import BusError

LIMIT = 10.0  # real seconds: only turns a hang into a failure


async def test_manual_ack_turns_off_pahos_acknowledgement_on_receipt():
    client = aiomqtt.Client("127.0.0.1", 1, identifier="x")  # never connected
    paho = client._client
    assert not paho._manual_ack  # paho acknowledges on receipt by default
    send = manual_ack(client)
    assert paho._manual_ack
    assert send == paho.ack


async def test_an_aiomqtt_without_the_paho_client_fails_naming_its_version_and_the_range_to_install():
    class Moved:  # what a future aiomqtt might look like
        pass

    with pytest.raises(BusError) as caught:
        manual_ack(Moved())  # type: ignore[arg-type]
    said = str(caught.value)
    assert f"aiomqtt {version('aiomqtt')}" in said
    assert f"pip install 'aiomqtt{AIOMQTT_SUPPORTED}'" in said
    assert "Client._client" in said


class FakePaho:
    def __init__(self, journal: list[str]) -> None:
        self.journal = journal
        self.acks: list[tuple[int, int]] = []
    def manual_ack_set(self, on: bool) -> None:
        self.journal.append(f"manual ack {on}")

        self.acked = asyncio.Event()

    def ack(self, mid: int, qos: int) -> int:
        self.acks.append((mid, qos))
        self.acked.set()
        return 0


class FakeClient:
    """One connection: `deliver` hands a message over, `drop` ends the connection as a broker outage does."""

    def __init__(self, journal: list[str]) -> None:
        self.journal = journal
        self._client = FakePaho(journal)
        self._incoming: asyncio.Queue[aiomqtt.Message | None] = asyncio.Queue()
        self.subscribed = asyncio.Event()

    async def __aenter__(self) -> FakeClient:
        self.journal.append("connect")
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.journal.append("disconnect")

    async def subscribe(self, topic: str, qos: int, *, timeout: float) -> None:
        self.subscribed.set()

    @property
    async def messages(self) -> AsyncIterator[aiomqtt.Message]:
        while (msg := await self._incoming.get()) is not None:
            yield msg
        raise aiomqtt.MqttError("connection lost")

    def deliver(self, payload: bytes, mid: int) -> None:
        self._incoming.put_nowait(aiomqtt.Message("sig", payload, qos=1, retain=False, mid=mid, properties=None))

    def drop(self) -> None:
        self._incoming.put_nowait(None)


class AmqttLikeClient(FakeClient):
    """A resumed session as amqtt resumes it: right after the CONNACK it hands over a message queued for the
    session, and answers the subscribe only once that message is acknowledged."""

    async def __aenter__(self) -> FakeClient:
        await super().__aenter__()
        self.deliver(b"queued while away", mid=1)
        return self

    async def subscribe(self, topic: str, qos: int, *, timeout: float) -> None:
        await self._client.acked.wait()
        await super().subscribe(topic, qos, timeout=timeout)


class Connections:
    """Stands in for `MqttBus._client`: each call is the next connection of the signals' session."""

    def __init__(self, journal: list[str], kind: type[FakeClient] = FakeClient) -> None:
        self.journal = journal
        self.kind = kind
        self.made: list[FakeClient] = []
        self._made_one = asyncio.Event()

    def __call__(self, *, clean: bool, suffix: str = "") -> FakeClient:
        assert (clean, suffix) == (False, "-signals")  # the persistent session, under its own client id
        self.made.append(self.kind(self.journal))
        self._made_one.set()
        return self.made[-1]

    async def nth(self, n: int) -> FakeClient:
        """The n-th connection, once subscribed."""
        async with asyncio.timeout(LIMIT):
            while len(self.made) < n:
                self._made_one.clear()
                await self._made_one.wait()
            await self.made[n - 1].subscribed.wait()
        return self.made[n - 1]


async def test_a_message_is_acknowledged_on_its_own_connection_only_when_the_feed_says_so(monkeypatch):
    journal: list[str] = []
    bus = MqttBus("mqtt://127.0.0.1:1", signals_topic="sig")
    made = Connections(journal)
    monkeypatch.setattr(bus, "_client", made)
    task = asyncio.create_task(bus._run_signals(reconnect_delay_s=0.0))
    signals = aiter(bus.signals())
    try:
        first = await made.nth(1)
        assert journal[:2] == ["manual ack True", "connect"]  # set before the CONNACK brings the session's queue
        first.deliver(b"ticket", mid=7)
        first.deliver(b"lift", mid=8)
        async with asyncio.timeout(LIMIT):
            ticket = await anext(signals)
        assert (ticket.payload, first._client.acks) == (b"ticket", [])  # received is not done with
        ticket.ack()
        assert first._client.acks == [(7, 1)]

        async with asyncio.timeout(LIMIT):
            lift = await anext(signals)
        first.drop()  # the connection goes before the lift is stored
        second = await made.nth(2)
        lift.ack()  # stored now, but its connection is gone: nothing is sent, on either
        assert (first._client.acks, second._client.acks) == ([(7, 1)], [])

        second.deliver(b"lift", mid=3)  # the broker hands it over again, under the new connection's id
        async with asyncio.timeout(LIMIT):
            again = await anext(signals)
        again.ack()
        assert (again.payload, second._client.acks) == (b"lift", [(3, 1)])
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task


async def test_messages_handed_over_before_the_subscribe_is_answered_are_read_and_acknowledged(monkeypatch):
    # amqtt answers a resumed session's subscribe only once the messages it queued for it are acknowledged: had
    # the bus waited for that answer before reading, neither would come (amqtt gives up after 5 s and drops them)
    bus = MqttBus("mqtt://127.0.0.1:1", signals_topic="sig")
    made = Connections([], AmqttLikeClient)
    monkeypatch.setattr(bus, "_client", made)
    task = asyncio.create_task(bus._run_signals(reconnect_delay_s=0.0))
    try:
        async with asyncio.timeout(LIMIT):
            queued = await anext(aiter(bus.signals()))
        assert not bus.signals_connected.is_set()
        queued.ack()  # stored
        connection = await made.nth(1)
        assert (queued.payload, connection._client.acks) == (b"queued while away", [(1, 1)])
        assert bus.signals_connected.is_set()
        assert len(made.made) == 1  # no reconnection
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
