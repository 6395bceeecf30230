"""What the daemon makes of a recording campaign's conversations: counted by whether Asterisk reported
recording them (`dialer_recordings_total`), and one warning per campaign when it did not."""

from __future__ import annotations

import logging
import random
from typing import Any

import pytest
from bus_fakes import FakeBus
from daemon_fakes import FakeAmi, ready_agent, running, talk_and_hang_up

from agents import commands as ac
from dialer.clock import ScaledClock
from dialer.config import CampaignSettings, DialerSettings, HttpSettings, MetricsSettings
from dialer.daemon import Daemon, runtime_from_settings
from dialer.engine.core import Engine
from dialer.leadsource import InMemoryLeadSource
from dialer.metrics import Metrics
from dialer.store import RedisStore

T0 = 1_795_000_000.0


def make_daemon(client: Any, prefix: str, *, record: bool) -> Daemon:
    cs = CampaignSettings(id="uk", record_calls=record)
    cfg = DialerSettings(campaigns=[cs], http=HttpSettings(enabled=False), metrics=MetricsSettings(enabled=False))
    engine = Engine(hold_s=1.5, rng=random.Random(3))
    engine.add_campaign(runtime_from_settings(cs))
    return Daemon(cfg, clock=ScaledClock(1.0, start=T0), engine=engine, ami=FakeAmi(),  # type: ignore[arg-type]
                  store=RedisStore(client, prefix=prefix), bus=FakeBus(),  # type: ignore[arg-type]
                  leads={"uk": InMemoryLeadSource([])}, metrics=Metrics())


def counts(d: Daemon) -> tuple[float, float]:
    m = d.metrics.recordings
    return m.labels("uk", "started")._value.get(), m.labels("uk", "missing")._value.get()


def talk(d: Daemon, n: int, *, reported: bool) -> str:
    """a1 takes a call, whose recording the dialplan reports when `reported`, and disposes it."""
    call_id = talk_and_hang_up(d, n, recording=f"/rec/{n}.wav" if reported else "")
    d.agent_command(ac.Disposition("a1", call_id, "sale"))
    return call_id


async def test_conversations_asterisk_recorded_and_did_not_are_counted_and_the_gap_is_said_once(client, caplog):
    d = make_daemon(client, "rec1", record=True)
    async with running(d):
        ready_agent(d, campaign="uk")
        talk(d, 1, reported=True)
        assert counts(d) == (1, 0)
        with caplog.at_level(logging.WARNING, logger="dialer.daemon"):
            first = talk(d, 2, reported=False)
            talk(d, 3, reported=False)
        assert counts(d) == (1, 2)
        said = [r for r in caplog.records if "never reported recording" in r.getMessage()]
        assert len(said) == 1  # a dialplan that does not report misses every call: once per campaign
        assert first in said[0].getMessage()
        assert "app_mixmonitor" in said[0].getMessage()
    records = await RedisStore(client, prefix="rec1").call_records()
    assert sorted(r["recording"] for r in records) == ["", "", "/rec/1.wav"]


@pytest.mark.parametrize("reported", [True, False])
async def test_a_campaign_that_does_not_record_counts_nothing(client, reported):
    d = make_daemon(client, f"rec2{reported}", record=False)
    async with running(d):
        ready_agent(d, campaign="uk")
        talk(d, 1, reported=reported)
        assert counts(d) == ((1, 0) if reported else (0, 0))
