"""The ledger across restarts: export / restore, the hold while the history is unknown, and the property that
a restarted pacer never lets the UK 24 h or the US period rate cross the cap."""

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_ledger_property import CAP, EVENTS, HORIZON, WAITS, Adversary, Log, _greedy, check

from pacing import CampaignSnapshot, Pacer, PacingKnobs
from pacing.ledger import (
    LEDGER_SNAPSHOT_VERSION,
    US_PERIOD_S,
    ComplianceLedger,
    LedgerBucket,
    LedgerEntry,
    LedgerEntryKind,
    LedgerSnapshot,
    ledger_entry,
)
from pacing.types import (
    AbandonCount,
    ContactClassified,
    DialObserved,
    Jurisdiction,
    LiveAnswerObserved,
    Mode,
    TalkObserved,
)

DAY = 86400.0


def _feed(led: ComplianceLedger, rng: np.random.Generator, t0: float, t1: float, n: int) -> None:
    for t in np.sort(rng.uniform(t0, t1, n)):
        if rng.random() < 0.5:
            led.observe(DialObserved(at=float(t), outcome="live", ring_s=8.0, amd_delay_s=1.2))
        abandoned = bool(rng.random() < 0.02)
        led.observe(LiveAnswerObserved(at=float(t), abandoned=abandoned, wait_s=0.3))
        if not abandoned and rng.random() < 0.7:  # the agent's disposition, a few minutes later
            led.observe(ContactClassified(at=float(t) + 200.0, connected_at=float(t), person=rng.random() < 0.6))


def _same_status(a: ComplianceLedger, b: ComplianceLedger, now: float) -> None:
    for jur, count in ((j, c) for j in Jurisdiction for c in AbandonCount):
        a.configure(jur, 0.03, 0.01, count)
        b.configure(jur, 0.03, 0.01, count)
        for t in (now, now + 3600.0, now + 20 * 3600.0):
            sa, sb = a.status(t), b.status(t)
            assert (sb.lives, sb.abandons, sb.false_positives, sb.rate) == (sa.lives, sa.abandons, sa.false_positives,
                                                                            sa.rate)
            assert sb.budget == pytest.approx(sa.budget)


def test_ledger_entries_are_what_the_ledger_counts():
    assert ledger_entry(LiveAnswerObserved(at=5.0, abandoned=True, wait_s=2.1)) == LedgerEntry(
        5.0, LedgerEntryKind.ABANDONED)
    assert ledger_entry(DialObserved(at=6.0, outcome="live", ring_s=3.0, amd_delay_s=1.0)).kind is \
        LedgerEntryKind.SCREENED
    assert ledger_entry(DialObserved(at=6.0, outcome="machine", ring_s=3.0, amd_delay_s=3.0, amd_machine=True)).kind \
        is LedgerEntryKind.AMD
    assert ledger_entry(DialObserved(at=6.0, outcome="live", ring_s=3.0)) is None  # AMD off: nothing screened
    assert ledger_entry(TalkObserved(at=7.0, talk_s=100.0)) is None
    # a person an agent dispositioned counts at the minute of the answer; a machine is no entry at all
    assert ledger_entry(ContactClassified(at=300.0, connected_at=8.0, person=True)) == LedgerEntry(
        8.0, LedgerEntryKind.PERSON)
    assert ledger_entry(ContactClassified(at=300.0, connected_at=8.0, person=False)) is None


def test_export_then_restore_gives_the_same_windows_and_budgets():
    rng = np.random.default_rng(7)
    a = ComplianceLedger(Jurisdiction.UK, 0.03, amd_false_positive=0.01)
    _feed(a, rng, 1_000.0, 1_000.0 + 3 * DAY, 6000)
    now = 1_000.0 + 3 * DAY + 5.0
    snap = a.export(now)
    assert snap.version == LEDGER_SNAPSHOT_VERSION
    assert snap.amd_in_use
    assert len(snap.buckets) <= 25 * 60 + 10  # only the UK window and its look-ahead are kept per minute
    b = ComplianceLedger(Jurisdiction.UK, 0.03, amd_false_positive=0.01)
    b.restore(snap, now=now)
    assert (b.total_lives, b.total_abandons, b.period_start) == (a.total_lives, a.total_abandons, a.period_start)
    _same_status(a, b, now)


def test_restore_keeps_what_was_recorded_after_the_history_was_read():
    """The daemon reads the history behind every write already queued: events recorded before the read are in the
    history (`already_counted`), later ones only in the ledger itself."""
    truth = ComplianceLedger(Jurisdiction.US, 0.03)  # every event, as an uninterrupted ledger would hold it
    redis = ComplianceLedger(Jurisdiction.US, 0.03)  # what Redis holds: every event written
    _feed(truth, np.random.default_rng(11), 0.0, 2 * DAY, 3000)
    _feed(redis, np.random.default_rng(11), 0.0, 2 * DAY, 3000)
    fresh = ComplianceLedger(Jurisdiction.US, 0.03)  # the restarted daemon's
    fresh.hold("history not read yet")
    for led in (truth, redis, fresh):  # before the read: recorded locally and written
        _feed(led, np.random.default_rng(12), 2 * DAY + 10, 2 * DAY + 600, 40)
    already = fresh.export(2 * DAY + 601)
    history = redis.export(2 * DAY + 601)
    for led in (truth, fresh):  # after the read was queued: not in the history
        _feed(led, np.random.default_rng(13), 2 * DAY + 602, 2 * DAY + 900, 30)
    assert fresh.period_start != truth.period_start  # the restarted ledger started its own period meanwhile
    fresh.restore(history, now=2 * DAY + 901, already_counted=already)
    fresh.release()
    assert fresh.period_start == truth.period_start
    assert (fresh.total_lives, fresh.total_abandons) == (truth.total_lives, truth.total_abandons)
    _same_status(truth, fresh, 2 * DAY + 901)


def test_a_held_ledger_offers_no_budget_and_says_why():
    led = ComplianceLedger(Jurisdiction.US, 0.03, period_start=0.0)
    for i in range(1000):
        led.observe(LiveAnswerObserved(at=float(i), abandoned=False, wait_s=0.0))
    assert led.budget(2000.0) > 20
    led.hold("compliance ledger not read from Redis yet")
    st_ = led.status(2000.0)
    assert (st_.budget, st_.held) == (0.0, "compliance ledger not read from Redis yet")
    led.release()
    assert led.budget(2000.0) > 20
    with pytest.raises(ValueError, match="reason"):
        led.hold("")


def test_a_held_predictive_pacer_dials_progressively(monkeypatch):
    _greedy(monkeypatch)
    p = Pacer(PacingKnobs(mode=Mode.PREDICTIVE), min_dials=0, min_lives=0, min_talks=0)
    for i in range(2000):
        p.observe(LiveAnswerObserved(at=float(i), abandoned=False, wait_s=0.0))
    snap = CampaignSnapshot(now=3000.0, ready_agents=3, logged_in_agents=10, talking_elapsed=np.full(7, 30.0))
    assert p.decide(snap).launch > 3
    p.ledger.hold("not read")
    assert p.decide(snap).launch == 3  # one per ready agent: no exposure


@pytest.mark.parametrize(
    "bad",
    [
        {"version": 2},
        {"bucket_s": 30.0},
        {"periods": ((0, 10.0, 1.0, 5.0),)},  # totals without a period start
        {"buckets": (LedgerBucket(5, 1.0), LedgerBucket(5, 2.0))},
    ],
)
def test_a_snapshot_that_does_not_fit_is_refused(bad):
    with pytest.raises(ValueError):
        LedgerSnapshot(taken_at=0.0, **bad)
    with pytest.raises(ValueError, match="abandons <= lives"):
        LedgerBucket(3, lives=1.0, abandons=2.0)


def test_a_fresh_ledger_after_a_restart_would_break_the_cap_and_a_restored_one_does_not(monkeypatch):
    """The evening's abandons stay in the UK window after a restart while the morning's live answers that paid for
    them leave it: a ledger that forgot the abandons spends a budget that is not there."""
    _greedy(monkeypatch)
    knobs = PacingKnobs(mode=Mode.PREDICTIVE, jurisdiction=Jurisdiction.UK, amd_false_positive=0.0)

    def pacer() -> Pacer:
        return Pacer(knobs, min_dials=0, min_lives=0, min_talks=0)

    before = pacer()
    for i in range(1000):  # the morning: 1000 live answers
        before.observe(LiveAnswerObserved(at=float(i), abandoned=False, wait_s=0.0))
    for i in range(30):  # the evening: 30 abandons, within the budget the morning earned
        before.observe(LiveAnswerObserved(at=80_000.0 + i, abandoned=True, wait_s=2.5))
    restart = 80_100.0
    now = 84_000.0  # the morning's answers leave the window within the hour
    forgetful, restored = pacer(), pacer()
    restored.ledger.restore(before.ledger.export(restart), now=restart)
    for p in (forgetful, restored):
        for i in range(100):
            p.observe(LiveAnswerObserved(at=83_000.0 + i, abandoned=False, wait_s=0.0))
    snap = CampaignSnapshot(now=now, ready_agents=0, logged_in_agents=10, talking_elapsed=np.full(10, 30.0))
    assert forgetful.decide(snap).launch >= 3  # 3 % of 100 fresh answers: abandons it cannot afford
    assert restored.decide(snap).launch == 0
    assert restored.ledger.budget(now) < 0
    assert restored.ledger.status(now).rate == pytest.approx(30 / 1130)


_events = st.lists(
    st.one_of(
        *EVENTS,
        st.tuples(st.just("restart"), st.integers(0, 0)),
        st.tuples(st.just("read"), st.integers(0, 0)),
        st.tuples(st.just("wait"), st.sampled_from([*WAITS, 31 * DAY])),
    ),
    min_size=20,
    max_size=250,
)


@settings(max_examples=60, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(evs=_events, uk=st.booleans(), fp=st.sampled_from([0.0, 0.01]), agents=st.integers(1, 6),
       history=st.integers(0, 400))
def test_restarts_never_let_the_campaign_cross_the_cap(monkeypatch, evs, uk, fp, agents, history):
    """An adversary picks every outcome and when the daemon restarts; the pacer's model always asks for the maximum.
    A restart drops the dials in flight and abandons the people waiting (what shutdown does); the new pacer's
    ledger is held until the history is read (`read`), which merges Redis (every entry written so far) with
    what the new ledger recorded since. At every abandon, every window stays within the cap."""
    _greedy(monkeypatch)
    jur = Jurisdiction.UK if uk else Jurisdiction.US
    knobs = PacingKnobs(mode=Mode.PREDICTIVE, jurisdiction=jur, amd_false_positive=fp, max_calls_per_agent=10.0)

    def new_pacer() -> Pacer:
        return Pacer(knobs, min_dials=0, min_lives=0, min_talks=0)

    p = new_pacer()
    redis = ComplianceLedger(jur, CAP, amd_false_positive=fp)  # the durable copy: every entry, in order

    def observe(obs) -> None:
        p.observe(obs)
        entry = ledger_entry(obs)
        if entry is not None:
            redis.apply(entry)

    adv = Adversary(observe, agents, fp, history)
    for kind, arg in evs:
        if kind == "restart":
            adv.flight.clear()
            adv.abandon_all_waiting()
            p = new_pacer()
            p.ledger.hold("not read yet")
        elif kind == "read":
            if p.ledger.held:
                p.ledger.restore(redis.export(adv.now), now=adv.now, already_counted=p.ledger.export(adv.now))
                p.ledger.release()
        else:
            adv.step(kind, arg, p.decide)
        adv.now += 0.1
    check(adv.log, jur, fp, period_start=redis.period_start or 0.0)
    assert math.isfinite(adv.now)


def test_a_period_boundary_during_the_outage_charges_the_abandons_to_the_new_period():
    history = ComplianceLedger(Jurisdiction.US, 0.03)
    for i in range(100):
        history.observe(LiveAnswerObserved(at=float(i), abandoned=False, wait_s=0.0))
    fresh = ComplianceLedger(Jurisdiction.US, 0.03)
    t = US_PERIOD_S - 50.0
    for i in range(5):  # straddling the end of the history's first period: 2 lives before, 3 after (1 abandoned)
        fresh.observe(LiveAnswerObserved(at=t + 30.0 * i, abandoned=i == 4, wait_s=0.0))
    fresh.restore(history.export(US_PERIOD_S + 100.0), now=US_PERIOD_S + 100.0)
    st_ = fresh.status(US_PERIOD_S + 100.0)
    assert (st_.lives, st_.abandons) == (0.0, 1.0)  # lives to the earlier period, the abandon to the current one
    assert st_.budget < 0


def _restart_scenario(*, uk: bool, morning: int, gap_h: float, after_h: float, per_10min: int,
                      restore: bool) -> tuple[Log, float]:
    """A day shaped to make forgetting dangerous: a morning of live answers earns a budget, the adversary spends it
    on abandons late in the window (UK) or late in the 30-day period (US), the daemon restarts, and after every
    10 minutes of new live answers the adversary spends whatever budget the (restored or fresh) ledger offers."""
    jur = Jurisdiction.UK if uk else Jurisdiction.US
    log = Log()

    def ledger() -> ComplianceLedger:
        return ComplianceLedger(jur, CAP, amd_false_positive=0.0, horizon_s=HORIZON, expiry_lookahead_s=3600.0)

    led = ledger()

    def live(t: float, abandoned: bool) -> None:
        led.observe(LiveAnswerObserved(at=t, abandoned=abandoned, wait_s=2.5 if abandoned else 0.0))
        log.lives.append((t, abandoned))

    def spend(t: float) -> None:
        for _ in range(max(0, math.floor(led.budget(t) + 1e-9))):
            live(t, True)

    for i in range(morning):
        live(3600.0 * i / morning, False)
    t = gap_h * 3600.0 if uk else US_PERIOD_S - gap_h * 3600.0
    spend(t)
    t += 60.0
    before = led.export(t)
    led = ledger()
    if restore:
        led.restore(before, now=t)
    end = t + after_h * 3600.0
    while t < end:
        for i in range(per_10min):
            live(t + 600.0 * i / max(per_10min, 1), False)
        t += 600.0
        spend(t)
    return log, 0.0


@settings(max_examples=40, deadline=None, derandomize=True)
@given(uk=st.booleans(), morning=st.integers(100, 3000), gap_h=st.floats(1.0, 23.5), after_h=st.floats(0.5, 30.0),
       per_10min=st.integers(0, 60))
def test_a_restored_ledger_keeps_every_window_within_the_cap_after_a_restart(uk, morning, gap_h, after_h, per_10min):
    log, start = _restart_scenario(uk=uk, morning=morning, gap_h=gap_h, after_h=after_h, per_10min=per_10min,
                                   restore=True)
    check(log, Jurisdiction.UK if uk else Jurisdiction.US, 0.0, start)


@pytest.mark.parametrize(("uk", "gap_h"), [(True, 20.0), (False, 2.0)])
def test_the_same_scenario_with_a_fresh_ledger_crosses_the_cap(uk, gap_h):
    """What the property above guards against: without the restore, the windows break (UK: the evening's abandons
    outlive the morning's answers; US: the fresh ledger's own period runs on past the campaign's)."""
    log, start = _restart_scenario(uk=uk, morning=1000, gap_h=gap_h, after_h=6.0, per_10min=20, restore=False)
    with pytest.raises(AssertionError, match="over the cap"):
        check(log, Jurisdiction.UK if uk else Jurisdiction.US, 0.0, start)
