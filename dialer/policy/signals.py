"""Suppression signals from the operator's systems (ticketing, network monitoring, billing), as messages.

The same JSON arrives over MQTT (suggested topic `dialer/signals/suppression`) or the HTTP API:

    {"subject": "subscriber:S1001", "kind": "trouble_ticket", "until": null}            open ticket
    {"subject": "area:NY07", "kind": "degradation", "until": 1715792400}                until a time
    {"subject": "subscriber:S1001", "kind": "trouble_ticket", "action": "lift"}         ticket closed
    {"subject": "subscriber:S1001", "kind": "declined_offer:fiber1000", "days": 90}     for N days

Pure: `parse_signal` checks the message and says exactly what is wrong; the caller applies it with
`LeadStore.suppress` / `unsuppress` (see `apply_signal` in `dialer.hopper.store`). `days` is turned into
`until` with the `now` the caller passes, so a replayed message means the same thing.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Literal

from dialer.campaigns.vocab import SuppressionKind
from dialer.errors import LeadError

__all__ = ["SuppressionSignal", "parse_signal", "signal_of"]

_SUBJECTS = ("lead:", "subscriber:", "number:", "area:")
_KINDS = frozenset(k.value for k in SuppressionKind)


@dataclass(frozen=True, slots=True)
class SuppressionSignal:
    """Set (`until` None: until lifted) or lift a suppression of `kind` on `subject`."""

    subject: str
    kind: str
    action: Literal["set", "lift"] = "set"
    until: float | None = None


def parse_signal(payload: bytes | str, now: float) -> SuppressionSignal:
    """Read one signal message; raise `LeadError` naming the field and the fix."""
    try:
        data = json.loads(payload)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise LeadError(f"suppression signal is not JSON ({exc}); send one JSON object") from None
    return signal_of(data, now)


def signal_of(data: object, now: float) -> SuppressionSignal:
    """A signal from its decoded JSON (what the API receives); raise `LeadError` as `parse_signal` does."""
    if not isinstance(data, dict):
        raise LeadError("suppression signal must be a JSON object with subject and kind")
    subject = data.get("subject")
    if not isinstance(subject, str) or not subject.startswith(_SUBJECTS):
        raise LeadError(f"subject {subject!r} must start with lead:, subscriber:, number: or area:")
    kind = data.get("kind")
    if not isinstance(kind, str) or kind.partition(":")[0] not in _KINDS:
        raise LeadError(f"kind {kind!r} must be one of {', '.join(sorted(_KINDS))}")
    action = data.get("action", "set")
    if action not in ("set", "lift"):
        raise LeadError(f"action {action!r} must be set or lift")
    if action == "lift":
        return SuppressionSignal(subject, kind, "lift")
    until, days = data.get("until"), data.get("days")
    if until is not None and days is not None:
        raise LeadError("give until or days, not both")
    if days is not None:
        if isinstance(days, bool) or not isinstance(days, int | float) or days <= 0:
            raise LeadError(f"days {days!r} must be a positive number")
        return SuppressionSignal(subject, kind, "set", now + float(days) * 86400.0)
    if until is not None and (
        isinstance(until, bool) or not isinstance(until, int | float) or not math.isfinite(until)
    ):
        raise LeadError(f"until {until!r} must be epoch seconds or null (until lifted)")
    return SuppressionSignal(subject, kind, "set", None if until is None else float(until))
