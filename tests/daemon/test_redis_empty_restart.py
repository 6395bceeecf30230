"""A Redis that restarts empty (no persistence) or is flushed while the daemon runs: the daemon finds its
data-epoch marker gone, holds every campaign and says why in each decision, writes the compliance ledger it
holds in memory back (the abandons and the US period start survive, for this run and the next start), sets
`dialer_state_store_data_lost`, and keeps the hold, across a restart too, until a supervisor acknowledges.
A normal run and a normal restart never trip it. Before, nothing noticed, and the next start read back only
what was written after the flush."""

from __future__ import annotations

import asyncio
import itertools
import logging
from typing import Any

from bus_fakes import FakeBus
from daemon_fakes import FakeAmi, daemon_logs, ready_agent, running

from agents import commands as ac
from dialer.ami import events as ev
from dialer.clock import ScaledClock
from dialer.config import CampaignSettings, DialerSettings, HttpSettings, MetricsSettings, PacingSettings
from dialer.daemon import STORE_LOST_HOLD, Daemon, runtime_from_settings
from dialer.engine.commands import Originate
from dialer.engine.core import DialRequest, Engine
from dialer.leadsource import InMemoryLeadSource
from dialer.ledger_store import LedgerStore, parse_ledger
from dialer.metrics import Metrics
from dialer.overrides import RunState
from dialer.store import RedisStore, connect_redis
from pacing import Jurisdiction, Mode, Reason

T0 = 1_795_000_000.0
LIMIT = 10.0  # real seconds: only turns a hang into a failure
_prefixes = itertools.count(1)


def make_daemon(client: Any, prefix: str) -> Daemon:
    cs = CampaignSettings(id="us", pacing=PacingSettings(mode=Mode.PREDICTIVE, jurisdiction=Jurisdiction.US))
    cfg = DialerSettings(campaigns=[cs], http=HttpSettings(enabled=False), metrics=MetricsSettings(enabled=False),
                         shutdown_grace_s=0.0)
    engine = Engine(hold_s=1.5)
    engine.add_campaign(runtime_from_settings(cs))
    d = Daemon(cfg, clock=ScaledClock(0.001, start=T0 + 4 * 3600), engine=engine, ami=FakeAmi(),  # type: ignore[arg-type]
               store=RedisStore(client, prefix=prefix), bus=FakeBus(),  # type: ignore[arg-type]
               leads={"us": InMemoryLeadSource([])}, metrics=Metrics())
    d.epoch_check_s = 3600.0  # the tests look at the marker themselves (or wake the watcher)
    return d


def live_call(d: Daemon, n: int, t: float, *, abandoned: bool) -> None:
    """One live answer: connected to agent a1, or abandoned (a1 paused meanwhile)."""
    eng = d.engine
    [o] = [c for c in eng.launch("us", [DialRequest(f"L{n}", f"+1212555{n:04d}")], t) if isinstance(c, Originate)]
    kw = {"channel": f"Local/{n}@dialer-outbound-{n:08x};1", "uniqueid": o.call_id, "linkedid": o.call_id}
    d.execute(eng.on_ami(ev.Newchannel(state=ev.ChannelState.DOWN, **kw), t), t)
    d.execute(eng.on_ami(ev.Newstate(state=ev.ChannelState.UP, **kw), t + 8), t + 8)
    if abandoned:
        d.agent_command(ac.Pause("a1", "test"))
    d.execute(eng.on_ami(ev.AmdResult(call_id=o.call_id, status=ev.AmdStatus.HUMAN, **kw), t + 9.5), t + 9.5)
    if abandoned:
        d.execute(eng.tick(t + 11.5), t + 11.5)
        d.execute(eng.on_ami(ev.Hangup(cause=16, **kw), t + 20), t + 20)
        d.agent_command(ac.Ready("a1"))
        return
    d.execute(eng.on_ami(ev.BridgeEnter(bridge_uniqueid=f"b{n}", **kw), t + 9.7), t + 9.7)
    d.execute(eng.on_ami(ev.Hangup(cause=16, **kw), t + 60), t + 60)
    d.agent_command(ac.Disposition("a1", o.call_id, "sale", {}, ()))


def lost_gauge(d: Daemon) -> float | None:
    return d.metrics.registry.get_sample_value("dialer_state_store_data_lost")


async def stored_ledger(client: Any, prefix: str, now: float) -> Any:
    ls = LedgerStore(RedisStore(client, prefix=prefix))
    pending = ls.read("us", now)
    await ls.store.flush()
    return parse_ledger("us", *(await pending), now).ledger


async def test_a_flush_holds_dialing_says_why_rewrites_the_ledger_and_holds_until_acknowledged(redis_url):
    client = connect_redis(redis_url)
    prefix = f"empty{next(_prefixes)}"
    try:
        async with running(make_daemon(client, prefix)) as d1:
            await d1.ledger_ready["us"].wait()
            await d1.store_epoch_ready.wait()
            ready_agent(d1, campaign="us")
            for n in range(40):  # the first part of the shift: 40 live answers, 3 abandoned
                live_call(d1, n, T0 + 60.0 * n, abandoned=n in (5, 17, 30))
            d1.set_run_state("us", RunState.PAUSED)
            d1.remember_run_state("us", by="sup")  # a supervisor's pause, so far in memory only: written back too
            await d1.store.flush()
            now = d1.clock.now()
            before = await stored_ledger(client, prefix, now)
            assert (before.total_lives, before.total_abandons, before.period_start) == (40, 3, T0 + 9.7)
            assert lost_gauge(d1) == 0.0
            assert await d1.check_store_epoch()
            first = d1.store_epoch
            assert first is not None

            await client.flushall()  # = redis-server restarted with nothing on disk
            live_call(d1, 40, T0 + 3000.0, abandoned=False)  # lands in the empty Redis: a period start of its own
            await d1.store.flush()

            assert not await d1.check_store_epoch()
            assert d1.store_loss is not None
            assert d1.store_loss.found == "nothing"
            assert lost_gauge(d1) == 1.0
            await d1._pace_once("us", d1.leads["us"])
            decision = d1.engine.campaigns["us"].pacer.decisions[-1]
            assert (decision.launch, decision.reason) == (0, Reason.STATE_STORE_LOST)
            assert STORE_LOST_HOLD in decision.detail
            assert d1._offer_held("us") == STORE_LOST_HOLD  # previews and the leads of a take are held too

            await d1.store.flush()
            after = await stored_ledger(client, prefix, now)
            assert (after.total_lives, after.total_abandons, after.period_start) == (41, 3, T0 + 9.7)
            assert await client.hget(f"{prefix}:overrides", "us") is not None
            assert await d1.check_store_epoch()  # the new marker is in: no second loss

        # the next start reads back the ledger of before the flush, and still holds until acknowledged
        d2 = make_daemon(client, prefix)
        async with running(d2):
            await d2.ledger_ready["us"].wait()
            await d2.store_epoch_ready.wait()
            status = d2.engine.campaigns["us"].pacer.ledger.status(now)
            assert (status.lives, status.abandons, status.window_start) == (41, 3, T0 + 9.7)
            assert d2.store_loss is not None
            assert lost_gauge(d2) == 1.0
            await d2.overrides_ready.wait()
            assert d2.run_state("us") is RunState.PAUSED  # the supervisor's pause came back
            await d2._pace_once("us", d2.leads["us"])
            assert d2.engine.campaigns["us"].pacer.decisions[-1].reason is Reason.STATE_STORE_LOST

            acknowledged = await d2.acknowledge_store_loss("sup")
            assert acknowledged is not None
            assert acknowledged.previous == first.id
            assert d2.store_loss is None
            assert lost_gauge(d2) == 0.0
            assert await d2.store.read_loss() is None
            await d2._pace_once("us", d2.leads["us"])
            assert d2.engine.campaigns["us"].pacer.decisions[-1].reason is not Reason.STATE_STORE_LOST
            assert await d2.acknowledge_store_loss("sup") is None  # nothing left to acknowledge
    finally:
        await client.aclose()


async def test_the_watcher_looks_again_after_the_outbox_reconnects(redis_url):
    client = connect_redis(redis_url)
    prefix = f"empty{next(_prefixes)}"
    try:
        with daemon_logs(lambda r: r.levelno == logging.ERROR and "Redis lost the dialer's data" in r.getMessage()) \
                as said:
            async with running(make_daemon(client, prefix)) as d:
                await d.store_epoch_ready.wait()
                await client.delete(f"{prefix}:epoch")
                d.store.reconnected.set()  # as `run_outbox` does when a write goes through after a failure
                async with asyncio.timeout(LIMIT):
                    await said.wait()
                assert d.store_loss is not None
                assert lost_gauge(d) == 1.0
    finally:
        await client.aclose()


async def test_a_normal_run_and_restart_never_trip_it(redis_url):
    client = connect_redis(redis_url)
    prefix = f"empty{next(_prefixes)}"
    try:
        async with running(make_daemon(client, prefix)) as d1:
            await d1.store_epoch_ready.wait()
            first = d1.store_epoch
            for _ in range(3):
                assert await d1.check_store_epoch()
        d2 = make_daemon(client, prefix)
        async with running(d2):
            await d2.store_epoch_ready.wait()
            assert d2.store_epoch == first  # adopted, not made again
            assert await d2.check_store_epoch()
            assert d2.store_loss is None
            assert lost_gauge(d2) == 0.0
            await d2.ledger_ready["us"].wait()
            await d2._pace_once("us", d2.leads["us"])
            assert d2.engine.campaigns["us"].pacer.decisions[-1].reason is not Reason.STATE_STORE_LOST
    finally:
        await client.aclose()
