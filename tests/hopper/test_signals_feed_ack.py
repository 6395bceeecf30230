"""When the signals feed acknowledges a message to the broker: only once its signal is stored (or refused for
good), never while it waits for Redis, so a stop then leaves it with the broker, which hands it over again at
the next run. Before, the MQTT client acknowledged every message on receipt, and a signal still waiting for
Redis when the daemon stopped was lost.

Fakes only (a gated store, deliveries recording their acknowledgement), no Redis, no sleeps: every wait is on
an event the fakes set."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import pytest
from bus_fakes import FakeDelivery

from dialer.errors import StateStoreError
from dialer.metrics import Metrics
from dialer.policy import SuppressionSignal
from dialer.signals_feed import SignalsFeed

NOW = 1_795_000_000.0
LIMIT = 10.0  # real seconds: only turns a hang into a failure
TICKET = json.dumps({"subject": "subscriber:S1", "kind": "trouble_ticket"}).encode()
LIFT = json.dumps({"subject": "subscriber:S1", "kind": "trouble_ticket", "action": "lift"}).encode()


class Journal:
    """What happened, in order: the store's steps and the acknowledgements."""

    def __init__(self) -> None:
        self.entries: list[str] = []
        self.changed = asyncio.Event()

    def add(self, entry: str) -> None:
        self.entries.append(entry)
        self.changed.set()

    async def reaches(self, entry: str) -> None:
        async with asyncio.timeout(LIMIT):
            while entry not in self.entries:
                self.changed.clear()
                await self.changed.wait()


class GatedStore:
    """`apply_signal` waits for `open_gate()` (once per signal), then stores; `fail` raises instead of storing,
    as many times as it holds (Redis away)."""

    def __init__(self, journal: Journal, *, fail: int = 0) -> None:
        self.journal = journal
        self.fail = fail
        self._gate = asyncio.Semaphore(0)

    def open_gate(self) -> None:
        self._gate.release()

    async def apply_signal(self, signal: SuppressionSignal) -> None:
        self.journal.add(f"storing {signal.action}")
        if self.fail:
            self.fail -= 1
            self.journal.add(f"Redis away {signal.action}")
            raise StateStoreError("Redis did not answer within 3 s while suppressing subscriber:S1")
        await self._gate.acquire()
        self.journal.add(f"stored {signal.action}")


class CrashingStore:
    async def apply_signal(self, signal: SuppressionSignal) -> None:
        raise RuntimeError("a bug in the store")


class Bus:
    """The signals as the bus hands them over: one FakeDelivery per payload put in."""

    def __init__(self, journal: Journal) -> None:
        self.journal = journal
        self.inbox: asyncio.Queue[bytes] = asyncio.Queue()
        self.delivered: list[FakeDelivery] = []

    async def messages(self) -> AsyncIterator[FakeDelivery]:
        while True:
            payload = await self.inbox.get()
            action = json.loads(payload).get("action", "set")
            delivery = FakeDelivery(payload, lambda d, action=action: self.journal.add(f"acked {action}"))
            self.delivered.append(delivery)
            yield delivery


def feed_of(bus: Bus, store: object) -> SignalsFeed:
    return SignalsFeed(bus.messages(), store, lambda: NOW, Metrics(), retry_s=0.0)  # type: ignore[arg-type]


async def stop(task: asyncio.Task[None]) -> None:
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_a_message_is_acknowledged_only_after_its_signal_is_stored_and_in_order():
    journal = Journal()
    bus, store = Bus(journal), GatedStore(journal)
    task = asyncio.create_task(feed_of(bus, store).run())
    bus.inbox.put_nowait(TICKET)
    bus.inbox.put_nowait(LIFT)
    await journal.reaches("storing set")
    assert not bus.delivered[0].acked  # received, not stored yet: still the broker's
    store.open_gate()
    await journal.reaches("storing lift")
    assert journal.entries == ["storing set", "stored set", "acked set", "storing lift"]
    store.open_gate()
    await journal.reaches("acked lift")
    assert journal.entries[-2:] == ["stored lift", "acked lift"]
    await stop(task)


async def test_a_stop_while_the_store_waits_leaves_the_message_unacknowledged():
    journal = Journal()
    bus, store = Bus(journal), GatedStore(journal)
    task = asyncio.create_task(feed_of(bus, store).run())
    bus.inbox.put_nowait(TICKET)
    await journal.reaches("storing set")
    await stop(task)  # the daemon stops while Redis has not taken the signal
    assert journal.entries == ["storing set"]
    assert not bus.delivered[0].acked  # so the broker hands it over again at the next run


async def test_while_redis_is_away_the_message_is_not_acknowledged_until_it_is_stored():
    journal = Journal()
    bus, store = Bus(journal), GatedStore(journal, fail=2)
    task = asyncio.create_task(feed_of(bus, store).run())
    bus.inbox.put_nowait(TICKET)
    await journal.reaches("Redis away set")
    await journal.reaches("storing set")
    assert not bus.delivered[0].acked
    store.open_gate()
    await journal.reaches("acked set")
    assert journal.entries == ["storing set", "Redis away set", "storing set", "Redis away set", "storing set",
                               "stored set", "acked set"]
    await stop(task)


async def test_a_store_that_raises_leaves_the_message_unacknowledged():
    journal = Journal()
    bus = Bus(journal)
    bus.inbox.put_nowait(TICKET)
    with pytest.raises(RuntimeError, match="a bug in the store"):
        async with asyncio.timeout(LIMIT):
            await feed_of(bus, CrashingStore()).run()
    assert not bus.delivered[0].acked
    assert journal.entries == []
