import math
from dataclasses import replace

import numpy as np
import pytest
from pacing_helpers import snap, train

from pacing import Pacer, PacingKnobs
from pacing.types import Jurisdiction, Mode, Reason

BUSY = {"talking_elapsed": [30.0] * 15, "wrapup_elapsed": [5.0, 10.0]}


@pytest.mark.parametrize(
    ("kw", "reason"),
    [
        ({"paused": True}, Reason.PAUSED),
        ({"within_hours": False}, Reason.OUTSIDE_HOURS),
        ({"hopper_depth": 0}, Reason.HOPPER_EMPTY),
    ],
)
@pytest.mark.parametrize("mode", list(Mode))
def test_nothing_is_dialed_when_the_campaign_cannot_dial(mode, kw, reason):
    d = Pacer(PacingKnobs(mode=mode)).decide(snap(1.0, ready=5, **kw))
    assert (d.launch, d.reason) == (0, reason)


def test_preview_leaves_dialing_to_agents():
    d = Pacer(PacingKnobs(mode=Mode.PREVIEW)).decide(snap(1.0, ready=5))
    assert (d.launch, d.reason) == (0, Reason.PREVIEW_MODE)


@pytest.mark.parametrize(
    ("ready", "ringing", "waiting", "want", "reason"),
    [
        (3, [], 0, 3, Reason.DIALING),
        (3, [1.0], 0, 2, Reason.DIALING),
        (3, [1.0, 2.0], 1, 0, Reason.ENOUGH_IN_FLIGHT),
        (0, [], 0, 0, Reason.NO_READY_AGENTS),
    ],
)
def test_progressive_dials_one_call_per_uncovered_ready_agent(ready, ringing, waiting, want, reason):
    d = Pacer(PacingKnobs(mode=Mode.PROGRESSIVE)).decide(
        snap(1.0, ready, ringing_elapsed=ringing, waiting_humans=waiting)
    )
    assert (d.launch, d.reason) == (want, reason)


def test_power_dials_ratio_per_ready_agent():
    p = Pacer(PacingKnobs(mode=Mode.POWER, ratio=2.5))
    for i in range(1000):  # a thousand connected answers: budget for 30 abandons
        p.ledger.record_live(float(i), abandoned=False)
    d = p.decide(snap(1000.0, 2, ringing_elapsed=[1.0]))
    assert (d.launch, d.reason) == (4, Reason.DIALING)  # floor(2 * 2.5) - 1


@pytest.mark.parametrize(
    ("lives", "abandons", "want"),
    [
        (0, 0, 4),  # a fresh period has no budget: one call per ready agent, as progressive
        (100, 0, 7),  # budget 3.09: three calls beyond the agents
        (200, 3, 7),  # (6 - 3) / 0.97 = 3.09
        (200, 6, 4),  # the cap is reached: progressive
        (200, 9, 4),  # over it (history before a restart): progressive still, it abandons nobody
    ],
)
def test_power_keeps_its_extra_dials_within_the_abandon_budget(lives, abandons, want):
    p = Pacer(PacingKnobs(mode=Mode.POWER, ratio=3.0))
    for i in range(lives):
        p.ledger.record_live(float(i), abandoned=i < abandons)
    d = p.decide(snap(1000.0, 4))
    assert (d.launch, d.reason) == (want, Reason.ABANDON_BUDGET)
    assert d.abandon_budget == pytest.approx(p.ledger.budget(1000.0))
    assert "ratio 3 cut to" in d.detail


def test_power_outside_the_budget_dials_the_ratio_whatever_the_ledger_says():
    # a plain power dialer: the benchmarks' fixed-ratio baseline and load tests
    d = Pacer(PacingKnobs(mode=Mode.POWER, ratio=2.5, power_within_budget=False)).decide(
        snap(1.0, 2, ringing_elapsed=[1.0])
    )
    assert (d.launch, d.reason) == (4, Reason.DIALING)


@pytest.mark.parametrize(
    ("lines", "last_second", "hopper", "want", "reason"),
    [
        (0, 0, 1000, 10, Reason.DIALING),  # the calls-per-second limit
        (28, 0, 1000, 2, Reason.DIALING),  # the trunk
        (0, 7, 1000, 3, Reason.DIALING),
        (30, 0, 1000, 0, Reason.TRUNK_LIMIT),
        (0, 0, 4, 4, Reason.DIALING),
    ],
)
def test_agentless_fills_trunk_within_cps(lines, last_second, hopper, want, reason):
    p = Pacer(PacingKnobs(mode=Mode.AGENTLESS, max_channels=30, max_cps=10))
    d = p.decide(snap(1.0, 0, logged_in=0, lines_in_use=lines, dials_last_second=last_second, hopper_depth=hopper))
    assert (d.launch, d.reason) == (want, reason)


def test_trunk_limit_applies_to_every_dialing_mode():
    p = Pacer(PacingKnobs(mode=Mode.PROGRESSIVE, max_channels=10))
    d = p.decide(snap(1.0, 5, lines_in_use=8))
    assert (d.launch, d.reason) == (2, Reason.TRUNK_LIMIT)


def test_knob_changes_take_effect_on_the_next_decision():
    p = Pacer(PacingKnobs(mode=Mode.PROGRESSIVE))
    assert p.decide(snap(1.0, 2)).launch == 2
    p.set_knobs(PacingKnobs(mode=Mode.POWER, ratio=3.0, power_within_budget=False))
    d = p.decide(snap(2.0, 2))
    assert (d.mode, d.launch) == (Mode.POWER, 6)
    p.set_knobs(PacingKnobs(mode=Mode.PREVIEW))
    assert p.decide(snap(3.0, 2)).launch == 0
    assert [d.mode for d in p.decisions] == [Mode.PROGRESSIVE, Mode.POWER, Mode.PREVIEW]


def test_decisions_keep_the_last_n():
    p = Pacer(PacingKnobs(), history=3)
    for i in range(5):
        p.decide(snap(float(i), 1))
    assert [d.now for d in p.decisions] == [2.0, 3.0, 4.0]


def test_predictive_with_few_agents_falls_back_to_progressive_and_says_so():
    p = Pacer(PacingKnobs(mode=Mode.PREDICTIVE, min_agents_predictive=5))
    train(p)
    d = p.decide(snap(1e4, 2, logged_in=3))
    assert (d.launch, d.reason) == (2, Reason.FEW_AGENTS)
    assert "progressive fallback" in d.detail


def test_predictive_without_samples_falls_back_to_progressive_and_says_so():
    d = Pacer(PacingKnobs(mode=Mode.PREDICTIVE)).decide(snap(1.0, 4, **BUSY))
    assert (d.launch, d.reason) == (4, Reason.FEW_SAMPLES)


def test_predictive_dials_ahead_of_agents_finishing_wrap_up(trained_predictive):
    p, t = trained_predictive
    d = p.decide(snap(t, 0, talking_elapsed=[200.0] * 10, wrapup_elapsed=[25.0] * 10))
    assert d.launch > 0
    assert d.reason in (Reason.ABANDON_TARGET, Reason.MAX_CALLS)
    assert 0.0 < d.predicted_abandon <= d.target_abandon + 1e-9
    assert d.expected_live > 0
    assert d.expected_free_agents > 0
    assert d.p_live == pytest.approx(0.3, abs=0.06)
    assert "live share" in d.detail


def test_predictive_holds_back_when_everybody_just_started_talking(trained_predictive):
    p, t = trained_predictive
    d = p.decide(snap(t, 0, talking_elapsed=[1.0] * 20))
    assert d.launch == 0
    assert d.reason is Reason.ENOUGH_IN_FLIGHT


def test_predictive_never_dials_less_than_progressive(trained_predictive):
    p, t = trained_predictive
    d = p.decide(snap(t, 6, talking_elapsed=[1.0] * 14, ringing_elapsed=[1.0, 2.0]))
    assert d.launch >= 4


def test_predictive_respects_max_calls_per_agent(trained_predictive):
    p, t = trained_predictive
    p.set_knobs(replace(p.knobs, max_calls_per_agent=1.0))
    d = p.decide(snap(t, 20, logged_in=20, ringing_elapsed=[0.5] * 15))
    assert d.launch <= 5


def test_more_ready_agents_more_dials(trained_predictive):
    p, t = trained_predictive
    launches = [p.decide(snap(t, r, talking_elapsed=[60.0] * (20 - r))).launch for r in (0, 2, 5, 10)]
    assert launches == sorted(launches)
    assert launches[-1] > launches[0]


def test_ledger_budget_caps_the_exposure():
    p = Pacer(PacingKnobs(mode=Mode.PREDICTIVE, max_channels=1000, max_cps=1000))
    t = train(p)  # 180 live answers, no abandons: budget (0.03 * L) / 0.97
    budget = p.ledger.budget(t)
    d = p.decide(snap(t, 2, talking_elapsed=[200.0] * 8, wrapup_elapsed=[28.0] * 10, ringing_elapsed=[1.0] * 3))
    exposure_after = 3 + d.launch - 2
    assert exposure_after <= math.floor(budget)
    assert d.abandon_budget == pytest.approx(budget)


def test_budget_spent_means_progressive_only(trained_predictive):
    p, t = trained_predictive
    for i in range(300):
        p.ledger.record_live(t + i * 0.001, True)
    d = p.decide(snap(t + 1, 1, talking_elapsed=[200.0] * 9, wrapup_elapsed=[29.0] * 10))
    assert d.launch == 1  # the ready agent's own call, nothing ahead
    assert d.reason is Reason.DIALING


def test_uk_with_amd_false_positives_over_the_cap_stops_predictive():
    p = Pacer(
        PacingKnobs(mode=Mode.PREDICTIVE, jurisdiction=Jurisdiction.UK, amd_false_positive=0.04, target_abandon=0.025)
    )
    train(p)
    d = p.decide(snap(1e4, 3))
    assert (d.launch, d.reason) == (0, Reason.ABANDON_BUDGET)
    assert "AMD" in d.detail


@pytest.mark.parametrize(("mode", "ratio"), [(Mode.PROGRESSIVE, 1.0), (Mode.POWER, 2.0)])
def test_uk_with_amd_false_positives_over_the_cap_stops_progressive_and_power_too(mode, ratio):
    # every screened live answer brings its estimated false positives, at a share above the cap: even one
    # call per ready agent breaks the cap (docs/PACING.md had told supervisors to switch to progressive)
    p = Pacer(PacingKnobs(mode=mode, ratio=ratio, jurisdiction=Jurisdiction.UK, amd_false_positive=0.04))
    train(p)
    d = p.decide(snap(1e4, 3))
    assert (d.launch, d.reason) == (0, Reason.ABANDON_BUDGET)
    assert "AMD false positives alone exceed the cap" in d.detail
    ok = Pacer(PacingKnobs(mode=mode, ratio=ratio, jurisdiction=Jurisdiction.UK, amd_false_positive=0.01))
    train(ok)
    assert ok.decide(snap(1e4, 3)).launch > 0


def test_uk_aim_leaves_room_for_estimated_false_positives():
    p = Pacer(PacingKnobs(mode=Mode.PREDICTIVE, jurisdiction=Jurisdiction.UK, amd_false_positive=0.01))
    train(p)
    us = Pacer(PacingKnobs(mode=Mode.PREDICTIVE))
    train(us)
    assert p.aim() == pytest.approx(us.aim() - 0.01 / 0.99)


def test_decide_is_cheap_enough_to_call_often(trained_predictive):
    # not a timing assertion: the work per decision does not grow with history
    p, t = trained_predictive
    s = snap(
        t,
        3,
        logged_in=500,
        talking_elapsed=np.full(400, 100.0),
        wrapup_elapsed=np.full(90, 10.0),
        ringing_elapsed=np.linspace(0, 19, 200),
    )
    first = p.decide(s)
    again = p.decide(s)
    assert first.launch == again.launch


def test_a_pacer_cut_back_by_the_ledger_steers_to_its_aim_not_to_the_cap():
    """Launches capped by the ledger's worst-case budget let the rate climb to the cap (the budget grows
    while the rate is under it). While budget-bound, abandons above the aim bring the trim down; a rate
    below the aim there does not push it up."""
    from pacing import LiveAnswerObserved, Pacer, PacingKnobs
    from pacing.types import Mode

    def feed(p: Pacer, abandons: int, lives: int) -> None:
        for i in range(lives):
            p._budget_bound = True  # as after a decision cut back by the budget
            every = lives // abandons  # spread the abandons evenly
            p.observe(LiveAnswerObserved(at=float(i), abandoned=i % every == every - 1, wait_s=0.0))

    hot = Pacer(PacingKnobs(mode=Mode.PREDICTIVE))
    feed(hot, abandons=30, lives=1000)  # 3 % against an aim of 2.25 %
    assert hot._log_trim < -0.1  # the trim only: aim_scale also holds the model's calibration ratio
    cold = Pacer(PacingKnobs(mode=Mode.PREDICTIVE))
    feed(cold, abandons=5, lives=1000)  # 0.5 %: says nothing about the model
    assert -0.1 < cold._log_trim <= 0.0


def test_the_trim_loop_corrects_in_hours_whatever_the_campaign_size():
    """The trim steps once per live answer, but no faster than `trim_horizon_s` allows: at 500 agents a
    per-answer gain swung the aim between its bounds within the hour (the rate with it, 0.1 % to 5 %)."""
    from pacing import LiveAnswerObserved

    def trim_after(rate_per_s: float) -> float:
        p = Pacer(PacingKnobs(mode=Mode.PREDICTIVE))
        p._trim_updates = 100_000  # long past the start-up gain
        for i in range(3_000):  # 1 abandon in 20: 5 %, over twice the aim
            p._model_in_control = True
            p.observe(LiveAnswerObserved(at=i / rate_per_s, abandoned=i % 20 == 19, wait_s=0.0))
        return p._log_trim

    small, big = trim_after(0.1), trim_after(10.0)
    assert small < -0.5  # 3,000 answers over 8 hours: the aim halves
    assert -0.2 < big < 0.0  # the same 3,000 answers in 5 minutes: a small step


def test_a_batch_cut_back_by_the_budget_is_charged_for_what_it_launched():
    """The calibration ratio compares the model's charges with the abandons that happened. lost(n) is
    convex, so charging a cut-back batch its share of the chosen batch's charge would overstate it and
    make the pacer too bold once the budget stops binding."""
    from pacing.predictive import choose_launch, predicted_abandon

    p = Pacer(PacingKnobs(mode=Mode.PREDICTIVE, max_channels=1000, max_cps=1000))
    t = train(p)  # a fresh period: a budget of a few calls
    s = snap(t, 2, talking_elapsed=[200.0] * 8, wrapup_elapsed=[28.0] * 10, ringing_elapsed=[1.0] * 3)
    tau = p.aim() * p.aim_scale
    d = p.decide(s)
    assert d.reason is Reason.ABANDON_BUDGET
    assert d.launch > 0
    tab = p.tables
    assert tab is not None
    c = p._curves(tab, s)
    rel = tab.p_live_se / max(tab.p_live_mean, 1e-6)
    n_cap = math.floor(p.knobs.max_calls_per_agent * s.logged_in_agents) - s.in_flight
    wanted = choose_launch(c, tab.new_live, tau, n_cap, rel)
    assert wanted.launch > d.launch
    charged = float(p._charged.value(t)[0])
    lost_n, lost_0 = (predicted_abandon(c, tab.new_live, k, rel).expected_lost for k in (d.launch, 0))
    assert charged == pytest.approx(lost_n - lost_0)
    assert 0.0 < charged < wanted.expected_added * d.launch / wanted.launch


def test_the_calibration_ratio_does_not_carry_the_evening_into_the_morning(trained_predictive):
    """Unlike the estimators, the calibration ratio forgets on wall time: the night divides its sums by 16,
    so the prior weighs again (here, a few abandons, it brings the ratio back near 1). Carried over in full
    (session 8 tried it), an evening's ratio of 4 to 7 in a drifting AMD-off campaign of 50 agents made the
    next morning's first hour abandon 7.5 % of its answers."""
    from pacing import LiveAnswerObserved

    p, t = trained_predictive

    def ratio() -> float:  # the calibration ratio alone, without the trim
        return p.aim_scale / math.exp(p._log_trim)

    for i in range(4):
        p.observe(LiveAnswerObserved(at=t + i, abandoned=True, wait_s=2.0))
    evening = ratio()
    assert evening < 0.9  # more abandons happened than the model charged
    p.decide(snap(t + 16 * 3600.0, 1, talking_elapsed=[200.0] * 9))
    assert abs(math.log(ratio())) < 0.3 * abs(math.log(evening))  # four half-lives: 1/16 of it is left


def test_the_next_mornings_first_decision_starts_from_the_evenings_live_share():
    """On wall time the night forgot the live share and the morning paced from the prior (0.3, its safe
    value near 0.8): one call per ready agent. On the active clock the evening's share carries over."""
    from pacing import DialObserved

    p = Pacer(PacingKnobs(mode=Mode.PREDICTIVE, max_channels=1000, max_cps=1000))
    t = train(p, dials=1500, p_live=0.08)
    evening = p.decide(snap(t, 5, talking_elapsed=[200.0] * 15))
    morning_at = t + 16 * 3600.0
    p.observe(DialObserved(at=morning_at, outcome="no_answer", ring_s=20.0))  # the tables are rebuilt
    morning = p.decide(snap(morning_at + 1.0, 20, talking_elapsed=[]))
    assert evening.p_live < 0.15
    assert morning.p_live == pytest.approx(evening.p_live, abs=0.02)  # on wall time: 0.6
    assert morning.launch > 20  # it dials ahead of the 20 ready agents (on wall time: 20, progressive)
