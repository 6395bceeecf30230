"""Hanging up ringing dials whose live answer would find no agent (`Decision.hangup`)."""

from dataclasses import replace

import numpy as np
import pytest
from pacing_helpers import snap, train

from pacing import CampaignSnapshot, Pacer, PacingKnobs
from pacing.estimators import LIVE, CampaignEstimators
from pacing.forecast import Curves, K
from pacing.predictive import choose_hangups
from pacing.sim import simulate, telecom_upsell
from pacing.types import DialObserved, Mode

T = np.arange(K, dtype=float)
NEW = 0.3 * np.clip((T - 8.0) / 12.0, 0.0, 1.0)
# a dial that has rung 15 s: live with probability 0.1, answering within the next 5 s
LATE = 0.1 * np.clip(T / 5.0, 0.0, 1.0)


def _curves(ready: float, frees_per_s: float, late: int, waiting: float = 0.0) -> Curves:
    supply = ready + frees_per_s * T
    dial = late * LATE
    return Curves(
        supply=supply,
        supply_var=0.5 * frees_per_s * T,
        demand=dial + waiting,
        demand_var=late * LATE * (1 - LATE),
        dial_demand=dial,
        dial_self=np.zeros(K),
        dial_self_var=np.zeros(K),
    )


def test_no_agent_coming_hangs_up_late_ringers_but_only_as_many_as_would_be_lost():
    profiles = np.tile(LATE, (30, 1))
    picks = choose_hangups(_curves(ready=0.0, frees_per_s=0.0, late=30, waiting=1.0), NEW, profiles, 0.1)
    assert picks, "every late answer would be abandoned: some must go"
    assert len(set(picks)) == len(picks)
    # never more expected live answers removed than the abandons the model expects (about 3 here)
    assert 0.1 * len(picks) <= 30 * 0.1 + 1.0 + 1e-9


def test_agents_to_spare_keep_every_dial():
    profiles = np.tile(LATE, (10, 1))
    assert choose_hangups(_curves(ready=20.0, frees_per_s=0.5, late=10), NEW, profiles, 0.1) == []


def test_only_the_dial_whose_answer_finds_no_agent_goes():
    # no agent before 4 s, then plenty: a dial answering in 1 s would be lost, one answering in 5 s served
    soon = 0.1 * (T >= 1.0)
    later = 0.1 * (T >= 5.0)
    c = Curves(
        supply=10.0 * (T >= 4.0),
        supply_var=np.zeros(K),
        demand=1.0 + soon + later,
        demand_var=soon * 0.9 + later * 0.9,
        dial_demand=soon + later,
        dial_self=np.zeros(K),
        dial_self_var=np.zeros(K),
    )
    assert choose_hangups(c, NEW, np.vstack([later, soon]), 0.1) == [1]


@pytest.fixture
def busy_pacer() -> tuple[Pacer, float]:
    p = Pacer(PacingKnobs(mode=Mode.PREDICTIVE, max_channels=1000, max_cps=1000))
    return p, train(p)


def _all_busy(t: float, ringing: list[float]) -> CampaignSnapshot:
    return snap(t + 1, ready=0, logged_in=20, talking_elapsed=[5.0] * 20, ringing_elapsed=ringing, waiting_humans=2)


def test_the_pacer_hangs_up_only_dials_past_the_minimum_ring(busy_pacer):
    p, t = busy_pacer
    ringing = [2.0, 9.0, 14.9] + [15.5] * 12 + [17.0] * 8
    d = p.decide(_all_busy(t, ringing))
    assert d.hangup, d
    assert all(ringing[i] >= 15.0 for i in d.hangup)
    assert "hanging up" in d.detail


def test_the_knob_turns_it_off(busy_pacer):
    p, t = busy_pacer
    p.set_knobs(replace(p.knobs, surplus_hangup_after_s=None))
    assert p.decide(_all_busy(t, [16.0] * 20)).hangup == ()
    p.set_knobs(replace(p.knobs, surplus_hangup_after_s=30.0))
    assert p.decide(_all_busy(t, [16.0] * 20)).hangup == ()


def test_the_law_s_minimum_ring_is_enforced_on_the_knob():
    with pytest.raises(ValueError, match="at least 15 s"):
        PacingKnobs(surplus_hangup_after_s=10.0)


def test_progressive_never_hangs_up(busy_pacer):
    p, t = busy_pacer
    p.set_knobs(replace(p.knobs, mode=Mode.PROGRESSIVE))
    assert p.decide(_all_busy(t, [16.0] * 20)).hangup == ()


def test_a_hung_up_dial_is_censored_not_a_no_answer():
    def fed(late_as: str) -> float:
        est = CampaignEstimators()
        rng = np.random.default_rng(3)
        t = 0.0
        for _ in range(2000):
            t += 1.0
            u = rng.random()
            if u < 0.2:
                est.observe(DialObserved(at=t, outcome="live", ring_s=float(rng.uniform(5, 12))))
            elif u < 0.3:  # 1 in 8 of the dials that ring past 15 s
                est.observe(DialObserved(at=t, outcome="live", ring_s=float(rng.uniform(16, 19))))
            else:
                est.observe(DialObserved(at=t, outcome="no_answer", ring_s=20.0))
        for _ in range(2000):  # then most dials that ring 15 s are cut there (1 in 8 of them would answer)
            t += 1.0
            u = rng.random()
            if u < 0.2:
                est.observe(DialObserved(at=t, outcome="live", ring_s=float(rng.uniform(5, 12))))
            elif u < 0.75:
                hung = late_as == "censored"
                est.observe(DialObserved(at=t, outcome="no_answer", ring_s=15.0, hung_up=hung))
            elif u < 0.78125:
                est.observe(DialObserved(at=t, outcome="live", ring_s=float(rng.uniform(16, 19))))
            else:
                est.observe(DialObserved(at=t, outcome="no_answer", ring_s=20.0))
        return float(est.share_estimate(t).p[LIVE])

    censored, as_no_answer = fed("censored"), fed("no_answer")
    assert censored == pytest.approx(0.3, abs=0.03)  # the truth: 20 % early, 10 % late
    assert as_no_answer == pytest.approx(0.23, abs=0.03)  # the answers the cut dials would have brought: lost


def test_the_simulator_carries_out_hangups_and_counts_them():
    sc = replace(telecom_upsell(), shift_s=3600.0)
    r = simulate(sc, Pacer(PacingKnobs(mode=Mode.PREDICTIVE, max_channels=1000, max_cps=1000)), seed=2)
    m = r.metrics()
    assert m["hangup_pct_of_dials"] > 0.0
    assert 0.0 <= m["hangup_lost_pct_of_lives"] < m["hangup_pct_of_dials"]
    off = Pacer(PacingKnobs(mode=Mode.PREDICTIVE, max_channels=1000, max_cps=1000, surplus_hangup_after_s=None))
    assert simulate(sc, off, seed=2).metrics()["hangup_pct_of_dials"] == 0.0
