"""The PBX simulator in a process of its own, on the same virtual clock as its caller.

In accelerated time every real millisecond the daemon's event loop spends is multiplied by the time
scale in what the simulated people live (at 192x, 5 ms of queueing is a second of silence). Running
the simulator in its own process keeps its work off the daemon's loop, as a real Asterisk would be.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing as mp
from collections.abc import AsyncIterator, Mapping
from multiprocessing.connection import Connection
from typing import Any

from dialer.clock import ScaledClock
from pacing.traffic import TrafficModel

__all__ = ["pbx_in_process"]


def _child(conn: Connection, traffic: TrafficModel, seed: int, anchor: tuple[float, float, float],
           username: str, secret: str, options: dict[str, Any]) -> None:
    from dialer.pbxsim.server import PbxSimulator

    async def main() -> None:
        scale, start, real0 = anchor
        clock = ScaledClock(scale, start=start, real0=real0)
        async with PbxSimulator(traffic, clock=clock, seed=seed, username=username, secret=secret,
                                **options) as sim:
            conn.send(sim.port)
            await asyncio.get_running_loop().run_in_executor(None, conn.recv)
            stats = sim.stats
            conn.send({k: getattr(stats, k) for k in ("originates_received", "calls_started", "calls_ended",
                                                      "events_sent", "internal_errors")})

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main())


@contextlib.asynccontextmanager
async def pbx_in_process(
    traffic: TrafficModel, *, clock: ScaledClock, seed: int, username: str, secret: str,
    options: Mapping[str, Any] | None = None,
) -> AsyncIterator[tuple[int, dict[str, Any]]]:
    """Start the simulator in a child process; yield (port, stats dict filled in on exit). `options` are
    more `PbxSimulator` keywords (picklable: the child is spawned)."""
    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe()
    args = (child, traffic, seed, clock.anchor, username, secret, dict(options or {}))
    proc = ctx.Process(target=_child, args=args, name="pbxsim", daemon=True)
    proc.start()
    stats: dict[str, Any] = {}
    try:
        port = await asyncio.to_thread(_recv, parent, 30.0)
        yield int(port), stats
        parent.send("stop")
        stats.update(await asyncio.to_thread(_recv, parent, 30.0))
    finally:
        await asyncio.to_thread(proc.join, 10.0)
        if proc.is_alive():
            proc.kill()


def _recv(conn: Connection, timeout: float) -> Any:
    if not conn.poll(timeout):
        raise TimeoutError("the PBX simulator process did not answer; see its log above")
    return conn.recv()
