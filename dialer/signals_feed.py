"""Suppression signals from the operator's systems, applied as they arrive on MQTT.

Ticketing opens a trouble ticket, billing flags a bill shock, network monitoring reports a degraded
area: each publishes one JSON message (docs/CAMPAIGNS.md, "Suppression signals") on `[mqtt]
signals_topic`, and the daemon applies it to the lists every hopper checks before each dial
(`LeadStore.apply_signal`), so it holds at once, also for leads already in a hopper. The HTTP API
(`POST /api/suppressions`) takes the same messages.

A message that is not a valid signal is refused with an ERROR that says which field is wrong, and the
feed goes on. A signal that cannot be written because Redis is away is retried, in order, until it
is (`dialer.store.until_stored`): a lifted ticket must not overtake the ticket it lifts. One Redis
refuses for good (an error reply such as WRONGTYPE: the subject's key holds another type) would be
refused on every retry, and every signal behind it would wait for ever: it is skipped with an ERROR
naming it and its keys, and counted (`SignalsFeed.refused`, and as refused in the metric).

Each message is acknowledged to the broker (`Delivery.ack`) only once it is done with: its signal
stored, or refused (a bad message, or Redis refusing it for good), since the same message would be
refused again on every delivery. A stop while it waits for Redis leaves it unacknowledged, and the
broker hands it over again at the next run (`dialer.bus`). The broker delivers at least once (QoS 1);
applying a signal twice changes nothing.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable

from dialer.bus import Delivery
from dialer.errors import LeadError, StateStoreError
from dialer.hopper.store import LeadStore
from dialer.metrics import Metrics
from dialer.policy import SuppressionSignal, parse_signal
from dialer.store import until_stored

__all__ = ["SignalsFeed", "describe"]

log = logging.getLogger("dialer.signals")


def describe(signal: SuppressionSignal) -> str:
    if signal.action == "lift":
        return f"{signal.kind} lifted from {signal.subject}"
    return f"{signal.kind} on {signal.subject} " + ("until lifted" if signal.until is None else
                                                    f"until {signal.until:.0f}")


class SignalsFeed:
    def __init__(self, messages: AsyncIterator[Delivery], store: LeadStore, now: Callable[[], float], metrics: Metrics,
                 *, retry_s: float = 1.0, max_retry_s: float = 30.0) -> None:
        self._messages = messages
        self._store = store
        self._now = now
        self._metrics = metrics
        self._retry_s, self._max_retry_s = retry_s, max_retry_s
        self.refused = 0  # signals Redis refused for good (e.g. WRONGTYPE), skipped (see `_apply`)

    async def run(self) -> None:
        """Apply every message, in order, until cancelled, acknowledging each once done with."""
        async for message in self._messages:
            await self._take(message.payload)
            # only now: a stop (cancel) or a crash above leaves the message with the broker, which hands it over
            # again at the next run, so a signal received but not yet stored is not lost
            message.ack()

    async def _take(self, raw: bytes) -> None:
        """Store the signal `raw` says, or refuse it, saying why; return when it is done with either way."""
        try:
            signal = parse_signal(raw, self._now())
        except LeadError as exc:
            self._metrics.suppression_signals.labels("mqtt", "refused").inc()
            self._refuse(raw[:200].decode("utf-8", "replace"), exc)
            return
        if await self._apply(signal):
            self._metrics.suppression_signals.labels("mqtt", "applied").inc()
            log.info(f"suppression signal applied: {describe(signal)}")
        else:
            self._metrics.suppression_signals.labels("mqtt", "refused").inc()

    @staticmethod
    def _refuse(what: str, exc: LeadError) -> None:
        # an ERROR: the message is acknowledged and gone, and only its sender can send it right
        log.error(f"suppression signal refused: {exc}; the message is dropped (acknowledged: the broker will not "
                  "send it again): correct it at its sender and publish it again", extra={"action": what})

    async def _apply(self, signal: SuppressionSignal) -> bool:
        """Write `signal` before the next, again while Redis is away (`until_stored`); False if it is refused:
        its subject (LeadError), or Redis for good, which it would refuse again on every retry."""
        what = describe(signal)
        try:
            await until_stored(f"suppression signal ({what})", lambda: self._store.apply_signal(signal),
                               retry_s=self._retry_s, max_retry_s=self._max_retry_s, extra={"action": what},
                               logger=log)
            return True
        except LeadError as exc:  # the subject, read closer (e.g. a number that is not E.164)
            self._refuse(what, exc)
            return False
        except StateStoreError as exc:  # refused for good (`until_stored` retries Redis away): e.g. WRONGTYPE
            self.refused += 1
            keys = ", ".join(self._store.suppression_keys(signal.subject))
            log.error(f"Redis refused a suppression signal for good; skipped, the signals behind it go on: {what} "
                      f"(keys {keys}): {exc.__cause__ or exc}. Fix or delete the key of another type (the first is a "
                      "hash, the second a set; redis-cli TYPE shows it), then publish the signal again",
                      extra={"action": what, "error": repr(exc)})
            return False
