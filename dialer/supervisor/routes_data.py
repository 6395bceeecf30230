"""Routes for reports, what-if replays, DNC management and lead imports."""

from __future__ import annotations

from fastapi import APIRouter

from dialer.supervisor.context import Ctx
from dialer.supervisor.errors import ClearErrors

__all__ = ["data_routes"]


def data_routes(ctx: Ctx) -> APIRouter:
    r = APIRouter(prefix="/api", route_class=ClearErrors)
    return r
