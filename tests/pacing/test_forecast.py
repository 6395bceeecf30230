import numpy as np
import pytest

from pacing.estimators import CampaignEstimators
from pacing.forecast import RING_BIN_S, TALK_EDGES, WRAP_EDGES, Forecaster, K, build_tables, curves
from pacing.traffic import LognormalSpec, RingMix
from pacing.types import DialObserved, TalkObserved, WrapupObserved

TALK = LognormalSpec(150.0, 1.0)
WRAP = LognormalSpec(30.0, 0.5)
LIVE_RING = RingMix(means=(8.0, 20.0), weights=(0.6, 0.4))
MACHINE_RING = RingMix(means=(10.0, 18.0), weights=(0.5, 0.5))
TIMEOUT = 20.0


def _dials(rng, n):
    """(kind, ring_s, amd_delay_s) like the simulator: live 30 %, machine 20 %, rest unanswered at timeout."""
    u = rng.random(n)
    live_ring = LIVE_RING.sample(rng, n)
    mach_ring = MACHINE_RING.sample(rng, n)
    h_delay = rng.uniform(1.0, 2.5, n)
    m_delay = rng.uniform(2.5, 5.0, n)
    out = []
    for i in range(n):
        if u[i] < 0.3 and live_ring[i] <= TIMEOUT:
            out.append(("live", live_ring[i], h_delay[i]))
        elif 0.3 <= u[i] < 0.5 and mach_ring[i] <= TIMEOUT:
            out.append(("machine", mach_ring[i], m_delay[i]))
        else:
            out.append(("no_answer", TIMEOUT, 0.0))
    return out


@pytest.fixture(scope="module")
def learnt():
    rng = np.random.default_rng(11)
    est = CampaignEstimators(share_half_life_s=1e6, shape_half_life_s=1e6)
    dials = _dials(rng, 20000)
    for i, (kind, ring, delay) in enumerate(dials):
        t = i * 0.1
        if kind == "no_answer":
            est.observe(DialObserved(at=t, outcome=kind, ring_s=ring))
        else:
            est.observe(DialObserved(at=t, outcome=kind, ring_s=ring, amd_delay_s=delay, amd_machine=kind == "machine"))
    for i, (x, w) in enumerate(zip(TALK.sample(rng, 6000), WRAP.sample(rng, 6000), strict=True)):
        est.observe(TalkObserved(at=i * 0.1, talk_s=float(x)))
        est.observe(WrapupObserved(at=i * 0.1, wrap_s=float(w)))
    return est, dials, build_tables(est, 2000.0, z_live=0.0)


@pytest.mark.parametrize("elapsed", [10.0, 120.0, 400.0])
def test_agent_free_time_is_remaining_talk_plus_wrap(learnt, elapsed):
    _, _, tab = learnt
    rng = np.random.default_rng(12)
    talk = TALK.sample(rng, 400_000)
    alive = talk[talk > elapsed]
    free_in = alive - elapsed + WRAP.sample(rng, alive.shape[0])
    row = tab.talk_free[np.searchsorted(TALK_EDGES, elapsed, side="right") - 1]
    for t in (20, 40, 60):
        assert row[t] == pytest.approx(float((free_in <= t).mean()), abs=0.03)


@pytest.mark.parametrize("elapsed", [0.0, 25.0, 50.0])
def test_wrap_up_end_given_elapsed(learnt, elapsed):
    _, _, tab = learnt
    rng = np.random.default_rng(13)
    w = WRAP.sample(rng, 400_000)
    alive = w[w > elapsed]
    row = tab.wrap_free[np.searchsorted(WRAP_EDGES, elapsed, side="right") - 1]
    for t in (5, 15, 30):
        assert row[t] == pytest.approx(float((alive - elapsed <= t).mean()), abs=0.03)


@pytest.mark.parametrize("rung", [0.0, 6.0, 12.0, 18.0])
def test_live_answers_given_ring_time_so_far(learnt, rung):
    _, dials, tab = learnt
    still = [(k, r, d) for k, r, d in dials if r > rung]
    row = tab.ring_live[int(rung / RING_BIN_S)]
    for t in (5, 10, 30):
        want = np.mean([k == "live" and r + d - rung <= t for k, r, d in still])
        assert row[t] == pytest.approx(float(want), abs=0.035)


def test_hazard_falls_once_the_quick_answerers_are_past(learnt):
    _, _, tab = learnt
    eventually = tab.ring_live[:, K - 1]
    assert eventually[int(12.0 / RING_BIN_S)] < eventually[0]
    assert eventually[int(19.9 / RING_BIN_S)] < eventually[int(12.0 / RING_BIN_S)]


def test_curves_sum_the_table_rows(learnt):
    _, _, tab = learnt
    talking = np.array([5.0, 5.5, 200.0])
    wrapping = np.array([3.0])
    ringing = np.array([0.2, 7.0, 7.1])
    screening = np.array([0.5])
    c = curves(tab, ready=2, waiting=1, talking=talking, wrapping=wrapping, ringing=ringing, screening=screening)
    tb = np.searchsorted(TALK_EDGES, talking, side="right") - 1
    want_s = (
        2 + tab.talk_free[tb].sum(0) + tab.wrap_free[np.searchsorted(WRAP_EDGES, wrapping, side="right") - 1].sum(0)
    )
    assert np.allclose(c.supply, want_s)
    want_d = 1 + tab.ring_live[(ringing / RING_BIN_S).astype(int)].sum(0) + tab.screen_live[5]
    assert np.allclose(c.demand, want_d)
    assert np.all(np.diff(c.supply) >= -1e-12)
    assert np.all(np.diff(c.demand) >= -1e-12)


def test_forecaster_reuses_tables_until_something_changes(learnt):
    est, _, _ = learnt
    f = Forecaster(shares_every_s=5.0)
    a = f.tables(est, 3000.0)
    assert f.tables(est, 3001.0) is a
    est.observe(DialObserved(at=3002.0, outcome="busy", ring_s=1.0))
    assert f.tables(est, 3010.0) is not a
