"""A do-not-call request is final by law: one given while Redis is away (an agent's DNC disposition, or a
key-press opt-out after a recorded message) is written again, with a backoff, until it reaches the
do-not-call lists; before, it was logged once and dropped, and the person could be dialed again. A daemon
that stops while Redis is still away says which request it leaves unwritten."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from bus_fakes import FakeBus
from daemon_fakes import FakeAmi, daemon_logs, ready_agent, stopping, talk_and_hang_up
from redis_blip import RedisBlip, redis_blip

from agents import commands as ac
from dialer.ami import events as ev
from dialer.clock import ScaledClock
from dialer.config import CampaignSettings, DialerSettings, HttpSettings, MetricsSettings
from dialer.daemon import Daemon, runtime_from_settings
from dialer.engine.commands import Originate, RecordOptOut
from dialer.engine.core import DialRequest, Engine
from dialer.hopper import LeadStore
from dialer.leadsource import InMemoryLeadSource
from dialer.metrics import Metrics
from dialer.store import RedisStore, connect_redis

T0 = 1_795_000_000.0
LIMIT = 10.0  # real seconds: only turns a hang into a failure


@asynccontextmanager
async def daemon_behind(redis_url: str, prefix: str) -> AsyncIterator[tuple[Daemon, RedisBlip]]:
    """A running daemon whose Redis can go away (`RedisBlip`), its start-up reads done."""
    async with redis_blip(redis_url) as blip:
        via = connect_redis(blip.url)
        cs = CampaignSettings(id="uk")
        cfg = DialerSettings(campaigns=[cs], http=HttpSettings(enabled=False),
                             metrics=MetricsSettings(enabled=False), shutdown_grace_s=0.0)
        engine = Engine(hold_s=1.5, rng=random.Random(3))
        engine.add_campaign(runtime_from_settings(cs))
        d = Daemon(cfg, clock=ScaledClock(1.0, start=T0), engine=engine, ami=FakeAmi(),  # type: ignore[arg-type]
                   store=RedisStore(via, prefix=prefix, timeout_s=0.5), bus=FakeBus(),  # type: ignore[arg-type]
                   leads={"uk": InMemoryLeadSource([])}, metrics=Metrics())
        d.store_retry_s, d.store_max_retry_s = 0.01, 0.05
        stop, task = await stopping(d)
        try:
            async with asyncio.timeout(LIMIT):
                await d.ledger_ready["uk"].wait()
                await d.agents_restored.wait()
            yield d, blip
        finally:
            stop.set()
            async with asyncio.timeout(LIMIT):
                await task
            await via.aclose()


async def written_once_back(d: Daemon, blip: RedisBlip, waiting: asyncio.Event) -> None:
    """Redis comes back once a DNC write failed; until every task of the daemon's is done."""
    async with asyncio.timeout(LIMIT):
        await waiting.wait()
    await blip.back()
    async with asyncio.timeout(LIMIT):
        await asyncio.wait(set(d._pending))


def retrying(r: logging.LogRecord) -> bool:
    return "do-not-call request" in r.getMessage() and "not written yet" in r.getMessage()


async def test_a_dnc_disposition_given_while_redis_is_away_reaches_the_lists_once_it_is_back(redis_url, client):
    async with daemon_behind(redis_url, "dncaway1") as (d, blip):
        ready_agent(d)
        cid = talk_and_hang_up(d, 1)
        number = d.engine.calls[cid].number
        await blip.away()
        with daemon_logs(retrying) as waiting:
            d.agent_command(ac.Disposition("a1", cid, "dnc", {"dnc": "1"}))
            await written_once_back(d, blip, waiting)
    assert await LeadStore(client, prefix="dncaway1").is_dnc(number, region="GB")
    entries = await client.xrange("dncaway1:dnc_requests")
    assert {(e["call_id"], e["source"], e["notes"]) for _id, e in entries} == {(cid, "agent-desk", "dnc disposition")}


async def test_a_key_press_opt_out_while_redis_is_away_reaches_the_lists_once_it_is_back(redis_url, client):
    async with daemon_behind(redis_url, "dncaway2") as (d, blip):
        now = d.clock.now()
        launched = d.engine.launch("uk", [DialRequest("L1", "+442075550101", fields={"subscriber_id": "S-9"})], now)
        [o] = [c for c in launched if isinstance(c, Originate)]
        await blip.away()
        with daemon_logs(retrying) as waiting:
            kw = {"channel": f"Local/x@dialer-outbound-{o.call_id};1", "uniqueid": o.call_id, "linkedid": o.call_id}
            d.execute(d.engine.on_ami(ev.OptOut(call_id=o.call_id, lead_id="L1", campaign_id="uk", **kw), now), now)
            await written_once_back(d, blip, waiting)
    assert await LeadStore(client, prefix="dncaway2").is_dnc("+442075550101", region="GB")
    entries = await client.xrange("dncaway2:dnc_requests")
    assert {(e["call_id"], e["source"], e["person"]) for _id, e in entries} == {
        (o.call_id, "key-press", "subscriber:S-9")}


async def test_a_request_still_unwritten_when_the_daemon_stops_is_named_in_the_log(client, caplog):
    dead = connect_redis("redis://127.0.0.1:1/0")  # nothing listens there: Redis away for good
    try:
        d = Daemon(DialerSettings(campaigns=[CampaignSettings(id="uk")], http=HttpSettings(enabled=False),
                                  metrics=MetricsSettings(enabled=False)),
                   clock=ScaledClock(1.0, start=T0), engine=Engine(), ami=FakeAmi(),  # type: ignore[arg-type]
                   store=RedisStore(dead, prefix="dncaway3"), bus=FakeBus(),  # type: ignore[arg-type]
                   leads={}, metrics=Metrics())
        d.store_retry_s, d.store_max_retry_s = 0.0, 0.0
        with daemon_logs(retrying) as waiting:
            task = asyncio.create_task(d._opt_out(RecordOptOut("uk-1-x", "uk", "L7", "+442075550107", {})))
            async with asyncio.timeout(LIMIT):
                await waiting.wait()
        task.cancel()  # the daemon's task group, at the stop
        await asyncio.gather(task, return_exceptions=True)
    finally:
        await dead.aclose()
    assert task.cancelled()
    [error] = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert "do-not-call request of call uk-1-x (lead L7 of campaign uk) not applied" in error.getMessage()
    assert "by hand" in error.getMessage()
