"""A healthy daemon says at INFO when it connects to AMI and when it reconnects after an outage (where, and how
long it was down): the reconnect warnings used to just stop, and nothing said the link was back."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable

import pytest
from fake_server import FakeAmi

from dialer.ami.client import AmiClient
from dialer.ami.events import AmiConnected, AmiDisconnected, AmiEvent

LIMIT = 10.0  # a safety net only: each wait ends at its event


def _client(server: FakeAmi, monotonic: Callable[[], float]) -> AmiClient:
    return AmiClient(host="127.0.0.1", port=server.port, username="dialer", secret="s3cret", events="call,user",
                     ping_interval=60.0, connect_timeout=5.0, reconnect_delay=0.01, reconnect_max_delay=0.05,
                     monotonic=monotonic)


async def _next(stream: AsyncIterator[AmiEvent], kind: type[AmiEvent]) -> AmiEvent:
    async with asyncio.timeout(LIMIT):
        async for event in stream:
            if isinstance(event, kind):
                return event
    raise AssertionError(f"no {kind.__name__}")


async def test_connect_and_reconnect_are_logged_at_info_with_the_address_and_the_time_down(
        caplog: pytest.LogCaptureFixture) -> None:
    times = iter([100.0, 142.5])  # the loss, then the login that ends it
    caplog.set_level(logging.INFO, logger="dialer.ami.client")
    async with FakeAmi() as server, _client(server, lambda: next(times)) as client:
        where = f"127.0.0.1:{server.port}"
        stream = client.events()
        await _next(stream, AmiConnected)
        assert [r.getMessage() for r in caplog.records if r.levelno == logging.INFO] == [
            f"AMI connected to {where} as user 'dialer' (events call,user)"]
        caplog.clear()
        server.drop()
        await _next(stream, AmiDisconnected)
        assert await _next(stream, AmiConnected) == AmiConnected(reconnect=True)
    infos = [r.getMessage() for r in caplog.records if r.levelno == logging.INFO]
    assert f"AMI reconnected to {where} after 42.5 s down (Asterisk closed the connection)" in infos, infos
