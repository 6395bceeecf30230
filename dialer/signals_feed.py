"""Suppression signals from the operator's systems, applied as they arrive on MQTT.

Ticketing opens a trouble ticket, billing flags a bill shock, network monitoring reports a degraded
area: each publishes one JSON message (docs/CAMPAIGNS.md, "Suppression signals") on `[mqtt]
signals_topic`, and the daemon applies it to the lists every hopper checks before each dial
(`LeadStore.apply_signal`), so it holds at once, also for leads already in a hopper. The HTTP API
(`POST /api/suppressions`) takes the same messages.

A message that is not a valid signal is refused with a WARNING that says which field is wrong, and the
feed goes on. A signal that cannot be written because Redis is away is retried, in order, until it
is: a lifted ticket must not overtake the ticket it lifts. The broker delivers at least once (QoS 1);
applying a signal twice changes nothing.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable

from dialer.errors import LeadError, StateStoreError
from dialer.hopper.store import LeadStore
from dialer.metrics import Metrics
from dialer.policy import SuppressionSignal, parse_signal

__all__ = ["SignalsFeed", "describe"]

log = logging.getLogger("dialer.signals")


def describe(signal: SuppressionSignal) -> str:
    if signal.action == "lift":
        return f"{signal.kind} lifted from {signal.subject}"
    return f"{signal.kind} on {signal.subject} " + ("until lifted" if signal.until is None else
                                                    f"until {signal.until:.0f}")


class SignalsFeed:
    def __init__(self, messages: AsyncIterator[bytes], store: LeadStore, now: Callable[[], float], metrics: Metrics,
                 *, retry_s: float = 1.0, max_retry_s: float = 30.0) -> None:
        self._messages = messages
        self._store = store
        self._now = now
        self._metrics = metrics
        self._retry_s, self._max_retry_s = retry_s, max_retry_s

    async def run(self) -> None:
        """Apply every message, in order, until cancelled."""
        async for raw in self._messages:
            try:
                signal = parse_signal(raw, self._now())
            except LeadError as exc:
                self._metrics.suppression_signals.labels("mqtt", "refused").inc()
                message = raw[:200].decode("utf-8", "replace")
                log.warning(f"suppression signal refused: {exc}", extra={"action": message})
                continue
            if await self._apply(signal):
                self._metrics.suppression_signals.labels("mqtt", "applied").inc()
                log.info(f"suppression signal applied: {describe(signal)}")
            else:
                self._metrics.suppression_signals.labels("mqtt", "refused").inc()

    async def _apply(self, signal: SuppressionSignal) -> bool:
        delay = self._retry_s
        while True:
            try:
                await self._store.apply_signal(signal)
                return True
            except LeadError as exc:  # the subject, read closer (e.g. a number that is not E.164)
                log.warning(f"suppression signal refused: {exc}", extra={"action": describe(signal)})
                return False
            except StateStoreError as exc:
                log.warning(f"suppression signal not applied yet, retrying in {delay:g} s: {exc}",
                            extra={"action": describe(signal)})
                await asyncio.sleep(delay)
                delay = min(delay * 2, self._max_retry_s)
