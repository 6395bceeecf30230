"""The Redis outbox: a write Redis refuses for good (an error reply such as WRONGTYPE: the command is wrong,
Redis is not away) is set aside, logged with its keys and counted, and the writes behind it go on; before,
it was retried for ever and every call record, disposition and ledger entry behind it waited with it (and
was lost at the shutdown's flush). A write that fails because Redis is away is retried, in order, as
before. And a cancellation the Redis client swallows still ends the outbox."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest
import redis.asyncio as aioredis
from daemon_fakes import one_campaign_daemon, ready_agent, stopping, talk_and_hang_up
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import OutOfMemoryError, ReadOnlyError, ResponseError

from dialer.daemon import Daemon
from dialer.errors import StateStoreError
from dialer.leadsource import InMemoryLeadSource
from dialer.store import RedisStore, refused_for_good

T0 = 1_795_000_000.0
LIMIT = 10.0  # real seconds: only turns a hang into a failure


def wrongtype() -> ResponseError:
    return ResponseError("WRONGTYPE Operation against a key holding the wrong kind of value")


@pytest.mark.parametrize(("error", "for_good"), [
    (wrongtype(), True),
    (ResponseError("ERR wrong number of arguments for 'hset' command"), True),
    (ResponseError("Command # 1 (HSET d:agent:a1 state ready) of pipeline caused error: WRONGTYPE Operation "
                   "against a key holding the wrong kind of value"), True),
    (StateStoreError("Redis failed while reading lead L1: WRONGTYPE ..."), False),  # no cause: Redis away
    (ReadOnlyError("READONLY You can't write against a read only replica."), False),  # a failover
    (OutOfMemoryError("OOM command not allowed when used memory > 'maxmemory'."), False),
    (ResponseError("LOADING Redis is loading the dataset in memory"), False),
    (ResponseError("BUSY Redis is busy running a script."), False),
    (ResponseError("Command # 2 (XADD d:calls * a b) of pipeline caused error: MISCONF Redis is configured to "
                   "save RDB snapshots, but it's currently unable to persist to disk."), False),
    (RedisConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused."), False),
    (TimeoutError(), False),
])
def test_which_errors_redis_would_give_again(error: BaseException, for_good: bool):
    assert refused_for_good(error) is for_good


def test_our_error_made_from_a_refusal_is_one():
    ours = StateStoreError("Redis failed while writing: WRONGTYPE ...")
    ours.__cause__ = wrongtype()
    assert refused_for_good(ours)


async def outbox_until_drained(store: RedisStore) -> None:
    """Run the outbox until every write queued so far is done, then stop it."""
    outbox = asyncio.create_task(store.run_outbox(retry_delay_s=0.0))
    try:
        await drained(store)
    finally:
        outbox.cancel()
        await asyncio.gather(outbox, return_exceptions=True)


async def drained(store: RedisStore) -> None:
    """Until every write queued so far is done: a marker queued behind them has run."""
    done = asyncio.Event()

    async def marker(r: aioredis.Redis) -> None:
        done.set()

    store.enqueue("marker", marker)
    async with asyncio.timeout(LIMIT):
        await done.wait()


async def test_a_write_refused_for_good_is_set_aside_and_the_writes_behind_it_go_on(client, caplog):
    prefix = "refused1"
    await client.set(f"{prefix}:agent:a1", "left over by an old tool")  # not a hash
    store = RedisStore(client, prefix=prefix)
    outbox = asyncio.create_task(store.run_outbox(retry_delay_s=0.0))
    try:
        store.set_agent("a1", {"state": "ready"})  # HSET on a string: WRONGTYPE, for ever
        store.set_agent("a2", {"state": "ready"})
        store.append_agent_state("a2", campaign="uk", state="ready", at=T0, reason="")
        await drained(store)
    finally:
        outbox.cancel()
        await asyncio.gather(outbox, return_exceptions=True)
    assert await client.hgetall(f"{prefix}:agent:a2") == {"state": "ready"}
    assert await client.xlen(f"{prefix}:agent_states") == 1
    assert await client.get(f"{prefix}:agent:a1") == "left over by an old tool"  # left as it was
    assert (store.refused, store.failures, store.backlog) == (1, 1, 0)
    [error] = [r for r in caplog.records if r.name == "dialer.store" and r.levelno == logging.ERROR]
    assert f"{prefix}:agent:a1" in error.getMessage()  # names the key to fix
    assert "WRONGTYPE" in error.getMessage()


async def test_writes_failing_while_redis_is_away_are_retried_in_order(client):
    store = RedisStore(client, prefix="refused2")
    written: list[str] = []
    tries = {"first": 0}

    async def first(r: aioredis.Redis) -> None:
        tries["first"] += 1
        if tries["first"] < 3:
            raise RedisConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")
        written.append("first")

    async def second(r: aioredis.Redis) -> None:
        written.append("second")

    async def read_only(r: aioredis.Redis) -> None:  # a failover: the same write succeeds on the new primary
        tries["read_only"] = tries.get("read_only", 0) + 1
        if tries["read_only"] < 2:
            raise ReadOnlyError("READONLY You can't write against a read only replica.")
        written.append("after the failover")

    store.enqueue("first", first)
    store.enqueue("second", second)
    store.enqueue("read only", read_only)
    await outbox_until_drained(store)
    assert written == ["first", "second", "after the failover"]
    assert (store.failures, store.refused) == (3, 0)


async def test_the_shutdown_flush_sets_a_refused_write_aside_and_writes_the_rest(client):
    prefix = "refused3"
    await client.set(f"{prefix}:agent:a1", "not a hash")
    store = RedisStore(client, prefix=prefix)
    store.set_agent("a1", {"state": "ready"})
    store.set_agent("a2", {"state": "paused"})
    await store.flush()
    assert await client.hgetall(f"{prefix}:agent:a2") == {"state": "paused"}
    assert (store.refused, store.backlog) == (1, 0)


async def test_a_read_refused_for_good_holds_up_no_write(client):
    prefix = "refused4"
    await client.set(f"{prefix}:hash", "not a hash")
    store = RedisStore(client, prefix=prefix)

    async def read(r: aioredis.Redis) -> dict[str, str]:
        return dict(await r.hgetall(f"{prefix}:hash"))

    pending = store.read_in_order(f"a read of {prefix}:hash", read)
    store.set_agent("a2", {"state": "ready"})
    await outbox_until_drained(store)
    assert await client.hgetall(f"{prefix}:agent:a2") == {"state": "ready"}
    assert not pending.done()  # its reader waits (the read says which key to fix in the log)
    assert store.refused == 1
    pending.cancel()


async def test_a_cancellation_the_redis_client_swallows_still_ends_the_outbox(client):
    # Python 3.11's asyncio.wait_for, which redis-py awaits every command through, returns the command's
    # result instead of raising when the cancellation comes as the command completes
    store = RedisStore(client, prefix="refused5")
    writing = asyncio.Event()

    async def swallowing(r: aioredis.Redis) -> None:
        writing.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            return

    store.enqueue("swallowing", swallowing)
    store.set_agent("a1", {"state": "ready"})
    outbox = asyncio.create_task(store.run_outbox())
    async with asyncio.timeout(LIMIT):
        await writing.wait()
    outbox.cancel()
    done, _ = await asyncio.wait({outbox}, timeout=LIMIT)
    assert done, "the outbox went on after it was cancelled"
    assert outbox.cancelled()


def make_daemon(client: Any, prefix: str) -> Daemon:
    return one_campaign_daemon(client, prefix, InMemoryLeadSource([]), T0)


async def test_the_daemon_writes_its_call_records_behind_an_agent_hash_redis_refuses(client):
    prefix = "refused6"
    await client.set(f"{prefix}:agent:a1", "left over by an old tool")  # read_agents skips it at start
    d = make_daemon(client, prefix)
    stop, task = await stopping(d)
    try:
        async with asyncio.timeout(LIMIT):
            await d.ledger_ready["uk"].wait()  # the start-up reads are done
        ready_agent(d)  # HSET <prefix>:agent:a1: WRONGTYPE
        cid = talk_and_hang_up(d, 1)  # a call record and ledger entries queued behind it
        await drained(d.store)
        assert await client.exists(f"{prefix}:call:{cid}")
        assert d.store.refused >= 2  # every write of that hash: a1's log-in, ready, talking, wrap-up...
    finally:
        stop.set()
        async with asyncio.timeout(LIMIT):
            await task
