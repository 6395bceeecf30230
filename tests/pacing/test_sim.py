from dataclasses import replace

import numpy as np
import pytest

from pacing import Pacer, PacingKnobs
from pacing.sim import EventQueue, Scenario, simulate, telecom_upsell, worst_window_rate
from pacing.traffic import AmdSpec, LognormalSpec, TrafficModel
from pacing.types import Mode

SMALL = replace(telecom_upsell(), name="small", agents=6, shift_s=1800.0)


def test_event_queue_orders_by_time_then_by_scheduling():
    q = EventQueue()
    q.at(5.0, 1, 10)
    q.at(1.0, 2, 20)
    q.at(5.0, 3, 30)
    assert [q.pop() for _ in range(3)] == [(1.0, 2, 20), (5.0, 1, 10), (5.0, 3, 30)]
    with pytest.raises(ValueError, match="before now"):
        q.at(1.0, 0)


def test_runs_are_reproducible_from_the_seed():
    a = simulate(SMALL, Pacer(PacingKnobs(mode=Mode.POWER, ratio=2.0)), seed=7)
    b = simulate(SMALL, Pacer(PacingKnobs(mode=Mode.POWER, ratio=2.0)), seed=7)
    c = simulate(SMALL, Pacer(PacingKnobs(mode=Mode.POWER, ratio=2.0)), seed=8)
    assert (a.dials, a.contacts, a.abandons, a.talk_s) == (b.dials, b.contacts, b.abandons, b.talk_s)
    assert (a.dials, a.talk_s) != (c.dials, c.talk_s)


def test_progressive_never_abandons_and_accounts_every_second():
    r = simulate(SMALL, Pacer(PacingKnobs(mode=Mode.PROGRESSIVE)), seed=1)
    assert r.abandons == 0
    assert r.seen_abandons == 0
    assert r.contacts > 0
    assert r.dials >= r.contacts
    busy = r.talk_s + r.idle_s
    assert busy <= r.logged_in_s + 1e-6
    m = r.metrics()
    assert m["abandon_pct"] == 0.0
    assert m["wait_over_2s_pct"] == 0.0
    assert m["talk_min_per_hour"] == pytest.approx(60 * r.talk_s / r.logged_in_s)
    assert 0 < m["talk_min_per_hour"] < m["bound_talk_min_per_hour"]


def test_overdialing_abandons_and_the_metrics_show_it():
    r = simulate(SMALL, Pacer(PacingKnobs(mode=Mode.POWER, ratio=8.0, power_within_budget=False)), seed=1)
    m = r.metrics()
    assert r.abandons > 0
    assert m["abandon_pct"] == pytest.approx(100 * r.abandons / r.lives)
    assert m["wait_over_2s_pct"] > 0
    assert m["wait_p95_s"] > 0
    assert m["abandon_pct_with_fp"] >= m["abandon_pct"]


def test_amd_false_positives_are_people_hung_up_on():
    tm = replace(SMALL.traffic, amd=AmdSpec(enabled=True, false_positive=0.2))
    r = simulate(replace(SMALL, traffic=tm), Pacer(PacingKnobs(mode=Mode.PROGRESSIVE)), seed=2)
    assert r.false_positives > 0
    assert r.false_positives == pytest.approx(0.2 * (r.lives + r.false_positives), rel=0.35)


def test_amd_off_sends_machines_to_agents():
    tm = replace(SMALL.traffic, amd=AmdSpec(enabled=False))
    r = simulate(replace(SMALL, traffic=tm), Pacer(PacingKnobs(mode=Mode.PROGRESSIVE)), seed=3)
    assert r.false_positives == 0
    assert r.seen_lives > r.lives  # machines reached agents too


def test_amd_off_bound_counts_the_agents_time_on_machines():
    tm = replace(SMALL.traffic, amd=AmdSpec(enabled=False))
    plain = Pacer(PacingKnobs(mode=Mode.POWER, ratio=6.0, power_within_budget=False))
    r = simulate(replace(SMALL, traffic=tm), plain, seed=3)
    m = r.metrics()
    talk, wrap = tm.talk.mean, tm.wrapup.mean
    per_person = (r.seen_lives - r.lives) / r.lives
    assert per_person > 0.2
    assert m["bound_talk_min_per_hour_with_machines"] == pytest.approx(
        60 * talk / (talk + wrap + per_person * (7.0 + 4.0))  # machine talk 4-10 s, wrap-up 2-6 s
    )
    assert m["bound_talk_min_per_hour_with_machines"] < m["bound_talk_min_per_hour"]
    # the dialer counts every answer it saw; the people's own rate is the truth the simulator knows
    assert r.seen_abandons > r.abandons > 0
    assert m["abandon_pct_as_counted"] == pytest.approx(100 * r.seen_abandons / r.seen_lives)
    assert m["abandon_pct"] == pytest.approx(100 * r.abandons / r.lives)


def test_with_amd_on_and_no_machine_let_through_the_bounds_agree():
    tm = replace(SMALL.traffic, amd=AmdSpec(enabled=True, false_positive=0.0, false_negative=0.0))
    m = simulate(replace(SMALL, traffic=tm), Pacer(PacingKnobs(mode=Mode.PROGRESSIVE)), seed=3).metrics()
    assert m["bound_talk_min_per_hour_with_machines"] == pytest.approx(m["bound_talk_min_per_hour"])
    assert m["abandon_pct_as_counted"] == m["abandon_pct"] == 0.0


def test_the_predictive_pacer_runs_in_the_simulator():
    sc = replace(SMALL, agents=8, shift_s=1800.0)
    r = simulate(sc, Pacer(PacingKnobs(mode=Mode.PREDICTIVE, max_channels=500, max_cps=500)), seed=4)
    prog = simulate(sc, Pacer(PacingKnobs(mode=Mode.PROGRESSIVE)), seed=4)
    assert r.decisions > 1500
    assert r.talk_s > prog.talk_s
    assert r.metrics()["abandon_pct"] <= 3.0


def test_multi_day_runs_measure_days_apart():
    sc = replace(SMALL, days=2, shift_s=1200.0)
    r = simulate(sc, Pacer(PacingKnobs(mode=Mode.PROGRESSIVE)), seed=5)
    assert r.per_day.shape == (2, 11)
    d0, d1, both = r.metrics(0, 0), r.metrics(1), r.metrics(0)
    assert both["contacts_per_agent_hour"] == pytest.approx(
        (d0["contacts_per_agent_hour"] + d1["contacts_per_agent_hour"]) / 2
    )


def test_scenarios_refuse_nonsense():
    with pytest.raises(ValueError, match="ring at least 15"):
        Scenario(name="x", agents=5, ring_timeout_s=10.0)
    with pytest.raises(ValueError, match="at least one agent"):
        Scenario(name="x", agents=0)
    assert telecom_upsell().bound_talk_share == pytest.approx(150 / 180)


@pytest.mark.parametrize(
    ("periods", "window", "want"),
    [(False, 10.0, 1.0), (True, 10.0, 0.5), (False, 100.0, 0.25)],
)
def test_worst_window_rate(periods, window, want):
    # rolling: the window [5, 15] holds one abandoned call and nothing else
    t = np.array([1.0, 2.0, 3.0, 4.0, 15.0, 16.0, 17.0, 18.0])
    ab = np.array([0, 0, 0, 0, 1, 1, 0, 0], dtype=bool)
    fp = np.zeros(8, dtype=bool)
    assert worst_window_rate(t, ab, fp, 0.0, 20.0, window, with_fp=False, periods=periods) == pytest.approx(want)


def test_worst_window_rate_counts_estimated_false_positives_per_screened_person():
    # 98 people connected, 1 abandoned, 1 taken for a machine by AMD (a false positive)
    t = np.arange(100.0)
    ab = np.zeros(100, dtype=bool)
    ab[10] = True
    fp = np.zeros(100, dtype=bool)
    fp[20] = True
    args = (t, ab, fp, 0.0, 100.0, 1000.0)
    assert worst_window_rate(*args, with_fp=False) == pytest.approx(1 / 99)
    assert worst_window_rate(*args, with_fp=True) == pytest.approx(2 / 100)
    # the regulator's count: each of the 99 screened people brings 0.05 estimated false positives
    assert worst_window_rate(*args, with_fp=False, est_fp=0.05) == pytest.approx((1 + 4.95) / (99 + 4.95))


def test_traffic_model_is_unchanged_for_the_pbx_simulator():
    tm = TrafficModel(talk=LognormalSpec(100.0, 0.5))
    rng = np.random.default_rng(0)
    fate = tm.sample_one(rng, 0.0)
    assert fate.ring_s > 0
    assert fate.talk_s > 0
    assert tm.sample_wrapup(rng, 3).shape == (3,)
