"""After each login the client holds the connection until Asterisk is fully booted.

Asterisk opens AMI before it loads its modules: a daemon reconnecting while the PBX restarts logged in
and dialed at once into a PBX with no dialplan or PJSIP yet, every Originate failing as an attempt.
`AmiConnected` (which lets the engine dial) now waits for `FullyBooted`, which Asterisk sends right after
the login's answer when booted, or when done booting, to sessions reading `system` events.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest
from fake_server import FakeAmi

from dialer.ami.client import AmiClient
from dialer.ami.events import AmiConnected, FullyBooted
from dialer.errors import AmiConnectionError

LIMIT = 10.0
BOOTED = [("Uptime", "3"), ("LastReload", "3"), ("Status", "Fully Booted")]


@pytest.fixture
async def booting() -> AsyncIterator[FakeAmi]:
    async with FakeAmi() as server:
        server.fully_booted = False  # Asterisk still loading its modules at the login
        yield server


def client(server: FakeAmi, **kw: Any) -> AmiClient:
    args: dict[str, Any] = {"host": "127.0.0.1", "port": server.port, "username": "dialer", "secret": "s3cret",
                            "ping_interval": 60.0, "connect_timeout": 5.0, "events": "call,user,system",
                            "boot_wait": LIMIT}
    args.update(kw)
    return AmiClient(**args)


class Said(logging.Handler):
    """Sets `seen` when the client logs a message containing `words` (that it has begun to wait)."""

    def __init__(self, words: str) -> None:
        super().__init__(logging.INFO)
        self.words, self.seen = words, asyncio.Event()

    def emit(self, record: logging.LogRecord) -> None:
        if self.words in record.getMessage():
            self.seen.set()


@pytest.fixture
def waiting() -> Iterator[Said]:
    said = Said("has not finished booting")
    logger = logging.getLogger("dialer.ami.client")
    level = logger.level
    logger.addHandler(said)
    logger.setLevel(logging.INFO)
    yield said
    logger.removeHandler(said)
    logger.setLevel(level)


async def until(said: Said) -> None:
    async with asyncio.timeout(LIMIT):  # only turns a hang into a failure
        await said.seen.wait()


def logged(caplog: pytest.LogCaptureFixture, words: str) -> Callable[[], bool]:
    return lambda: any(words in r.getMessage() for r in caplog.records)


async def test_the_connection_waits_for_fully_booted_before_it_is_live(booting, waiting):
    c = client(booting)
    entering = asyncio.create_task(c.__aenter__())
    await until(waiting)
    assert not entering.done()
    booting.send_event("FullyBooted", BOOTED)
    async with asyncio.timeout(LIMIT):
        await entering
    try:
        stream = c.events()
        async with asyncio.timeout(LIMIT):
            assert await anext(stream) == AmiConnected(reconnect=False)
            assert isinstance(await anext(stream), FullyBooted)
    finally:
        await c.__aexit__(None, None, None)


async def test_a_connection_lost_while_booting_fails_the_login(booting, waiting):
    entering = asyncio.create_task(client(booting).__aenter__())
    await until(waiting)
    booting.drop()
    with pytest.raises(AmiConnectionError, match="before Asterisk finished booting"):
        async with asyncio.timeout(LIMIT):
            await entering


async def test_without_fully_booted_in_time_it_goes_on_and_says_what_to_grant(booting, caplog):
    async with client(booting, boot_wait=0.01) as c:  # the user may not read `system`: it never comes
        assert c.connected
    assert logged(caplog, "add system to the read rights of user 'dialer'")()


async def test_a_mask_without_system_does_not_wait_and_warns(booting, caplog):
    async with client(booting, events="call,user") as c:
        assert c.connected
    assert logged(caplog, "lacks `system`")()
