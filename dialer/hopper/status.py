"""Why a hopper is empty or blocked, in words a supervisor can act on (pure; fed by one pipeline read)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import datetime
from types import MappingProxyType
from typing import Any

from dialer.hopper.types import HopperState, HopperStatus
from dialer.hopper.views import text
from dialer.policy.contact import ContactPolicy
from dialer.policy.types import Block

__all__ = ["build_status"]


def _counts(raw: Mapping[Any, Any]) -> dict[str, int]:
    return {text(k): int(text(v)) for k, v in raw.items() if int(text(v)) > 0}


def _first_score(pairs: Sequence[Any]) -> float | None:
    return float(pairs[0][1]) if pairs else None


def _when(policy: ContactPolicy, zones: tuple[str, ...], t: float) -> str:
    if not zones:
        return f"{t:.0f}"
    local = datetime.fromtimestamp(t, policy.hours._zone(zones[0]))
    return f"{local:%a %Y-%m-%d %H:%M} {zones[0]}"


def build_status(
    campaign_id: str, policy: ContactPolicy, zone_keys: Sequence[str], raw: Sequence[Any], now: float, *,
    kept_due: int = 0, lists_paused: tuple[str, ...] = (),
) -> HopperStatus:
    """Assemble `HopperStatus` from the pipeline reply of `Hopper.status`; `kept_due` of the due callbacks
    wait for the agent who kept them (no one else may call them yet); `lists_paused` are the paused lists."""
    depth, in_flight, cb_due, cb_total = (int(x) for x in raw[:4])
    kept_due = min(kept_due, cb_due)
    why = _counts(raw[4])
    fin = _counts(raw[5])
    next_times: list[tuple[float, tuple[str, ...]]] = []
    cb_first = _first_score(raw[6])
    if cb_first is not None and cb_first > now:
        next_times.append((cb_first, ()))
    fresh_in = fresh_out = due_in = due_out = waiting = 0
    for j, zone_key in enumerate(zone_keys):
        fresh, due_now, due_all = (int(x) for x in raw[7 + 4 * j : 10 + 4 * j])
        first_due = _first_score(raw[10 + 4 * j])
        zones = tuple(zone_key.split("|"))
        open_now = policy.hours.allowed(zones, now)
        if open_now:
            fresh_in += fresh
            due_in += due_now
        else:
            fresh_out += fresh
            due_out += due_now
            if fresh or due_now:
                opens = policy.hours.next_open(zones, now)
                if opens is not None:
                    next_times.append((opens, zones))
        waiting += due_all - due_now
        if first_due is not None and first_due > now:
            next_times.append((first_due, zones))
    next_at, next_zones = min(next_times, default=(math.inf, ()))
    nxt = None if math.isinf(next_at) else next_at
    state: HopperState
    kept_note = f" ({kept_due} of them waiting for the agent who kept them)" if kept_due else ""
    if depth > 0 or cb_due > kept_due:
        state, reason = "ok", f"{depth} ready, {cb_due} callbacks due{kept_note}"
    elif fresh_in or due_in:
        state, reason = "empty", f"{fresh_in + due_in} callable leads not yet filled: run fill"
    elif fresh_out or due_out:
        state = "blocked"
        reason = "all outside hours"
        if nxt is not None:
            reason += f"; next window {_when(policy, next_zones, nxt)}"
    elif waiting or cb_total or in_flight:
        state = "blocked"
        by_reason = {r: n for r, n in why.items() if r != str(Block.OUTSIDE_HOURS)}
        paused_only = waiting and by_reason and set(by_reason) == {str(Block.LIST_PAUSED)}
        if paused_only:
            reason = (f"all {by_reason[str(Block.LIST_PAUSED)]} waiting leads are in paused lists: resume one "
                      "(dialer lists resume) to dial them")
        elif waiting and by_reason and set(by_reason) == {str(Block.SUPPRESSED)}:
            reason = "all suppressed"
        elif waiting and by_reason:
            top = ", ".join(f"{n} {r}" for r, n in sorted(by_reason.items(), key=lambda x: -x[1]))
            reason = f"all waiting ({top})"
        elif waiting:
            reason = "all waiting for retry or calling hours"
        elif cb_total:
            reason = "only scheduled callbacks remain"
        else:
            reason = f"only {in_flight} dials in flight remain"
        if nxt is not None and not paused_only:  # a paused lead's "next" is only the 30-day bound
            reason += f"; next at {_when(policy, next_zones, nxt)}"
    elif fin:
        state, reason = "exhausted", "all leads exhausted"
    else:
        state, reason = "no_leads", "no leads loaded"
    if kept_due and state != "ok":  # it is blocked then: the kept callbacks are scheduled ones
        reason += (f"; {kept_due} due callbacks wait for the agents who kept them for themselves (reassign them, "
                   "or any agent gets them after personal_callback_wait_s)")
    return HopperStatus(
        campaign_id=campaign_id,
        state=state,
        reason=reason,
        depth=depth,
        in_flight=in_flight,
        callbacks_due=cb_due,
        callbacks_kept_due=kept_due,
        callbacks_scheduled=cb_total - cb_due,
        fresh_in_hours=fresh_in,
        fresh_outside_hours=fresh_out,
        retries_due=due_in + due_out,
        waiting=waiting,
        waiting_by_reason=MappingProxyType(why),
        finished_by_reason=MappingProxyType(fin),
        next_callable_at=nxt,
        lists_paused=lists_paused,
    )
