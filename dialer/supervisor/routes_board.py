"""The wallboard and reports pages (static HTML/JS/CSS from this package) and the wallboard's data."""

from __future__ import annotations

from importlib import resources
from typing import Any

from fastapi import APIRouter, HTTPException
from fastapi.responses import HTMLResponse, Response, StreamingResponse

from dialer.supervisor.auth import Principal, Role
from dialer.supervisor.context import Ctx
from dialer.supervisor.errors import http_errors

__all__ = ["board_routes"]

_TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
          ".css": "text/css; charset=utf-8", ".svg": "image/svg+xml"}
_ASSETS = ("wallboard.js", "wallboard.css", "reports.js", "common.js")


def _asset(name: str) -> bytes:
    return resources.files("dialer.supervisor").joinpath("static", name).read_bytes()


def board_routes(ctx: Ctx, r: APIRouter) -> None:
    """Add these routes to `r`."""
    reader = ctx.who(Role.READ_ONLY)

    @r.get("/wallboard", include_in_schema=False)
    async def wallboard_page() -> HTMLResponse:
        return HTMLResponse(_asset("wallboard.html"))

    @r.get("/reports", include_in_schema=False)
    async def reports_page() -> HTMLResponse:
        return HTMLResponse(_asset("reports.html"))

    @r.get("/supervisor/static/{name}", include_in_schema=False)
    async def asset(name: str) -> Response:
        if name not in _ASSETS:
            raise HTTPException(404, detail=f"no asset {name!r}")
        return Response(_asset(name), media_type=_TYPES["." + name.rsplit(".", 1)[-1]],
                        headers={"Cache-Control": "no-cache"})

    @r.get("/api/wallboard", tags=["wallboard"])
    async def snapshot(who: Principal = reader) -> dict[str, Any]:
        """What the wallboard shows, once (the page itself uses the stream)."""
        with http_errors():
            return await ctx.board.snapshot()

    @r.get("/api/wallboard/stream", tags=["wallboard"], response_class=StreamingResponse,
           responses={200: {"content": {"text/event-stream": {}}}})
    async def stream(who: Principal = reader) -> StreamingResponse:
        """Server-Sent Events: `event: snapshot` with the JSON snapshot at once, then on every change."""
        return StreamingResponse(ctx.board.events(), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})

