"""The daemon's web server: the agent desktop, the supervisor API and wallboard, health and metrics.

It runs inside the daemon's TaskGroup (uvicorn's `Server.serve`), shares the daemon's event loop and
state, and never installs signal handlers of its own: the daemon owns SIGTERM.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import socket
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

import uvicorn
from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.exceptions import HTTPException
from starlette.routing import compile_path
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dialer import __version__
from dialer.supervisor.errors import validation_error_response

if TYPE_CHECKING:
    from agents.desk.core import Desk
    from dialer.daemon import Daemon

__all__ = ["STREAMED_UPLOADS", "BodyLimit", "BodyTooLarge", "EmbeddedServer", "build_app"]

log = logging.getLogger(__name__)

# The routes that stream their body to a spool file themselves, after checking the caller's token, under a
# cap of their own (routes_leads.MAX_UPLOAD): the body limit leaves them alone
STREAMED_UPLOADS = frozenset({"/api/campaigns/{campaign_id}/leads/upload", "/api/subscribers/upload"})


def build_app(daemon: Daemon, *, desk: Desk | None = None) -> FastAPI:
    """The daemon's whole web app; `desk`, the agent desk it serves (default: `build_desk(daemon)`), which the
    supervisor routes reach too (a supervisor lifts an agent's login lock)."""
    from agents.desk import build_desk
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

    desk = desk or build_desk(daemon)
    app.include_router(desk_router(daemon, desk=desk))
    app.include_router(supervisor_router(daemon, desk=desk))
    uploads = [(compile_path(path)[0], frozenset({"POST"})) for path in sorted(STREAMED_UPLOADS)]
    app.add_middleware(BodyLimit, max_bytes=daemon.settings.http.max_body_bytes, exempt=uploads)
    return app


def _size(n: int) -> str:
    mib = 1024 * 1024
    return f"{n // mib} MB" if n % mib == 0 else f"{n // 1024} KB" if n % 1024 == 0 else f"{n} bytes"


class BodyTooLarge(HTTPException):
    """A request body past the limit. An HTTPException so that whatever is reading the body when it passes
    the limit (FastAPI's JSON parsing turns any other error into a 400) lets it through to a 413."""

    def __init__(self, max_bytes: int) -> None:
        super().__init__(
            413,
            detail=f"request body larger than {_size(max_bytes)} ({max_bytes} bytes), the limit of [http] "
                   "max_body_bytes: send less in one request (lead and subscriber files go to their /upload "
                   "routes, which take larger files)",
            headers={"Connection": "close"})


class BodyLimit:
    """Refuse a request body larger than `max_bytes` with 413 `{"detail": ...}`, before the app reads it.

    The web server shares the daemon's event loop (pacing, AMI): FastAPI reads and parses a whole JSON body
    before any route runs, so before the token check, and one huge body stalls every call for as long as it
    takes. A declared Content-Length over the limit is answered at once, the body never read; a body without
    one (chunked) is counted as it arrives and refused as soon as it passes the limit, never buffered past it.
    The answer closes the connection, so the server does not read the rest of the body to throw it away.
    `exempt`: (path pattern, methods) of routes that stream their body themselves (STREAMED_UPLOADS)."""

    def __init__(self, app: ASGIApp, *, max_bytes: int,
                 exempt: Sequence[tuple[re.Pattern[str], frozenset[str]]] = ()) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.exempt = tuple(exempt)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or any(p.fullmatch(scope["path"]) and scope["method"] in m for p, m in self.exempt):
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.max_bytes:
            await self._refuse(scope, receive, send)
            return
        seen = 0
        started = False

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise BodyTooLarge(self.max_bytes)
            return message

        async def watched(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, watched)
        except BodyTooLarge:
            if started:  # a route that answered before reading on: nothing left to say
                raise
            await self._refuse(scope, receive, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        exc = BodyTooLarge(self.max_bytes)
        await JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)(scope, receive,
                                                                                                      send)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name.lower() == b"content-length":
            return int(value) if value.isdigit() else None
    return None


class EmbeddedServer(uvicorn.Server):
    """uvicorn without its own signal handling (the daemon stops it by `should_exit`), saying where it listens
    (the daemon runs uvicorn at log level warning, which keeps its own 'running on' line quiet)."""

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        if not self.started:  # uvicorn logged why it could not bind
            return
        for server in self.servers:
            for sock in server.sockets:
                host, port = sock.getsockname()[:2]
                log.info("HTTP (API, agent desks, wallboard) listening on http://%s",
                         f"[{host}]:{port}" if ":" in host else f"{host}:{port}")

    async def serve(self, sockets: list[socket.socket] | None = None) -> None:
        """uvicorn's serve, which a cancellation stops as `should_exit` does: the app's lifespan shutdown runs
        and open connections get `timeout_graceful_shutdown`, then the cancellation goes on. The daemon sets
        `should_exit` and ends its task group at once, cancelling this before uvicorn's loop (0.1 s ticks) saw
        the flag; the lifespan task, still waiting for its shutdown message, was then cancelled as the event
        loop closed, and starlette and uvicorn logged its CancelledError at ERROR on every clean stop."""
        inner = asyncio.ensure_future(super().serve(sockets=sockets))
        try:
            await asyncio.shield(inner)
        except asyncio.CancelledError:
            if inner.done():
                raise
            self.should_exit = True
            await inner
            raise

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield
