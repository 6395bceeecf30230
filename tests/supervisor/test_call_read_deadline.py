"""Reading a call from a Redis that accepts the connection and never answers (half-open, hung) ends within the
[redis] timeout with a StateStoreError saying what to check; GET /api/calls/{id} answers 503 instead of hanging
for ever. The server below is a socket that accepts and reads nothing: no sleeps, a tiny deadline."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest
from sup_fakes import AUTH, make_rig

from dialer.errors import StateStoreError
from dialer.http import build_app
from dialer.store import RedisStore, connect_redis


@pytest.fixture
async def silent_redis() -> AsyncIterator[str]:
    held: list[asyncio.StreamWriter] = []

    async def accept(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)  # keep the connection open; never answer

    server = await asyncio.start_server(accept, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        for w in held:
            w.close()
        server.close()
        await server.wait_closed()


async def test_store_reads_end_within_the_redis_timeout(silent_redis: str) -> None:
    client = connect_redis(silent_redis, timeout_s=0.05)
    try:
        store = RedisStore(client, prefix="deadline", timeout_s=0.05)
        with pytest.raises(StateStoreError, match=r"did not answer within 0\.05 s while reading call c1; check"):
            await store.call("c1")
        with pytest.raises(StateStoreError, match=r"did not answer within 0\.05 s while reading the call records"):
            await store.call_records()
    finally:
        await client.aclose()


async def test_get_call_answers_503_when_redis_does_not_answer(silent_redis: str) -> None:
    client = connect_redis(silent_redis, timeout_s=0.05)
    try:
        rig = make_rig(client)
        rig.daemon.store = RedisStore(client, prefix=rig.store.prefix, timeout_s=0.05)
        transport = httpx.ASGITransport(app=build_app(rig.daemon))
        async with httpx.AsyncClient(transport=transport, base_url="http://dialer") as http:
            got = await http.get("/api/calls/c1", headers=AUTH["read-only"])
        assert got.status_code == 503
        assert "Redis did not answer within 0.05 s" in got.json()["detail"]
    finally:
        await client.aclose()


async def test_call_records_reads_a_long_stream_page_by_page(redis_url: str) -> None:
    client = connect_redis(redis_url)
    try:
        store = RedisStore(client, prefix="deadline-pages")
        await client.delete(store.key("calls"))
        for i in range(7):
            await client.xadd(store.key("calls"), {"call_id": f"c{i}"})
        got = await store.call_records(page=3)
        assert [r["call_id"] for r in got] == [f"c{i}" for i in range(7)]
        assert [r["call_id"] for r in await store.call_records(5, page=3)] == [f"c{i}" for i in range(5)]
        await client.delete(store.key("calls"))
    finally:
        await client.aclose()
