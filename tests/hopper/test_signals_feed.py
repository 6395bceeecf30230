"""Suppression signals arriving on MQTT (`dialer.signals_feed`): applied in order, bad ones refused with
the reason, and none lost while Redis is away."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator

from dialer.errors import StateStoreError
from dialer.hopper import LeadStore
from dialer.metrics import Metrics
from dialer.policy import SuppressionSignal
from dialer.signals_feed import SignalsFeed

NOW = 1_795_000_000.0


async def messages(*items: object) -> AsyncIterator[bytes]:
    for item in items:
        yield item if isinstance(item, bytes) else json.dumps(item).encode()


def counted(metrics: Metrics, result: str) -> float:
    return metrics.registry.get_sample_value("dialer_suppression_signals_total",
                                             {"source": "mqtt", "result": result}) or 0.0


async def test_signals_are_applied_in_order_and_bad_ones_refused_with_the_reason(redis, prefix, caplog):
    store, metrics = LeadStore(redis, prefix=prefix), Metrics()
    feed = SignalsFeed(messages(
        {"subject": "subscriber:S1", "kind": "trouble_ticket", "until": None},
        b"{not json",
        {"subject": "number:2125550123", "kind": "bill_shock", "days": 30},  # not E.164
        {"subject": "area:NY07", "kind": "degradation", "days": 2},
        {"subject": "subscriber:S2", "kind": "bill_shock", "days": 30},
        {"subject": "subscriber:S2", "kind": "bill_shock", "action": "lift"},
    ), store, lambda: NOW, metrics)
    with caplog.at_level(logging.WARNING, logger="dialer.signals"):
        await feed.run()
    assert await store.suppressions("subscriber:S1") == {"trouble_ticket": float("inf")}
    assert await store.suppressions("area:NY07") == {"degradation": NOW + 2 * 86400.0}
    assert await store.suppressions("subscriber:S2") == {}  # lifted after it was set
    refusals = [r.getMessage() for r in caplog.records]
    assert len(refusals) == 2
    assert "not JSON" in refusals[0]
    assert "E.164" in refusals[1]
    assert (counted(metrics, "applied"), counted(metrics, "refused")) == (4.0, 2.0)


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
    feed = SignalsFeed(messages(
        {"subject": "subscriber:S1", "kind": "trouble_ticket"},
        {"subject": "subscriber:S1", "kind": "trouble_ticket", "action": "lift"},
    ), store, lambda: NOW, Metrics(), retry_s=0.0)  # type: ignore[arg-type]
    with caplog.at_level(logging.WARNING, logger="dialer.signals"):
        async with asyncio.timeout(10):
            await feed.run()
    assert [s.action for s in store.applied] == ["set", "lift"]
    assert sum("retrying" in r.getMessage() for r in caplog.records) == 2
