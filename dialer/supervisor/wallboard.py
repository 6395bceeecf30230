"""The wallboard's data: one snapshot of every campaign and agent, pushed to pages over Server-Sent Events.

A page opens one SSE stream and receives a full snapshot at once, then a new one whenever something
changed (checked every `interval_s`, and at once after a supervisor's move), and at least every
`heartbeat_s`. Agents' timers are not pushed every second: the snapshot carries each agent's `since`,
the daemon's `now` and the clock `scale`, and the page counts on by itself.

The same snapshot refreshes the supervisor metrics (`dialer_abandon_ratio_24h`, ...), so Prometheus
and the wallboard always show the same numbers.
"""

from __future__ import annotations

import asyncio
import json
import math
import time
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from agents.state import AgentState
from dialer.errors import DialerError
from dialer.hopper import Hopper, LeadStore
from dialer.supervisor.control import Supervisor, current_decision
from dialer.supervisor.tally import Tally
from pacing import Jurisdiction, Reason
from pacing.ledger import false_positives_per_screened

if TYPE_CHECKING:
    from dialer.daemon import Daemon

__all__ = ["THRESHOLDS", "Wallboard"]

# Seconds in a state after which an agent's tile turns amber, then red.
THRESHOLDS: dict[str, tuple[float, float]] = {
    AgentState.READY.value: (60.0, 180.0),
    AgentState.RESERVED.value: (3.0, 6.0),
    AgentState.PREVIEWING.value: (60.0, 180.0),
    AgentState.DIALING.value: (30.0, 60.0),
    AgentState.TALKING.value: (300.0, 600.0),
    AgentState.WRAPUP.value: (45.0, 90.0),
    AgentState.PAUSED.value: (300.0, 900.0),
}
# Preview is not among them: its agents ask for leads, nothing is held back
_BLOCKING = {Reason.NO_READY_AGENTS, Reason.HOPPER_EMPTY, Reason.ABANDON_BUDGET, Reason.OUTSIDE_HOURS,
             Reason.PAUSED, Reason.TRUNK_LIMIT, Reason.PBX_LINK_DOWN, Reason.STATE_STORE_LOST}


class Wallboard:
    def __init__(self, daemon: Daemon, sup: Supervisor, tally: Tally, *, interval_s: float = 1.0,
                 heartbeat_s: float = 15.0) -> None:
        self.d = daemon
        self.sup = sup
        self.tally = tally
        self.interval_s = interval_s
        self.heartbeat_s = heartbeat_s
        self._wake = asyncio.Event()
        self._cache: tuple[float, dict[str, Any]] | None = None  # (monotonic time, snapshot), shared by pages
        self._names = {a.id: a.name for a in daemon.settings.agents}
        self._pause_labels = daemon.settings.desk.pause_labels()

    def poke(self) -> None:
        """A supervisor changed something: push a snapshot now rather than at the next tick (every stream)."""
        self._cache = None
        wake, self._wake = self._wake, asyncio.Event()
        wake.set()

    async def _depth(self, campaign_id: str, now: float) -> int | None:
        source = self.d.leads.get(campaign_id)
        if source is None:
            return None
        try:
            async with asyncio.timeout(1.0):
                return int(await source.depth(now))
        except (DialerError, TimeoutError):
            return None

    async def _hopper_status(self, campaign_id: str, now: float) -> dict[str, Any]:
        """The hopper's own account of why it is empty or blocked, when the lead source is hopper-backed
        (it has `status(now)`, or a `hopper` that has)."""
        source = self.d.leads.get(campaign_id)
        status = getattr(source, "status", None) or getattr(getattr(source, "hopper", None), "status", None)
        if not callable(status):
            return {}
        try:
            async with asyncio.timeout(1.0):
                st = await status(now)
        except (DialerError, TimeoutError):
            return {}
        paused = [str(x) for x in getattr(st, "lists_paused", ())]
        return {"state": str(getattr(st, "state", "")), "reason": str(getattr(st, "reason", "")),
                "callbacks_kept_due": int(getattr(st, "callbacks_kept_due", 0)),
                "lists_paused": paused, "lists": await self._lists(source, paused)}

    async def _lists(self, source: object, paused: list[str]) -> list[dict[str, Any]]:
        """How far each lead list is worked: the supervisor sees a list running out before the hopper does.
        A hopper's lists are marked paused from the set its status has just read (`list_figures`): read
        again, a pause in between would show a list paused in `lists_paused` and running here."""
        hopper = getattr(source, "hopper", None)
        lists = getattr(source, "lists", None)
        if isinstance(hopper, Hopper):  # its keys are the daemon's (same Redis, same prefix: dialer.runner)
            read = LeadStore.of(self.d.store, timeout_s=1.0).list_figures(hopper.campaign_id, paused)
        elif callable(lists):
            read = lists()
        else:
            return []
        try:
            async with asyncio.timeout(1.0):
                got = await read
        except (DialerError, TimeoutError):
            return []
        return [{"name": x.name, "leads": x.leads, "remaining": x.remaining, "contacts": x.contacts,
                 "sales": x.sales, "paused": x.paused} for x in got]

    async def snapshot(self, max_age_s: float = 0.0) -> dict[str, Any]:
        """The current snapshot; one computed less than `max_age_s` ago is reused (many pages, one board)."""
        if self._cache is not None and time.monotonic() - self._cache[0] < max_age_s:
            return self._cache[1]
        snap = await self._snapshot()
        self._cache = (time.monotonic(), snap)
        return snap

    async def _snapshot(self) -> dict[str, Any]:
        await self.tally.refresh()
        now = self.sup.now()
        campaigns: list[dict[str, Any]] = []
        for cid in sorted(self.d.engine.campaigns):
            view = self.sup.campaign_view(cid)
            camp = self.d.engine.campaigns[cid]
            knobs = camp.pacer.knobs
            # a decision made under another mode says nothing of now (a preview campaign makes none)
            decision = current_decision(camp)
            blocked = decision.reason.value if decision is not None and decision.launch <= 0 and \
                decision.reason in _BLOCKING else None
            uk = knobs.jurisdiction is Jurisdiction.UK
            # UK: the legal 24 hours count the estimated AMD false positives, as the pacer's ledger does
            phi = false_positives_per_screened(knobs.amd_false_positive) if uk else 0.0
            figures = self.tally.figures(cid, now, phi)
            legal = "24h" if uk else "30d"
            figures["abandon"].update({"cap": knobs.abandon_cap, "target": knobs.target_abandon, "legal_window": legal})
            view.update(figures)
            view["hopper"] = {"depth": await self._depth(cid, now), "blocked": blocked,
                              "why": view["why"],
                              **await self._hopper_status(cid, now)}
            view["ledger"] = _ledger(camp.pacer, now)
            campaigns.append(view)
            self._export(cid, view, knobs.ratio, blocked is not None)
        self._flush_sales()
        agents = [
            {**self.sup.agent_view(a, now), "name": self._names.get(a.agent_id, ""),
             **dict(zip(("contacts_today", "sales_today"), self.tally.agent_today(a.agent_id, now), strict=True))}
            for a in sorted(self.d.engine.roster, key=lambda a: a.agent_id)
            if a.state is not AgentState.LOGGED_OUT
        ]
        return {
            "now": now,
            "scale": float(self.d.clock.scale),
            "dialing": bool(self.d.dialing),
            "thresholds": {k: list(v) for k, v in THRESHOLDS.items()},
            "pause_labels": self._pause_labels,
            "campaigns": campaigns,
            "agents": agents,
        }

    def _export(self, cid: str, view: dict[str, Any], ratio: float, blocked: bool) -> None:
        m = self.d.metrics
        ab = view["abandon"]
        m.calls_talking.labels(cid).set(view["calls"]["connected"])
        m.campaign_paused.labels(cid).set(0 if view["status"] == "running" else 1)
        m.pacing_ratio.labels(cid).set(ratio)
        m.pacing_target_abandon.labels(cid).set(view["pacing"]["target_abandon"])
        m.pacing_blocked.labels(cid).set(1 if blocked else 0)
        m.abandon_cap.labels(cid).set(ab["cap"])
        for gauge, key in ((m.abandon_ratio_15m, "15m"), (m.abandon_ratio_today, "today"),
                           (m.abandon_ratio_24h, "24h"), (m.abandon_ratio_30d, "30d")):
            gauge.labels(cid).set(ab[key] or 0.0)
        m.contacts_per_hour.labels(cid).set(view["last_hour"]["contacts"])
        m.sales_per_hour.labels(cid).set(view["last_hour"]["sales"])
        m.callbacks_kept_due.labels(cid).set(view["hopper"].get("callbacks_kept_due", 0))
        for x in view["hopper"].get("lists", ()):
            m.list_remaining.labels(cid, x["name"]).set(x["remaining"])

    def _flush_sales(self) -> None:
        for cid, n in self.tally.new_sales.items():
            self.d.metrics.sales.labels(cid).inc(n)
        self.tally.new_sales.clear()

    async def events(self) -> AsyncIterator[str]:
        """The SSE stream of one page: `event: snapshot` frames, comments as keep-alives."""
        yield "retry: 3000\n\n"
        last_body = ""
        last_sent = 0.0
        while True:
            wake = self._wake
            try:
                snap = await self.snapshot(max_age_s=self.interval_s / 2)
            except DialerError as exc:
                yield f"event: problem\ndata: {json.dumps({'error': str(exc)})}\n\n"
                await asyncio.sleep(self.interval_s)
                continue
            body = json.dumps({k: v for k, v in snap.items() if k != "now"}, sort_keys=True, default=str)
            mono = time.monotonic()
            if body != last_body or mono - last_sent >= self.heartbeat_s:
                last_body, last_sent = body, mono
                yield f"event: snapshot\ndata: {json.dumps(snap, default=str)}\n\n"
            try:
                async with asyncio.timeout(self.interval_s):
                    await wake.wait()
            except TimeoutError:
                pass

    async def run(self) -> None:
        """Follow the streams and keep the metrics fresh while nobody watches (the router's lifespan task)."""
        self.tally.following = True
        try:
            while True:
                try:
                    await self.tally.follow(block_ms=int(self.interval_s * 1000))
                    await self.snapshot()
                except DialerError:
                    await asyncio.sleep(self.interval_s)
        finally:
            self.tally.following = False


def _ledger(pacer: object, now: float) -> dict[str, Any] | None:
    """The pacer's compliance ledger for the window the law assesses now (None when the pacer has none)."""
    status = getattr(getattr(pacer, "ledger", None), "status", None)
    if not callable(status):
        return None
    st = status(now)
    budget = float(getattr(st, "budget", 0.0))
    return {"rate": float(getattr(st, "rate", 0.0)), "lives": float(getattr(st, "lives", 0.0)),
            "abandons": float(getattr(st, "abandons", 0.0)), "window_start": float(getattr(st, "window_start", 0.0)),
            "budget": budget if math.isfinite(budget) else None, "blocked": str(getattr(st, "blocked", "") or ""),
            "held": str(getattr(st, "held", "") or "")}
