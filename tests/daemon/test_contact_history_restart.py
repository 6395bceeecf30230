"""The screen-pop's "earlier contacts" outlive a daemon restart: the daemon reloads them from Redis
(`ContactHistory.warm`) before it logs agents back in or hands out a call, keyed as the live path keys them
(by number and by the lead's `subscriber_id`), and a store it cannot read does not stop the start."""

from __future__ import annotations

import logging
import random
from typing import Any

import pytest
from bus_fakes import FakeBus
from daemon_fakes import FakeAmi, daemon_logs, ready_agent, running

from agents import commands as ac
from agents.screenpop import ScreenPopRenderer
from agents.state import AgentState
from dialer.ami import events as ev
from dialer.clock import ScaledClock
from dialer.config import CampaignSettings, DialerSettings, HttpSettings, MetricsSettings, PacingSettings
from dialer.daemon import Daemon, runtime_from_settings
from dialer.engine.commands import Originate
from dialer.engine.core import DialRequest, Engine
from dialer.leadsource import InMemoryLeadSource
from dialer.metrics import Metrics
from dialer.store import RedisStore

START = 1_700_000_000.0


def daemon(client: Any, prefix: str, start: float = START) -> Daemon:
    cs = CampaignSettings(id="uk", pacing=PacingSettings(mode="progressive"))
    cfg = DialerSettings(campaigns=[cs], http=HttpSettings(enabled=False), metrics=MetricsSettings(enabled=False),
                         shutdown_grace_s=0.0)
    engine = Engine(hold_s=1.5, screenpop=ScreenPopRenderer(), rng=random.Random(1))
    engine.add_campaign(runtime_from_settings(cs))
    return Daemon(cfg, clock=ScaledClock(1.0, start=start), engine=engine, ami=FakeAmi(),  # type: ignore[arg-type]
                  store=RedisStore(client, prefix=prefix), bus=FakeBus(),  # type: ignore[arg-type]
                  leads={"uk": InMemoryLeadSource()}, metrics=Metrics())


def take_call(d: Daemon, n: int, number: str, fields: dict[str, str]) -> tuple[str, dict[str, Any]]:
    """Agent a1 takes a call to `number` (the lead's `fields`) and the customer hangs up: the call's id and the
    screen-pop a1 was sent."""
    t = d.clock.now()
    eng = d.engine
    launched = eng.launch("uk", [DialRequest(f"L{n}", number, fields=fields)], t)
    [o] = [c for c in launched if isinstance(c, Originate)]
    kw = {"channel": f"Local/{n}@dialer-outbound-{n:08x};1", "uniqueid": o.call_id, "linkedid": o.call_id}
    for event in (ev.Newchannel(state=ev.ChannelState.DOWN, **kw), ev.Newstate(state=ev.ChannelState.UP, **kw),
                  ev.AmdResult(call_id=o.call_id, status=ev.AmdStatus.HUMAN, **kw),
                  ev.BridgeEnter(bridge_uniqueid=f"b{n}", **kw), ev.Hangup(cause=16, **kw)):
        d.execute(eng.on_ami(event, t), t)
    assert eng.roster.get("a1").state is AgentState.WRAPUP
    pop = d.feed.last_pop("a1", o.call_id)
    assert pop is not None
    return o.call_id, pop


async def refused_before_restart(client: Any, prefix: str) -> str:
    """A first daemon: subscriber S7 on +442075500007 refuses, the agent disposes it; the daemon stops."""
    first = daemon(client, prefix)
    async with running(first):
        ready_agent(first)
        cid, pop = take_call(first, 7, "+442075500007", {"subscriber_id": "S7"})
        assert pop["history"] == []
        first.agent_command(ac.Disposition("a1", cid, "refused", {"reason": "too_expensive",
                                                                   "notes": "call in spring"}))
    await first.store.flush()
    return cid


async def test_a_restarted_daemon_shows_the_earlier_contact_of_the_same_number(client):
    cid = await refused_before_restart(client, "hist-number")
    again = daemon(client, "hist-number", start=START + 3600)
    async with running(again):
        ready_agent(again)
        _, pop = take_call(again, 8, "+442075500007", {})
    [earlier] = pop["history"]
    assert earlier.pop("at") == pytest.approx(START, abs=60.0)  # when it connected, on the first daemon's clock
    assert earlier == {"call_id": cid, "campaign_id": "uk", "agent_id": "a1", "disposition": "refused",
                       "reason": "too_expensive", "notes": "call in spring"}


async def test_a_restarted_daemon_follows_the_subscriber_to_another_number(client):
    # the live path files a contact under the number and the lead's subscriber_id: so does the reload
    cid = await refused_before_restart(client, "hist-subscriber")
    again = daemon(client, "hist-subscriber", start=START + 3600)
    async with running(again):
        ready_agent(again)
        _, pop = take_call(again, 9, "+447700900123", {"subscriber_id": "S7"})
    assert [(c["call_id"], c["disposition"]) for c in pop["history"]] == [(cid, "refused")]


async def test_a_disposition_stream_redis_cannot_read_leaves_the_history_empty_and_the_daemon_starts(client):
    await client.set("hist-broken:dispositions", "not a stream")
    d = daemon(client, "hist-broken")
    with daemon_logs(lambda r: r.levelno == logging.WARNING and "earlier contacts" in r.getMessage(),
                     logger_name="agents.screenpop") as warned:
        async with running(d):
            await d.agents_restored.wait()
            ready_agent(d)
            _, pop = take_call(d, 10, "+442075500010", {})
    assert warned.is_set()
    assert pop["history"] == []


@pytest.mark.parametrize("row", [
    {"disposition": "sale"},  # no call id
    {"call_id": "c-bad-json", "disposition": "sale", "disposition_fields": "{not json"},
    {"call_id": "c-list", "disposition": "sale", "disposition_fields": "[1, 2]"},
])
async def test_a_disposition_row_it_cannot_read_is_passed_over(client, row):
    prefix = f"hist-row-{row.get('call_id', 'none')}"
    await client.hset(f"{prefix}:call:good", mapping={"number": "+442075500011", "campaign_id": "uk",
                                                       "connected_at": str(START)})
    await client.xadd(f"{prefix}:dispositions", {"call_id": "good", "agent_id": "a1", "disposition": "sale",
                                                  "disposition_fields": "{}", "disposed_at": str(START + 60)})
    if "call_id" in row:
        await client.hset(f"{prefix}:call:{row['call_id']}", mapping={"number": "+442075500011",
                                                                       "campaign_id": "uk"})
    await client.xadd(f"{prefix}:dispositions", row)
    renderer = ScreenPopRenderer()
    learnt = await renderer.history.warm(RedisStore(client, prefix=prefix))
    assert learnt == 1
    assert [c.call_id for c in renderer.history.recent(("n:+442075500011",))] == ["good"]
