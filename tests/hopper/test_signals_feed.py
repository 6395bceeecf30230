"""Suppression signals arriving on MQTT (`dialer.signals_feed`): applied in order, bad ones refused with
the reason, and none lost while Redis is away. One Redis refuses for good (WRONGTYPE: the subject's key
holds another type) is logged with its key and skipped; before, it was retried for ever and every signal
behind it waited with it. Every message done with, refused ones included, is acknowledged (when
acknowledgements come: tests/hopper/test_signals_feed_ack.py)."""

from __future__ import annotations

import asyncio
import json
import logging
from collections import Counter
from collections.abc import AsyncIterator

from bus_fakes import FakeDelivery
from redis.asyncio import Redis

from dialer.errors import StateStoreError
from dialer.hopper import LeadStore
from dialer.metrics import Metrics
from dialer.policy import SuppressionSignal
from dialer.signals_feed import SignalsFeed, describe

NOW = 1_795_000_000.0
LIMIT = 10.0  # real seconds: only turns a hang into a failure


class Inbox:
    """The messages of a test, as the bus hands them over; `acked` lists those acknowledged, in order."""

    def __init__(self, *items: object) -> None:
        self.items = [item if isinstance(item, bytes) else json.dumps(item).encode() for item in items]
        self.acked: list[bytes] = []

    async def messages(self) -> AsyncIterator[FakeDelivery]:
        for payload in self.items:
            yield FakeDelivery(payload, lambda d: self.acked.append(d.payload))


def counted(metrics: Metrics, result: str) -> float:
    return metrics.registry.get_sample_value("dialer_suppression_signals_total",
                                             {"source": "mqtt", "result": result}) or 0.0


async def test_signals_are_applied_in_order_and_bad_ones_refused_with_the_reason(redis, prefix, caplog):
    store, metrics = LeadStore(redis, prefix=prefix), Metrics()
    inbox = Inbox(
        {"subject": "subscriber:S1", "kind": "trouble_ticket", "until": None},
        b"{not json",
        {"subject": "number:2125550123", "kind": "bill_shock", "days": 30},  # not E.164
        {"subject": "area:NY07", "kind": "degradation", "days": 2},
        {"subject": "subscriber:S2", "kind": "bill_shock", "days": 30},
        {"subject": "subscriber:S2", "kind": "bill_shock", "action": "lift"},
    )
    feed = SignalsFeed(inbox.messages(), store, lambda: NOW, metrics)
    with caplog.at_level(logging.WARNING, logger="dialer.signals"):
        await feed.run()
    assert await store.suppressions("subscriber:S1") == {"trouble_ticket": float("inf")}
    assert await store.suppressions("area:NY07") == {"degradation": NOW + 2 * 86400.0}
    assert await store.suppressions("subscriber:S2") == {}  # lifted after it was set
    refusals = [r.getMessage() for r in caplog.records]
    assert len(refusals) == 2
    assert "not JSON" in refusals[0]
    assert "E.164" in refusals[1]
    # an ERROR, saying the message is gone and what to do: acknowledged, the broker will not send it again
    assert all(r.levelno == logging.ERROR for r in caplog.records)
    assert all("dropped" in m and "publish it again" in m for m in refusals)
    assert (counted(metrics, "applied"), counted(metrics, "refused")) == (4.0, 2.0)
    assert inbox.acked == inbox.items  # the refused ones too, or the broker would send them again and again


class FlakyStore:
    """Redis away for the first two writes."""

    def __init__(self) -> None:
        self.failures = 2
        self.applied: list[SuppressionSignal] = []

    async def apply_signal(self, signal: SuppressionSignal) -> None:
        if self.failures:
            self.failures -= 1
            raise StateStoreError("Redis did not answer within 3 s while suppressing subscriber:S1")
        self.applied.append(signal)


async def test_a_signal_redis_could_not_take_is_retried_before_the_next(caplog):
    store = FlakyStore()
    feed = SignalsFeed(Inbox(
        {"subject": "subscriber:S1", "kind": "trouble_ticket"},
        {"subject": "subscriber:S1", "kind": "trouble_ticket", "action": "lift"},
    ).messages(), store, lambda: NOW, Metrics(), retry_s=0.0)  # type: ignore[arg-type]
    with caplog.at_level(logging.WARNING, logger="dialer.signals"):
        async with asyncio.timeout(10):
            await feed.run()
    assert [s.action for s in store.applied] == ["set", "lift"]
    assert sum("retrying" in r.getMessage() for r in caplog.records) == 2


class TriedStore(LeadStore):
    """Counts the tries of each signal, and ends a feed that would try one for ever."""

    def __init__(self, redis: Redis, *, prefix: str) -> None:
        super().__init__(redis, prefix=prefix)
        self.tries: Counter[str] = Counter()

    async def apply_signal(self, signal: SuppressionSignal) -> None:
        self.tries[describe(signal)] += 1
        assert self.tries[describe(signal)] <= 5, f"{describe(signal)} retried for ever; the signals behind it wait"
        await super().apply_signal(signal)


async def test_a_signal_redis_refuses_for_good_is_logged_and_skipped_and_the_next_applied(redis, prefix, caplog):
    key = f"{prefix}:sup:subscriber:S1"
    await redis.set(key, "left by an old tool")  # WRONGTYPE for the trouble ticket's HGET and HSET
    store, metrics = TriedStore(redis, prefix=prefix), Metrics()
    inbox = Inbox(
        {"subject": "subscriber:S1", "kind": "trouble_ticket"},
        {"subject": "subscriber:S2", "kind": "bill_shock", "days": 30},
    )
    feed = SignalsFeed(inbox.messages(), store, lambda: NOW, metrics, retry_s=0.0)
    with caplog.at_level(logging.WARNING, logger="dialer.signals"):
        async with asyncio.timeout(LIMIT):
            await feed.run()
    assert await store.suppressions("subscriber:S2") == {"bill_shock": NOW + 30 * 86400.0}
    assert store.tries == {"trouble_ticket on subscriber:S1 until lifted": 1,
                           f"bill_shock on subscriber:S2 until {NOW + 30 * 86400.0:.0f}": 1}
    [logged] = caplog.records
    assert logged.levelno == logging.ERROR
    message = logged.getMessage()
    for said in ("for good; skipped", "trouble_ticket on subscriber:S1", key, "WRONGTYPE", "Fix or delete the key",
                 "publish the signal again"):
        assert said in message
    assert (counted(metrics, "applied"), counted(metrics, "refused")) == (1.0, 1.0)
    assert feed.refused == 1
    assert inbox.acked == inbox.items  # the one refused for good too: it would be refused on every delivery
    assert await redis.get(key) == b"left by an old tool"  # not ours to delete
