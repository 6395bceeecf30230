"""The daemon's web server: the agent desktop, the supervisor API and wallboard, health and metrics.

It runs inside the daemon's TaskGroup (uvicorn's `Server.serve`), shares the daemon's event loop and
state, and never installs signal handlers of its own: the daemon owns SIGTERM.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING

import uvicorn
from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from dialer import __version__
from dialer.supervisor.errors import validation_error_response

if TYPE_CHECKING:
    from dialer.daemon import Daemon

__all__ = ["EmbeddedServer", "build_app"]


def build_app(daemon: Daemon) -> FastAPI:
    from agents.desk import build_router as desk_router
    from dialer.supervisor import build_router as supervisor_router

    app = FastAPI(title="telecom-dialer", version=__version__, docs_url="/api/docs", openapi_url="/api/openapi.json")

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_request: Request, exc: RequestValidationError) -> Response:
        return validation_error_response(exc)

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, object]:
        return {"ok": True, "dialing": daemon.dialing, "campaigns": sorted(daemon.engine.campaigns)}

    @app.get("/metrics", include_in_schema=False)
    async def metrics() -> Response:
        return Response(generate_latest(daemon.metrics.registry), media_type=CONTENT_TYPE_LATEST)

    app.include_router(desk_router(daemon))
    app.include_router(supervisor_router(daemon))
    return app


class EmbeddedServer(uvicorn.Server):
    """uvicorn without its own signal handling (the daemon stops it by `should_exit`)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield
