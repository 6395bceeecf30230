"""A Redis that goes away and comes back, for the tests of what the daemon does meanwhile.

`RedisBlip` listens on 127.0.0.1 and passes every connection through to the test module's Redis (a unix
socket or TCP URL). `away()` closes every connection passed through and refuses new ones, as a Redis
restart or a network blip does; `back()` listens again on the same port. A client made with
`connect_redis(blip.url)` sees both.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from urllib.parse import urlparse


class RedisBlip:
    def __init__(self, upstream_url: str) -> None:
        self._up = urlparse(upstream_url)
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._pumps: set[asyncio.Task[None]] = set()
        self.port = 0

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    async def back(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def away(self) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()
        self._server = None
        for w in list(self._writers):
            w.close()
        self._writers.clear()
        for t in list(self._pumps):
            t.cancel()
        await asyncio.gather(*self._pumps, return_exceptions=True)

    async def _open_upstream(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        if self._up.scheme == "unix":
            return await asyncio.open_unix_connection(self._up.path)
        return await asyncio.open_connection(self._up.hostname, self._up.port or 6379)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await self._open_upstream()
        self._writers |= {writer, up_writer}
        task = asyncio.current_task()
        assert task is not None
        self._pumps.add(task)
        try:
            await asyncio.gather(_pump(reader, up_writer), _pump(up_reader, writer))
        finally:
            self._pumps.discard(task)


async def _pump(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
    try:
        while data := await src.read(65536):
            dst.write(data)
            await dst.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        dst.close()


@contextlib.asynccontextmanager
async def redis_blip(upstream_url: str) -> AsyncIterator[RedisBlip]:
    """A `RedisBlip` in front of `upstream_url`, up; closed at the end."""
    blip = RedisBlip(upstream_url)
    await blip.back()
    try:
        yield blip
    finally:
        if blip._server is not None:
            await blip.away()
