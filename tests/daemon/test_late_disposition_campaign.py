"""A late disposition (the wrap-up ran out, docs/AGENT_DESKTOP.md "Late disposition") is checked against the
codes of the campaign of the call it disposes, not the agent's campaign now: within `late_disposition_s` an
agent paused by the timeout may log out and into another campaign, and the screen-pop still on their screen
offers the first campaign's codes."""

from __future__ import annotations

import asyncio
import itertools
import random
from pathlib import Path

import pytest
from bus_fakes import FakeBus
from daemon_fakes import FakeAmi, stopping, talk_and_hang_up

from agents import commands as ac
from agents.dispositions import DispositionRejected
from agents.screenpop import ScreenPopRenderer
from agents.scripts import load_scripts
from dialer.clock import ScaledClock
from dialer.config import CampaignSettings, DialerSettings, HttpSettings, MetricsSettings
from dialer.daemon import Daemon, runtime_from_settings
from dialer.engine.core import Engine
from dialer.leadsource import InMemoryLeadSource
from dialer.metrics import Metrics
from dialer.store import RedisStore

T0 = 1_795_000_000.0
A, B = "confirmation", "upsell-device"  # A's codes include `confirmed`, not `sale`; B's the other way round
SCRIPTS = Path(__file__).resolve().parents[2] / "examples" / "scripts"
_prefixes = itertools.count(1)


async def test_a_late_disposition_takes_the_codes_of_its_calls_campaign(client):
    camps = [CampaignSettings(id=A), CampaignSettings(id=B)]
    cfg = DialerSettings(campaigns=camps, http=HttpSettings(enabled=False), metrics=MetricsSettings(enabled=False),
                         shutdown_grace_s=0.0)
    engine = Engine(hold_s=1.5, rng=random.Random(3), screenpop=ScreenPopRenderer(load_scripts(SCRIPTS)))
    for cs in camps:
        engine.add_campaign(runtime_from_settings(cs))
    leads = {A: InMemoryLeadSource([]), B: InMemoryLeadSource([])}
    d = Daemon(cfg, clock=ScaledClock(1.0, start=T0), engine=engine, ami=FakeAmi(),  # type: ignore[arg-type]
               store=RedisStore(client, prefix=f"latecamp{next(_prefixes)}", timeout_s=2.0),
               bus=FakeBus(), leads=leads, metrics=Metrics())  # type: ignore[arg-type]
    stop, task = await stopping(d)
    try:
        await d.agents_restored.wait()
        d.agent_command(ac.Login("a1", "1001", A))
        d.agent_command(ac.Ready("a1"))
        cid = talk_and_hang_up(d, 1, campaign=A)
        now = d.clock.now() + 200
        d.execute(d.engine.tick(now), now)  # the wrap-up ran out: paused, the late disposition open
        assert d.engine.undisposed["a1"].call_id == cid
        d.agent_command(ac.Logout("a1"))
        d.agent_command(ac.Login("a1", "1001", B))
        assert "confirmed" in [c["code"] for c in d.sent_pop("a1", cid)["dispositions"]["codes"]]
        with pytest.raises(DispositionRejected, match="not a disposition"):
            d.agent_command(ac.Disposition("a1", cid, "sale", {}))  # B's code, not the call's campaign's
        assert d.engine.undisposed["a1"].call_id == cid  # refused before anything moved: still open
        d.agent_command(ac.Disposition("a1", cid, "confirmed", {}))
        async with asyncio.timeout(10):
            while d._pending:
                await asyncio.wait(set(d._pending))
    finally:
        stop.set()
        async with asyncio.timeout(10):
            await task
    assert "a1" not in d.engine.undisposed
    late = [m for m in leads[A].dispositions if m.amends]
    assert [(m.call_id, m.code, m.campaign_id) for m in late] == [(cid, "confirmed", A)]
    assert not leads[B].dispositions
