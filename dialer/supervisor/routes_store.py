"""Routes of the state store (Redis): what the daemon knows of its data, and the acknowledgement of a loss.

When Redis comes back empty (restarted with nothing on disk, flushed), the daemon finds its data-epoch marker
gone, holds every campaign and writes back what it holds in memory (`dialer.daemon`, "Redis's data"). What only
Redis held (do-not-call lists, 72-hour abandon locks, callbacks, suppressions, leads) is gone: a supervisor
restores it, then acknowledges here, and dialing resumes.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import Field

from dialer.store import StoreLoss
from dialer.supervisor.auth import Principal, Role
from dialer.supervisor.context import Ctx
from dialer.supervisor.errors import http_errors
from dialer.supervisor.schemas import _In

__all__ = ["store_routes"]


class LossAcknowledgement(_In):
    note: str = Field("", max_length=500, description="what was done about it (kept in the audit log)")


def _loss(loss: StoreLoss | None) -> dict[str, Any] | None:
    if loss is None:
        return None
    return {"detected_at": loss.detected_at, "previous_epoch": loss.previous, "found": loss.found}


def store_routes(ctx: Ctx, r: APIRouter) -> None:
    """Add these routes to `r`."""
    reader, supervisor = ctx.who(Role.READ_ONLY), ctx.who(Role.SUPERVISOR)
    d = ctx.daemon

    @r.get("/api/state-store", tags=["status"])
    async def state_store(who: Principal = reader) -> dict[str, Any]:
        """Redis as the daemon sees it: the data epoch it works in, a loss not acknowledged yet (every campaign
        is held meanwhile), and what Redis said at start-up of keeping its data on disk."""
        p = d.persistence
        return {
            "epoch": None if d.store_epoch is None else {"id": d.store_epoch.id,
                                                         "created_at": d.store_epoch.created_at},
            "data_lost": _loss(d.store_loss),
            "dialing_held": d.store_loss is not None,
            "persistence": None if p is None else {"aof": p.aof, "save": p.save, "unknown": p.unknown or None,
                                                   "keeps_nothing": p.keeps_nothing, "describe": p.describe()},
        }

    @r.post("/api/state-store/acknowledge-loss", tags=["status"])
    async def acknowledge_loss(body: LossAcknowledgement | None = None,
                               who: Principal = supervisor) -> dict[str, Any]:
        """Lift the hold a loss of Redis's data put on every campaign, once what only Redis held is restored.
        `acknowledged` is false when there was nothing to acknowledge; 503 (nothing changed) when Redis cannot
        confirm it holds the daemon's data now."""
        with http_errors():
            loss = await d.acknowledge_store_loss(who.name)
        if loss is not None:
            await ctx.audit.record(who, "state_store.acknowledge_loss", "redis", **(_loss(loss) or {}),
                                   note=body.note if body is not None else "")
            ctx.board.poke()
        return {"acknowledged": loss is not None, "loss": _loss(loss), "dialing_held": d.store_loss is not None}
