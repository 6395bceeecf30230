"""The embedded web server stops without an ERROR when the daemon stops. The daemon sets `should_exit` and ends
its task group at once, which cancelled `serve` before uvicorn's loop saw the flag: the lifespan task, left
waiting for a shutdown message that never came, was cancelled when the event loop closed, and uvicorn logged
`ERROR: Exception in 'lifespan' protocol ... CancelledError` after the daemon's "stopped" on every SIGTERM."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import AsyncIterator

import pytest
import uvicorn
from daemon_fakes import StartedServer
from starlette.applications import Starlette


@contextlib.asynccontextmanager
async def _lifespan(app: Starlette) -> AsyncIterator[None]:
    yield
    lifespan_ended.append(True)


lifespan_ended: list[bool] = []


@pytest.mark.parametrize("stop", ["should_exit, then cancelled", "cancelled"])
async def test_a_daemon_stop_logs_no_error_and_runs_the_apps_shutdown(caplog, stop: str) -> None:
    lifespan_ended.clear()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(Starlette(lifespan=_lifespan), lifespan="on", log_level="warning",
                            timeout_graceful_shutdown=3)  # sets uvicorn's own handlers: add ours after it
    uvicorn_log = logging.getLogger("uvicorn")  # which does not propagate to the root
    uvicorn_log.addHandler(caplog.handler)
    try:
        server = StartedServer(config)
        task = asyncio.create_task(server.serve(sockets=[sock]))
        await server.up.wait()
        if stop.startswith("should_exit"):
            server.should_exit = True  # as Daemon._shutdown_when, which then ends its task group at once
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        # what asyncio.run does as the event loop closes: every task still pending is cancelled
        left = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for t in left:
            t.cancel()
        await asyncio.gather(*left, return_exceptions=True)
    finally:
        uvicorn_log.removeHandler(caplog.handler)
        sock.close()
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == [], [r.getMessage() for r in errors]
    assert lifespan_ended == [True]
    assert task.cancelled()  # the caller's cancellation still ends its task as cancelled
