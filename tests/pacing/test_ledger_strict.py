"""The ledger's strict count: every abandon a person, and only the connected answers agents dispositioned as
persons in the denominator (see `pacing.types.AbandonCount`)."""

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_ledger_property import CAP, EVENTS, HORIZON, LOOKAHEAD, WAITS, Adversary, _greedy

from pacing import Pacer, PacingKnobs
from pacing.ledger import UK_WINDOW_S, ComplianceLedger
from pacing.sim import simulate, telecom_upsell
from pacing.types import AbandonCount, ContactClassified, Jurisdiction, LiveAnswerObserved, Mode

DAY = 86400.0


def _campaign(led, t0: float, n: int, abandons: int, persons: int, dt: float = 1.0, confirm_after: float = 200.0):
    """n live answers from t0: the first `abandons` abandoned, then `persons` connected persons, then machines."""
    for i in range(n):
        t = t0 + i * dt
        led.observe(LiveAnswerObserved(at=t, abandoned=i < abandons, wait_s=0.0))
        if i >= abandons:
            led.observe(ContactClassified(at=t + confirm_after, connected_at=t, person=i < abandons + persons))


@pytest.mark.parametrize("jur", list(Jurisdiction))
def test_strict_counts_every_abandon_as_a_person_and_machines_out(jur):
    led = ComplianceLedger(jur, 0.03, amd_false_positive=0.0, period_start=0.0, expiry_lookahead_s=0.0,
                           horizon_s=0.0)
    _campaign(led, 0.0, 1000, abandons=10, persons=300)
    now = 3000.0
    est = led.status(now)
    assert (est.count, est.lives, est.rate) == (AbandonCount.ESTIMATE, 1000.0, pytest.approx(0.01))
    led.configure(jur, 0.03, 0.0, AbandonCount.STRICT)  # takes effect at once: both counts are kept
    strict = led.status(now)
    assert (strict.count, strict.lives, strict.abandons) == (AbandonCount.STRICT, 310.0, 10.0)
    assert strict.rate == pytest.approx(10 / 310)
    # 10 abandons already break 3 % of 310: no budget, however many machines agents heard
    assert strict.budget < 0 < est.budget
    assert strict.budget == pytest.approx((0.03 * 310 - 10) / 0.97)


def test_persons_count_in_the_windows_of_their_answer_not_of_their_disposition():
    led = ComplianceLedger(Jurisdiction.UK, 0.03, amd_false_positive=0.0, abandon_count=AbandonCount.STRICT,
                           expiry_lookahead_s=0.0, horizon_s=0.0)
    for i in range(100):
        led.observe(LiveAnswerObserved(at=float(i), abandoned=False, wait_s=0.0))
    assert led.status(600.0).lives == 0.0  # answered, not dispositioned yet: not relied on
    for i in range(100):  # dispositioned near the end of the day
        led.observe(ContactClassified(at=20 * 3600.0 + i, connected_at=float(i), person=True))
    assert led.status(21 * 3600.0).lives == 100.0
    assert led.status(UK_WINDOW_S + 200.0).lives == 0.0  # the answers have left the window


def test_a_minute_never_counts_more_persons_than_its_connected_answers():
    led = ComplianceLedger(Jurisdiction.US, 0.03, period_start=0.0, abandon_count=AbandonCount.STRICT)
    led.observe(LiveAnswerObserved(at=10.0, abandoned=True, wait_s=2.5))
    for _ in range(5):  # say a disposition arrived twice: the strict count stays at what can be true
        led.observe(ContactClassified(at=300.0, connected_at=10.0, person=True))
    st_ = led.status(400.0)
    assert (st_.lives, st_.abandons) == (1.0, 1.0)
    led.configure(Jurisdiction.UK, 0.03, 0.0, AbandonCount.STRICT)
    assert led.status(400.0).lives == 1.0


def test_a_disposition_older_than_the_ring_does_not_wipe_newer_minutes():
    led = ComplianceLedger(Jurisdiction.UK, 0.03, amd_false_positive=0.0, abandon_count=AbandonCount.STRICT)
    _campaign(led, 2 * DAY, 50, abandons=0, persons=50, confirm_after=1.0)
    before = led.status(2 * DAY + 120.0).lives
    # a call answered two days ago, dispositioned now: its minute shares a slot with today's
    for k in range(3):
        led.observe(ContactClassified(at=2 * DAY + 60.0, connected_at=2 * DAY + k * 1.0 - UK_WINDOW_S - 3700.0,
                                      person=True))
    assert led.status(2 * DAY + 120.0).lives == before == 50.0


def test_the_pacer_aims_at_the_strict_rate_through_the_share_of_persons():
    knobs = PacingKnobs(mode=Mode.PREDICTIVE, target_abandon=0.025)
    est, strict = Pacer(knobs), Pacer(PacingKnobs(mode=Mode.PREDICTIVE, target_abandon=0.025,
                                                  abandon_count=AbandonCount.STRICT))
    for p in (est, strict):
        for i in range(4000):  # a quarter of the connected answers are people
            p.observe(ContactClassified(at=float(i), connected_at=float(i) - 100.0, person=i % 4 == 0))
        p._last_now = 4000.0
    a = 0.025 * 0.9
    assert est.aim() == pytest.approx(a)
    s = strict.person_share
    assert s == pytest.approx(0.25, abs=0.01)
    # a rate a over persons and abandons is a rate a·s / (1 - a(1 - s)) over every answer
    assert strict.aim() == pytest.approx(a * s / (1 - a * (1 - s)))
    d = 1000 * strict.aim()  # abandons among 1000 answers at that aim, 1000 - d connected, a quarter persons
    assert d / (0.25 * (1000 - d) + d) == pytest.approx(a, rel=0.02)


class ClassifyingAdversary(Adversary):
    """The adversary of `test_ledger_property`, which also decides, for each connected answer, whether and when
    its agent dispositions it a person or a machine."""

    def __init__(self, *args, **kwargs) -> None:
        self.pending: list[float] = []  # connected answers not dispositioned yet
        self.persons: list[tuple[float, float]] = []  # (disposition time, answer time)
        super().__init__(*args, **kwargs)
        while self.pending:  # the campaign's earlier calls: people, dispositioned at once
            self.classify(True)

    def live(self, abandoned: bool, screened: bool) -> None:
        super().live(abandoned, screened)
        if not abandoned:
            self.pending.append(self.now)

    def classify(self, person: bool) -> None:
        t = self.pending.pop(0)
        self.observe(ContactClassified(at=self.now, connected_at=t, person=person))
        if person:
            self.persons.append((self.now, t))

    def step(self, kind, arg, decide) -> None:
        if kind == "classify":
            if self.pending:
                self.classify(bool(arg))
            return
        super().step(kind, arg, decide)


def check_strict(adv: ClassifyingAdversary, jurisdiction: Jurisdiction, fp: float) -> None:
    """At every abandon, the strict rate of each window the law assesses, with the persons dispositioned by then."""
    t = np.array([x[0] for x in adv.log.lives])
    ab = np.array([x[1] for x in adv.log.lives], dtype=bool)
    scr = np.array(adv.log.screened)
    conf = np.array([x[0] for x in adv.persons])
    ans = np.array([x[1] for x in adv.persons])
    phi = fp / (1 - fp)
    for ta in t[ab]:
        known = conf <= ta
        if jurisdiction is Jurisdiction.US:
            period = math.floor(ta / (30 * DAY))
            in_p = (np.floor(t / (30 * DAY)) == period) & (t <= ta)
            persons = (known & (np.floor(ans / (30 * DAY)) == period)).sum()
            a = ab[in_p].sum()
            assert a <= CAP * (a + persons) + 1e-9, f"US period over the cap (strict) at {ta}"
            continue
        for ahead in (0.0, LOOKAHEAD - HORIZON):
            lo = ta + ahead - UK_WINDOW_S
            sel = (t > lo) & (t <= ta)
            a = ab[sel].sum()
            persons = (known & (ans > lo) & (ans <= ta)).sum()
            fps = phi * ((scr > lo) & (scr <= ta)).sum()
            assert a + fps <= CAP * (a + persons + fps) + 1e-9, f"UK 24 h over the cap (strict) at {ta}+{ahead}"


CLASSIFY = st.tuples(st.just("classify"), st.booleans())


@settings(max_examples=40, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    evs=st.lists(
        st.one_of(*EVENTS, CLASSIFY, CLASSIFY, st.tuples(st.just("wait"), st.sampled_from(WAITS))),
        min_size=20, max_size=250,
    ),
    uk=st.booleans(),
    fp=st.sampled_from([0.0, 0.01]),
    agents=st.integers(1, 6),
    history=st.integers(0, 400),
)
def test_an_adversary_cannot_push_the_strict_count_over_the_cap(monkeypatch, evs, uk, fp, agents, history):
    """Whatever the adversary makes of the answers (machines, persons, never dispositioned), the strict count
    stays within the cap: what pacing relied on were the persons agents had confirmed."""
    _greedy(monkeypatch)
    jur = Jurisdiction.UK if uk else Jurisdiction.US
    p = Pacer(
        PacingKnobs(mode=Mode.PREDICTIVE, jurisdiction=jur, amd_false_positive=fp, max_calls_per_agent=10.0,
                    abandon_count=AbandonCount.STRICT),
        min_dials=0, min_lives=0, min_talks=0,
    )
    adv = ClassifyingAdversary(p.observe, agents, fp, history)
    for kind, arg in evs:
        adv.step(kind, arg, p.decide)
        adv.now += 0.1
    check_strict(adv, jur, fp)


def test_a_simulated_amd_off_campaign_learns_its_share_of_persons_and_keeps_the_people_lower():
    """AMD off, two machines to a person: the simulator's agents disposition every connected call, the pacer
    learns the share, and under the strict count fewer people are abandoned than under the estimate."""
    from dataclasses import replace

    from pacing.traffic import AmdSpec

    base = telecom_upsell()
    tm = replace(base.traffic, p_live=0.15, p_machine=0.3, amd=AmdSpec(enabled=False))
    sc = replace(base, agents=8, traffic=tm, shift_s=2 * 3600.0, days=2)
    runs = {}
    for count in AbandonCount:
        pacer = Pacer(PacingKnobs(mode=Mode.PREDICTIVE, abandon_count=count, max_channels=500, max_cps=1e6))
        runs[count] = (pacer, simulate(sc, pacer, 3, "predictive").metrics(1))
    pacer, m = runs[AbandonCount.STRICT]
    assert pacer.person_share == pytest.approx(1 / 3, abs=0.08)
    assert m["abandon_pct"] < runs[AbandonCount.ESTIMATE][1]["abandon_pct"]
    led = pacer.ledger
    st_ = led.status(pacer.decisions[-1].now)
    assert st_.count is AbandonCount.STRICT
    assert st_.rate <= 0.03
