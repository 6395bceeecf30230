"""The supervisor API, wallboard and reports, served by the daemon.

`build_router(daemon)` returns every route (mounted by `dialer.http.build_app`): the JSON API under
`/api` (OpenAPI at `/api/openapi.json`), the wallboard page at `/wallboard` fed by Server-Sent Events,
and the reports page at `/reports`. Its lifespan runs one task that follows the call-record streams
and keeps the supervisor metrics fresh; it ends with the web server. See docs/SUPERVISOR.md.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

from fastapi import APIRouter, FastAPI

from dialer.supervisor.context import Ctx
from dialer.supervisor.errors import ClearErrors
from dialer.supervisor.routes_board import board_routes
from dialer.supervisor.routes_data import data_routes
from dialer.supervisor.routes_ops import ops_routes
from dialer.supervisor.routes_store import store_routes
from dialer.supervisor.schemas import ERRORS

if TYPE_CHECKING:
    from agents.desk.core import Desk
    from dialer.daemon import Daemon

__all__ = ["build_router"]


def build_router(daemon: Daemon, *, desk: Desk | None = None, wallboard_interval_s: float = 1.0) -> APIRouter:
    """Routes of the supervisor API, wallboard and reports; `desk`, the agent desk the same app serves (its
    login locks are lifted here), or None when it serves none."""
    ctx = Ctx.build(daemon, desk=desk, interval_s=wallboard_interval_s)

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        async with asyncio.TaskGroup() as tg:
            task = tg.create_task(ctx.board.run(), name="supervisor-tally")
            try:
                yield
            finally:
                task.cancel()

    # One router, every route added to it directly: FastAPI rebuilds a route at each include_router, and
    # building them is most of the cost of starting the app.
    router = APIRouter(lifespan=lifespan, route_class=ClearErrors, responses=ERRORS)
    ops_routes(ctx, router)
    data_routes(ctx, router)
    board_routes(ctx, router)
    store_routes(ctx, router)
    return router
