"""At start-up the daemon says whether Redis keeps its data on disk: an ERROR saying to set `appendonly yes`
when it keeps nothing (the test Redis keeps nothing), a WARNING when CONFIG is refused (managed Redis) and the
append-only file is off; `[redis] require_persistence = true` refuses to start unless persistence is shown."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest
from bus_fakes import FakeBus
from daemon_fakes import FakeAmi
from redis.exceptions import ResponseError

from dialer.clock import ScaledClock
from dialer.config import CampaignSettings, DialerSettings, HttpSettings, MetricsSettings, RedisSettings
from dialer.daemon import Daemon, persistence_checked, runtime_from_settings
from dialer.engine.core import Engine
from dialer.errors import ConfigError
from dialer.leadsource import InMemoryLeadSource
from dialer.metrics import Metrics
from dialer.store import Persistence, RedisStore, connect_redis


class Scripted(RedisStore):
    """A store whose server says `says` of its persistence."""

    def __init__(self, client: Any, says: Persistence) -> None:
        super().__init__(client, prefix="persist")
        self.says = says

    async def persistence(self) -> Persistence:
        return self.says


def gauge(m: Metrics) -> float | None:
    return m.registry.get_sample_value("dialer_state_store_persistent")


async def test_a_redis_that_keeps_nothing_is_an_error_naming_appendonly(redis_url, caplog):
    client = connect_redis(redis_url)
    try:
        got = await RedisStore(client, prefix="persist").persistence()
        assert got.keeps_nothing  # the test Redis: save "" and no append-only file
        m = Metrics()
        with caplog.at_level(logging.INFO, logger="dialer.daemon"):
            assert await persistence_checked(RedisStore(client), m, required=False) == got
        [error] = [r for r in caplog.records if r.levelno == logging.ERROR]
        assert "appendonly yes" in error.getMessage()
        assert "require_persistence" in error.getMessage()
        assert gauge(m) == 0.0
        with pytest.raises(ConfigError, match="appendonly yes"):
            await persistence_checked(RedisStore(client), Metrics(), required=True)
    finally:
        await client.aclose()


async def test_config_refused_reads_as_unknown_unless_the_append_only_file_is_on(redis_url):
    client = connect_redis(redis_url)

    async def refused(*_a: Any, **_k: Any) -> Any:
        raise ResponseError("ERR unknown command 'CONFIG', with args beginning with: 'GET' 'save'")

    try:
        client.config_get = refused  # type: ignore[method-assign]
        got = await RedisStore(client).persistence()
        assert (got.save, got.keeps_nothing, got.verified) == (None, False, False)
        assert got.unknown
        m = Metrics()
        await persistence_checked(RedisStore(client), m, required=False)  # said, not refused
        assert gauge(m) == -1.0
        with pytest.raises(ConfigError, match="require_persistence = false"):
            await persistence_checked(RedisStore(client), Metrics(), required=True)

        async def aof_on(*_a: Any, **_k: Any) -> Any:
            return {"aof_enabled": 1}

        client.info = aof_on  # type: ignore[method-assign]
        got = await RedisStore(client).persistence()
        assert got.verified
        assert not got.unknown
        m = Metrics()
        assert (await persistence_checked(RedisStore(client), m, required=True)).aof
        assert gauge(m) == 1.0
    finally:
        await client.aclose()


@pytest.mark.parametrize(("says", "starts"), [
    (Persistence(aof=True, save=""), True),
    (Persistence(save="3600 1 300 100"), True),
    (Persistence(save=""), False),
    (Persistence(save=None, unknown="CONFIG GET save refused"), False),
])
async def test_require_persistence_refuses_the_daemon_before_it_runs(says: Persistence, starts: bool, client: Any):
    cs = CampaignSettings(id="c")
    cfg = DialerSettings(campaigns=[cs], http=HttpSettings(enabled=False), metrics=MetricsSettings(enabled=False),
                         redis=RedisSettings(require_persistence=True))
    engine = Engine()
    engine.add_campaign(runtime_from_settings(cs))
    d = Daemon(cfg, clock=ScaledClock(0.001, start=1_795_000_000.0), engine=engine, ami=FakeAmi(),  # type: ignore[arg-type]
               store=Scripted(client, says), bus=FakeBus(), leads={"c": InMemoryLeadSource([])},  # type: ignore[arg-type]
               metrics=Metrics())
    if starts:
        assert (await persistence_checked(d.store, d.metrics, required=True)) == says
        return
    with pytest.raises(ConfigError, match="require_persistence"):
        await d.run(asyncio.Event())
    assert d._actions is None
    assert not d.ready.is_set()


def test_require_persistence_is_off_by_default():
    assert RedisSettings().require_persistence is False
    assert RedisSettings(require_persistence=True).require_persistence is True
