import math

import pytest
from pacing_helpers import snap

from pacing.baselines import AdaptMethod, IssabelRule, VicidialAdaptive
from pacing.types import DialObserved, LiveAnswerObserved, TalkObserved


def _run(v, seconds, t0=0, **kw):
    d = None
    for t in range(t0, t0 + seconds):
        d = v.decide(snap(float(t), **kw))
    return d


def test_dial_level_rises_while_agents_wait_for_calls():
    v = VicidialAdaptive(AdaptMethod.AVERAGE, 0.03, gain=0.5)
    _run(v, 61, ready=5, logged_in=10, talking_elapsed=[10.0] * 5)
    assert v.level > 1.5


def test_dial_level_falls_while_calls_wait_for_agents():
    v = VicidialAdaptive(AdaptMethod.AVERAGE, 0.03, gain=0.5)
    v.level = 2.5
    _run(v, 61, ready=0, logged_in=10, waiting_humans=3, talking_elapsed=[10.0] * 10)
    assert v.level < 2.5


def test_dial_level_stays_within_1_and_the_maximum():
    v = VicidialAdaptive(AdaptMethod.AVERAGE, 0.03, gain=5.0)
    _run(v, 200, ready=10, logged_in=10)
    assert v.level == 3.0
    _run(v, 200, t0=200, ready=0, logged_in=10, waiting_humans=20, talking_elapsed=[1.0] * 10)
    assert v.level == 1.0


def test_lines_are_level_times_active_agents_minus_calls_up():
    v = VicidialAdaptive(AdaptMethod.AVERAGE, 0.03)
    v.level = 2.0
    v._last_update = v._last_sample = math.inf  # freeze the level
    d = v.decide(snap(0.0, 2, talking_elapsed=[10.0] * 3, ringing_elapsed=[1.0, 2.0]))
    assert d.launch == 2 * 5 - (2 + 3)


def _drop(v, n, drops, t=0.0):
    for i in range(n):
        v.observe(LiveAnswerObserved(at=t, abandoned=i < drops, wait_s=0.0))


def test_hard_limit_stops_aggressive_dialing_over_the_drop_limit():
    v = VicidialAdaptive(AdaptMethod.HARD_LIMIT, 0.03, gain=0.5)
    v.level = 2.5
    _drop(v, 100, 5)
    _run(v, 16, ready=5, logged_in=10)
    assert v.level == 1.0


def test_tapered_allows_more_early_in_the_shift_and_less_late():
    v = VicidialAdaptive(AdaptMethod.TAPERED, 0.03, shift_s=8 * 3600.0)
    assert v._limit_now(0.0) == pytest.approx(0.045)
    assert v._limit_now(4 * 3600.0) == pytest.approx(0.03)
    assert v._limit_now(8 * 3600.0 - 1) == pytest.approx(0.015, abs=1e-4)


def test_average_cuts_in_proportion_to_the_excess():
    v = VicidialAdaptive(AdaptMethod.AVERAGE, 0.03, gain=0.0)
    v.level = 2.0
    _drop(v, 100, 4)  # 4 %: a third over the limit
    _run(v, 16, ready=0, logged_in=10)
    assert 1.0 < v.level < 2.0


def test_the_day_drop_percentage_resets_each_day():
    v = VicidialAdaptive(AdaptMethod.HARD_LIMIT, 0.03)
    _drop(v, 10, 5)
    assert v.drop_pct() == 0.5
    v.observe(LiveAnswerObserved(at=86400.0 + 1, abandoned=False, wait_s=0.0))
    assert v.drop_pct() == 0.0


def test_issabel_counts_agents_whose_call_will_likely_end_as_free():
    r = IssabelRule(qos=0.97, min_samples=1)
    r.observe(TalkObserved(at=1.0, talk_s=100.0))
    r.observe(DialObserved(at=1.0, outcome="live", ring_s=10.0, amd_delay_s=2.0))
    # P(T <= e + 12) >= 0.97 under an exponential of mean 100: e >= 100 ln(1/0.03) - 12 = 338.6
    d = r.decide(snap(2.0, 1, talking_elapsed=[100.0, 340.0, 500.0], ringing_elapsed=[1.0]))
    assert d.launch == 1 + 2 - 1


def test_issabel_without_samples_is_progressive():
    d = IssabelRule().decide(snap(2.0, 2, talking_elapsed=[1000.0]))
    assert d.launch == 2
