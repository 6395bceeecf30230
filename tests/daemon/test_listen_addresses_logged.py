"""At start the daemon says at INFO where its HTTP server (API, desks, wallboard) and its metrics listen: a
healthy start logged neither (uvicorn runs at log level warning, prometheus_client logs nothing)."""

from __future__ import annotations

import asyncio
import logging

import pytest
import uvicorn
from daemon_fakes import StartedServer
from prometheus_client import CollectorRegistry
from starlette.applications import Starlette

from dialer.app import serve_metrics
from dialer.config import MetricsSettings


def _infos(caplog: pytest.LogCaptureFixture, logger: str) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == logger and r.levelno == logging.INFO]


async def test_the_http_listen_address_is_logged_once_bound(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="dialer.http")
    server = StartedServer(uvicorn.Config(Starlette(), host="127.0.0.1", port=0, log_level="warning", lifespan="off"))
    task = asyncio.create_task(server.serve())
    async with asyncio.timeout(10):
        await server.up.wait()
    port = server.servers[0].sockets[0].getsockname()[1]
    server.should_exit = True
    await task
    assert _infos(caplog, "dialer.http") == [f"HTTP (API, agent desks, wallboard) listening on http://127.0.0.1:{port}"]


def test_the_metrics_listen_address_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="dialer.app")
    server = serve_metrics(MetricsSettings(host="127.0.0.1", port=0), CollectorRegistry())
    try:
        port = server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()
    assert _infos(caplog, "dialer.app") == [f"metrics listening on http://127.0.0.1:{port}/metrics"]
