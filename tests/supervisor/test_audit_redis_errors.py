"""The audit log's Redis errors go through the one translation (`dialer.store.redis_call`): a refused
connection or no answer within the [redis] timeout (the store's, unless the log is told another) is a
StateStoreError naming the audit log; `record` logs the entry instead of raising. No sleeps: the hung
client waits on an event and the deadline is zero."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError

from dialer.errors import StateStoreError
from dialer.store import RedisStore
from dialer.supervisor.audit import AuditLog
from dialer.supervisor.auth import Principal, Role


class _Clock:
    def now(self) -> float:
        return 100.0


class _Refusing:
    async def xadd(self, *_a: Any, **_k: Any) -> None:
        raise RedisConnectionError("Connection refused")

    async def xrevrange(self, *_a: Any, **_k: Any) -> None:
        raise RedisConnectionError("Connection refused")


class _Hung:
    async def xadd(self, *_a: Any, **_k: Any) -> None:
        await asyncio.Event().wait()


WHO = Principal("ops", Role.ADMIN)


async def test_refused_write_and_read_are_ours() -> None:
    audit = AuditLog(RedisStore(_Refusing(), timeout_s=2.0), _Clock())  # type: ignore[arg-type]
    with pytest.raises(StateStoreError, match="Redis failed while writing the audit log: Connection refused"):
        await audit.write(WHO, "pause", "c1")
    with pytest.raises(StateStoreError, match="Redis failed while reading the audit log"):
        await audit.read()


async def test_the_deadline_is_the_redis_timeout(caplog: pytest.LogCaptureFixture) -> None:
    audit = AuditLog(RedisStore(_Hung(), timeout_s=0), _Clock())  # type: ignore[arg-type]
    with pytest.raises(StateStoreError, match=r"did not answer within 0 s while writing the audit log"):
        await audit.write(WHO, "pause", "c1")
    with caplog.at_level(logging.ERROR, logger="dialer.supervisor.audit"):
        await audit.record(WHO, "pause", "c1")
    assert [r.getMessage() for r in caplog.records] == ["audit entry not stored"]
