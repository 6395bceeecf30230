"""The what-if replay route: the campaign's recorded day, fitted and simulated under other settings.

The simulation is CPU work of seconds to minutes; it runs in a separate process (spawned for the
request and shut down after it), so the daemon's event loop, which hands live answers to agents within
milliseconds, never waits for it. One replay at a time.
"""

from __future__ import annotations

import asyncio
import dataclasses
import multiprocessing
from multiprocessing.connection import Connection
from typing import Any

from fastapi import APIRouter
from pydantic import Field

from dialer.supervisor.auth import Principal, Role
from dialer.supervisor.context import Ctx
from dialer.supervisor.control import knobs_view
from dialer.supervisor.errors import Conflict, Invalid, Unavailable, http_errors
from dialer.supervisor.report_io import load
from dialer.supervisor.schemas import CampaignId, PacingPatch, _In
from dialer.supervisor.tally import local_midnight
from dialer.supervisor.whatif import History, from_records, replay
from pacing import PacingKnobs

__all__ = ["WhatIf", "whatif_routes"]

_BUDGET = 20_000  # agents x hours x settings x seeds


class Variant(PacingPatch):
    name: str = Field("", max_length=40, pattern=r"^[^\r\n]*$")

    def changes(self) -> dict[str, Any]:
        return {k: v for k, v in super().changes().items() if k != "name"}


class WhatIf(_In):
    """Which recorded day to replay, and the settings to try (the settings in force now are always first)."""

    since: float | None = Field(None, ge=0, le=1e11, description="start of the recorded day (default: midnight)")
    until: float | None = Field(None, ge=0, le=1e11, description="end (default: now)")
    agents: int | None = Field(None, ge=1, le=5000, description="agent count (default: estimated from records)")
    seeds: int = Field(3, ge=1, le=10)
    variants: list[Variant] = Field(min_length=1, max_length=6)


def whatif_routes(ctx: Ctx, r: APIRouter) -> None:
    """Add these routes to `r`."""
    supervisor = ctx.who(Role.SUPERVISOR)
    busy = asyncio.Lock()

    @r.post("/api/campaigns/{campaign_id}/whatif", tags=["pacing"])
    async def whatif(campaign_id: CampaignId, body: WhatIf, who: Principal = supervisor) -> dict[str, Any]:
        """Replay the campaign's recorded day under other pacing settings and compare predicted talk share,
        contacts and abandon rate side by side with the settings in force now. Changes nothing."""
        with http_errors():
            camp = ctx.sup.campaign(campaign_id)
            now = ctx.sup.now()
            start = local_midnight(now) if body.since is None else body.since
            end = now if body.until is None else body.until
            if end <= start:
                raise Invalid(f"until ({end}) must be after since ({start})")
            current = camp.pacer.knobs
            variants: list[tuple[str, PacingKnobs]] = [("as run", current)]
            for i, v in enumerate(body.variants, start=1):
                try:
                    knobs = dataclasses.replace(current, **v.changes())
                except (TypeError, ValueError) as exc:
                    raise Invalid(f"variants.{i - 1}: {exc}") from None
                variants.append((v.name or f"variant {i}", knobs))
            data = await load(ctx.daemon.store, campaign=campaign_id, since=start, until=end)
            if not data.records:
                raise Conflict(f"no call records of {campaign_id} between {start:.0f} and {end:.0f}: nothing to replay")
            wrap = {rec.call_id: max(0.0, d.at - rec.ended_at) for rec in data.records
                    if (d := data.disps.get(rec.call_id)) is not None}
            history = from_records(data.records, wrap, campaign=campaign_id, start=start, end=end, agents=body.agents,
                                   ring_timeout_s=camp.ring_timeout_s, amd=camp.amd,
                                   hold_s=ctx.daemon.settings.hold_s, jurisdiction=current.jurisdiction)
            cost = history.agents * history.shift_s / 3600.0 * len(variants) * body.seeds
            if cost > _BUDGET:
                raise Invalid(f"replay too large ({cost:.0f} agent-hours x settings x seeds > {_BUDGET}); "
                              "use fewer seeds or settings, or a shorter window")
            if busy.locked():
                raise Conflict("a what-if replay is already running; try again when it is done")
            async with busy:
                result = await _run(history, variants, body.seeds)
        await ctx.audit.record(who, "whatif", campaign_id, variants=[n for n, _ in variants], seeds=body.seeds)
        result["settings"] = [{"name": n, **knobs_view(k)} for n, k in variants]
        result["window"] = {"since": start, "until": end}
        return result



async def _run(history: History, variants: list[tuple[str, PacingKnobs]], seeds: int,
               timeout_s: float = 600.0) -> dict[str, Any]:
    """Run the replay in a spawned process; terminate it on timeout or when the request is cancelled."""
    mp = multiprocessing.get_context("spawn")
    parent, child = mp.Pipe(duplex=False)
    proc = mp.Process(target=_child, args=(child, history, variants, seeds), name="whatif", daemon=True)
    proc.start()
    child.close()
    try:
        async with asyncio.timeout(timeout_s):
            ok, out = await asyncio.to_thread(_receive, parent)
    except TimeoutError:
        raise Unavailable(f"the replay took more than {timeout_s:.0f} s; use fewer seeds or settings") from None
    finally:
        if proc.is_alive():
            proc.terminate()
        parent.close()
        await asyncio.to_thread(proc.join)
    if not ok:
        raise Invalid(f"the replay failed: {out}")
    return dict(out)


def _receive(conn: Connection) -> tuple[bool, Any]:
    try:
        got: tuple[bool, Any] = conn.recv()
    except (EOFError, OSError):
        return False, "the replay process ended without an answer"
    return got


def _child(conn: Connection, history: History, variants: list[tuple[str, PacingKnobs]], seeds: int) -> None:
    try:
        conn.send((True, replay(history, variants, seeds)))
    except Exception as exc:  # reported to the parent, which answers 422 with it
        conn.send((False, repr(exc)))
    finally:
        conn.close()
