"""The data-epoch watcher (`Daemon._watch_store`) under a stop and next to other dialers on the same Redis.

A stop that lands while the watcher waits on Redis: redis-py on Python 3.11 may return the call's answer instead
of raising the cancellation (`dialer.store.end_if_cancelled`); before, the watcher went on to wait for the next
reconnect, and the daemon's stop waited for the watcher for ever. Two daemons on one Redis (one prefix, other
campaigns): before, after one flush each found the other's new marker, declared a loss of its own and replaced it,
every 5 s for ever, and no acknowledgement ever went through. And while Redis's data is lost, an agent cannot dial
by hand either: the contact-policy check would read the emptied do-not-call lists."""

from __future__ import annotations

import asyncio
import itertools
import logging
from typing import Any

import pytest
from daemon_fakes import ready_agent, running
from test_manual_dial_holds_its_number import T0, N, rig
from test_redis_empty_restart import make_daemon

from dialer.errors import IllegalTransition
from dialer.hopper.keys import GlobalKeys
from dialer.store import DataEpoch, EpochSeen, RedisStore, StoreLoss, connect_redis, until_stored

LIMIT = 10.0  # real seconds: only turns a hang into a failure
_prefixes = itertools.count(1)
LOST = "Redis lost the dialer's data ("


class SwallowingStore(RedisStore):
    """A Redis client that, cancelled while it checks the marker, answers instead of raising (Python 3.11's
    `asyncio.wait_for` in redis-py, when the cancellation comes as the command completes)."""

    def __init__(self, client: Any, prefix: str) -> None:
        super().__init__(client, prefix=prefix)
        self.checking = asyncio.Event()

    async def settle_epoch(self, mine: DataEpoch, now: float, held: StoreLoss | None) -> EpochSeen:
        self.checking.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            return EpochSeen(mine, found=mine.id)
        raise AssertionError("unreachable")


async def test_the_watcher_ends_when_the_redis_client_swallows_the_stop(redis_url: str) -> None:
    client = connect_redis(redis_url)
    try:
        d = make_daemon(client, f"epshared{next(_prefixes)}")
        d.store = store = SwallowingStore(client, d.store.prefix)
        stop = asyncio.Event()
        run = asyncio.create_task(d.run(stop))
        await d.store_epoch_ready.wait()
        store.reconnected.set()  # the watcher looks now
        await store.checking.wait()
        stop.set()
        done, _ = await asyncio.wait({run}, timeout=LIMIT)
        if not done:
            run.cancel()
        assert done, "the daemon's stop waited for the data-epoch watcher"
        run.result()
    finally:
        await client.aclose()


async def test_until_stored_ends_a_cancelled_task_whose_write_went_through() -> None:
    writing = asyncio.Event()

    async def swallowing() -> str:
        writing.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            return "written"
        raise AssertionError("unreachable")

    task = asyncio.create_task(until_stored("a write", swallowing))
    await writing.wait()
    task.cancel()
    await asyncio.wait({task})
    assert task.cancelled()  # before: it returned "written", and a loop around it went on


def loss_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR and LOST in r.getMessage()]


async def test_two_daemons_on_one_redis_find_one_loss_each_and_both_acknowledge(
        redis_url: str, caplog: pytest.LogCaptureFixture) -> None:
    client = connect_redis(redis_url)
    prefix = f"epshared{next(_prefixes)}"
    try:
        async with running(make_daemon(client, prefix)) as a, running(make_daemon(client, prefix)) as b:
            await a.store_epoch_ready.wait()
            await b.store_epoch_ready.wait()
            assert a.store_epoch == b.store_epoch  # b adopted a's marker at its start
            caplog.clear()
            await client.flushall()

            assert not await a.check_store_epoch()  # a finds the loss first and marks a new epoch
            assert not await b.check_store_epoch()  # b finds a's marker, after its own: the same loss
            for _ in range(3):  # before: each found the other's marker, a loss of its own, for ever
                assert await a.check_store_epoch()
                assert await b.check_store_epoch()
            assert a.store_epoch == b.store_epoch
            assert a.store_loss is not None
            assert b.store_loss is not None
            assert a.store_loss.previous == b.store_loss.previous
            assert len(loss_lines(caplog)) == 2  # one each

            assert await a.acknowledge_store_loss("sup-a") is not None
            assert await b.acknowledge_store_loss("sup-b") is not None
            assert a.store_loss is None
            assert b.store_loss is None
            assert await a.check_store_epoch()
            assert await b.check_store_epoch()
            assert len(loss_lines(caplog)) == 2
    finally:
        await client.aclose()


async def test_a_daemon_that_looks_after_the_other_acknowledged_still_holds_without_a_new_loss(
        redis_url: str, caplog: pytest.LogCaptureFixture) -> None:
    client = connect_redis(redis_url)
    prefix = f"epshared{next(_prefixes)}"
    try:
        async with running(make_daemon(client, prefix)) as a, running(make_daemon(client, prefix)) as b:
            await a.store_epoch_ready.wait()
            await b.store_epoch_ready.wait()
            await client.flushall()
            assert not await a.check_store_epoch()
            assert await a.acknowledge_store_loss("sup-a") is not None  # the loss record is gone

            assert not await b.check_store_epoch()  # b's data went too: it holds, on a's marker
            assert b.store_loss is not None
            assert b.store_epoch == a.store_epoch
            assert await b.store.read_loss() is not None  # a restart of b holds too
            assert await a.check_store_epoch()  # a sees no new loss
            assert a.store_loss is None
            assert await b.acknowledge_store_loss("sup-b") is not None
            assert await a.check_store_epoch()
            assert len(loss_lines(caplog)) == 2
    finally:
        await client.aclose()


async def test_two_flushes_each_found_by_another_daemon_converge(redis_url: str) -> None:
    client = connect_redis(redis_url)
    prefix = f"epshared{next(_prefixes)}"
    try:
        async with running(make_daemon(client, prefix)) as a, running(make_daemon(client, prefix)) as b:
            await a.store_epoch_ready.wait()
            await b.store_epoch_ready.wait()
            await client.flushall()
            assert not await b.check_store_epoch()  # b marks a new epoch
            await client.flushall()  # gone again before a looked
            assert not await a.check_store_epoch()  # a marks one of its own, both after the first epoch
            assert await b.check_store_epoch() is False  # b adopts a's: same lineage
            for _ in range(3):
                assert await a.check_store_epoch()
                assert await b.check_store_epoch()
            assert a.store_epoch == b.store_epoch
    finally:
        await client.aclose()


async def test_two_daemons_finding_the_loss_at_once_write_one_marker(redis_url: str) -> None:
    client = connect_redis(redis_url)
    prefix = f"epshared{next(_prefixes)}"
    try:
        async with running(make_daemon(client, prefix)) as a, running(make_daemon(client, prefix)) as b:
            await a.store_epoch_ready.wait()
            await b.store_epoch_ready.wait()
            await client.flushall()
            assert await asyncio.gather(a.check_store_epoch(), b.check_store_epoch()) == [False, False]
            assert a.store_epoch == b.store_epoch
            assert await a.check_store_epoch()
            assert await b.check_store_epoch()
    finally:
        await client.aclose()


async def test_no_manual_or_preview_dial_while_redis_data_is_lost(redis_url: str) -> None:
    async with rig(redis_url) as (d, _source, prefix):
        ready_agent(d, "a1", "1001", campaign="c")
        d._hold_for_loss(StoreLoss(T0, "e0", "nothing"))  # as the watcher does on finding the marker gone
        with pytest.raises(IllegalTransition, match="Redis lost the dialer's data"):
            await d.manual_dial("a1", N)  # before: dialed, checked against the emptied do-not-call lists
        assert await d.store.r.exists(GlobalKeys(prefix).out(N)) == 0  # no lead taken for it
        assert not d.engine.calls
        with pytest.raises(IllegalTransition, match="Redis lost the dialer's data"):
            await d.preview_dial("a1", "K1", 0)
        assert await d.acknowledge_store_loss("sup") is not None
        assert await d.manual_dial("a1", N)  # dials again once acknowledged
