"""The running daemon applies suppression signals from its bus: the next dial of that person is held."""

from __future__ import annotations

import itertools
import json
import logging
from typing import Any

from bus_fakes import FakeBus
from daemon_fakes import FakeAmi, daemon_logs, running

from dialer.clock import ScaledClock
from dialer.config import CampaignSettings, DialerSettings, HttpSettings, MetricsSettings
from dialer.daemon import Daemon, runtime_from_settings
from dialer.engine.core import Engine
from dialer.hopper import LeadStore
from dialer.leadsource import InMemoryLeadSource
from dialer.metrics import Metrics
from dialer.store import RedisStore

T0 = 1_795_000_000.0
_prefixes = itertools.count(1)


def make_daemon(client: Any) -> Daemon:
    cs = CampaignSettings(id="uk")
    cfg = DialerSettings(campaigns=[cs], http=HttpSettings(enabled=False), metrics=MetricsSettings(enabled=False))
    engine = Engine(hold_s=1.5)
    engine.add_campaign(runtime_from_settings(cs))
    return Daemon(cfg, clock=ScaledClock(1.0, start=T0), engine=engine, ami=FakeAmi(),  # type: ignore[arg-type]
                  store=RedisStore(client, prefix=f"sig{next(_prefixes)}"), bus=FakeBus(),  # type: ignore[arg-type]
                  leads={"uk": InMemoryLeadSource([])}, metrics=Metrics())


async def test_a_signal_on_the_bus_lands_on_the_suppression_lists_and_a_bad_one_is_refused(client, caplog):
    d = make_daemon(client)
    assert isinstance(d.bus, FakeBus)
    caplog.set_level(logging.INFO, logger="dialer.signals")
    async with running(d):
        with daemon_logs(lambda r: "applied" in r.getMessage(), "dialer.signals") as applied:
            d.bus.signals_in.put_nowait(b'{"subject": "subscriber:S9", "kind": "bill_shock", "until": 1795100000}')
            await applied.wait()
        with daemon_logs(lambda r: "refused" in r.getMessage(), "dialer.signals") as refused:
            d.bus.signals_in.put_nowait(json.dumps({"subject": "customer:S9", "kind": "bill_shock"}).encode())
            await refused.wait()
    assert await LeadStore(client, prefix=d.store.prefix).suppressions("subscriber:S9") == {"bill_shock": 1795100000.0}
    reg = d.metrics.registry
    assert [reg.get_sample_value("dialer_suppression_signals_total", {"source": "mqtt", "result": r})
            for r in ("applied", "refused")] == [1.0, 1.0]
    assert "must start with lead:, subscriber:, number: or area:" in caplog.text
    # both done with, so both acknowledged to the broker (the refused one would be refused on every delivery)
    assert d.bus.signals_acked == [b'{"subject": "subscriber:S9", "kind": "bill_shock", "until": 1795100000}',
                                   json.dumps({"subject": "customer:S9", "kind": "bill_shock"}).encode()]
