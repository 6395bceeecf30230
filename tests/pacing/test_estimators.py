import math

import numpy as np
import pytest

from pacing.estimators import LIVE, MACHINE, OTHER, CampaignEstimators, DecayedArray, DurationModel
from pacing.traffic import LognormalSpec
from pacing.types import DialObserved, LiveAnswerObserved, TalkObserved, WrapupObserved


def test_decayed_array_halves_after_one_half_life():
    d = DecayedArray(2, half_life_s=60.0)
    d.add(0.0, 1, 8.0)
    assert d.value(60.0)[1] == pytest.approx(4.0)
    assert d.value(180.0)[1] == pytest.approx(1.0)


def test_decayed_array_rebases_without_losing_new_weight():
    # regression: `w[i] += f()` loaded w[i] before f() rebased the array, keeping stale huge weights
    d = DecayedArray(3, half_life_s=900.0)
    for t in range(0, 28_800, 10):
        d.add(float(t), 2)
    d.add(86_400.0, 0)  # the next morning: the rebase happens here
    v = d.value(86_400.0)
    assert v[0] == pytest.approx(1.0)
    assert v[2] < 1e-6


def _feed_dials(est, t0, n, p_live, rng, dt=1.0):
    t = t0
    for _ in range(n):
        t += dt
        u = rng.random()
        if u < p_live:
            est.observe(DialObserved(at=t, outcome="live", ring_s=rng.uniform(5, 12), amd_delay_s=1.5))
        elif u < p_live + 0.2:
            est.observe(
                DialObserved(at=t, outcome="machine", ring_s=rng.uniform(8, 18), amd_delay_s=3.5, amd_machine=True)
            )
        else:
            est.observe(DialObserved(at=t, outcome="no_answer", ring_s=20.0))
    return t


def test_live_share_converges_and_follows_a_drop():
    rng = np.random.default_rng(1)
    est = CampaignEstimators(share_half_life_s=600.0)
    t = _feed_dials(est, 0.0, 3000, 0.3, rng)
    assert est.share_estimate(t).p[LIVE] == pytest.approx(0.3, abs=0.03)
    t = _feed_dials(est, t, 3600, 0.15, rng)  # an hour at half the live share: 6 half-lives
    sh = est.share_estimate(t)
    assert sh.p[LIVE] == pytest.approx(0.15, abs=0.03)
    assert sh.p[MACHINE] == pytest.approx(0.2, abs=0.03)
    assert sh.upper(LIVE, 1.0) > sh.p[LIVE]


def test_a_big_campaign_follows_its_live_share_within_minutes_a_small_one_keeps_the_slow_sums():
    rng = np.random.default_rng(2)
    big = CampaignEstimators()
    t = _feed_dials(big, 0.0, 20_000, 0.3, rng, dt=0.1)  # 10 dials a second, like 500 agents
    t = _feed_dials(big, t, 6_000, 0.15, rng, dt=0.1)  # ten minutes at half the live share
    assert big.share_estimate(t).p[LIVE] == pytest.approx(0.15, abs=0.02)  # the slow sums alone: ~0.19
    small = CampaignEstimators()
    t = _feed_dials(small, 0.0, 1_000, 0.3, rng, dt=2.0)  # one dial every 2 s
    t = _feed_dials(small, t, 300, 0.15, rng, dt=2.0)
    est = small.share_estimate(t)
    assert est.n_eff > 400  # the 15-minute sums (the 3-minute ones hold about 130 dials: too few to trust)
    assert est.p[LIVE] > 0.2


def test_few_samples_stay_near_the_prior_and_say_so():
    est = CampaignEstimators(prior_live=0.3)
    est.observe(DialObserved(at=1.0, outcome="live", ring_s=8.0))
    sh = est.share_estimate(1.0)
    assert sh.n_eff == pytest.approx(1.0)
    assert 0.3 < sh.p[LIVE] < 0.4
    assert sh.upper(LIVE, 1.0) - sh.p[LIVE] > 0.2  # wide: little data behind it


def test_outcome_classes_follow_the_amd_verdict():
    est = CampaignEstimators(prior_dials=1e-9)
    est.observe(DialObserved(at=1.0, outcome="live", ring_s=8.0, amd_delay_s=1.2))
    est.observe(DialObserved(at=1.0, outcome="machine", ring_s=9.0, amd_delay_s=3.0, amd_machine=True))
    est.observe(DialObserved(at=1.0, outcome="busy", ring_s=1.0))
    assert np.allclose(est.share_estimate(1.0).p, [1 / 3, 1 / 3, 1 / 3])
    assert est.amd_seen
    assert est.ring_hist(1.0)[OTHER, 2] > est.ring_hist(1.0)[OTHER, 30]


def test_lognormal_fit_recovers_talk_time():
    rng = np.random.default_rng(2)
    spec = LognormalSpec(150.0, 1.0)
    m = DurationModel(short_s=12.0, prior_mean=60.0, prior_cv=1.0)
    for i, x in enumerate(spec.sample(rng, 5000)):
        m.add(float(i), float(x))
    fit = m.fit(5000.0)
    assert fit.mean == pytest.approx(150.0, rel=0.06)
    assert fit.sigma == pytest.approx(spec.sigma, rel=0.06)


def test_censoring_removes_the_early_shift_bias():
    # 60 calls start together; 200 s later only the short ones have ended
    rng = np.random.default_rng(4)
    talks = LognormalSpec(150.0, 1.0).sample(rng, 60)
    done = talks[talks <= 200.0]
    naive = DurationModel(short_s=12.0, prior_mean=60.0, prior_cv=1.0, prior_n=1.0)
    cens = DurationModel(short_s=12.0, prior_mean=60.0, prior_cv=1.0, prior_n=1.0)
    for x in done:
        naive.add(float(x), float(x))
        cens.add(float(x), float(x))
    in_progress = np.full(int((talks > 200.0).sum()), 200.0)
    biased = naive.fit(200.0).mean
    fixed = cens.fit(200.0, in_progress).mean
    assert biased < 100.0
    assert abs(fixed - 150.0) < abs(biased - 150.0) / 2


def test_short_part_of_the_mixture():
    rng = np.random.default_rng(5)
    m = DurationModel(short_s=12.0, prior_mean=120.0, prior_cv=1.0)
    xs = np.where(rng.random(4000) < 0.2, rng.uniform(3.0, 8.0, 4000), LognormalSpec(180.0, 1.0).sample(rng, 4000))
    for i, x in enumerate(xs):
        m.add(float(i), float(x))
    fit = m.fit(4000.0)
    assert fit.pi_short == pytest.approx(float((xs < 12.0).mean()), abs=0.02)
    for x in (5.0, 30.0, 200.0, 600.0):
        assert float(fit.sf(np.array([x]))[0]) == pytest.approx(float((xs > x).mean()), abs=0.03)


def test_conditional_survival_is_remaining_time_given_elapsed():
    rng = np.random.default_rng(6)
    m = DurationModel(short_s=12.0, prior_mean=150.0, prior_cv=1.0)
    xs = LognormalSpec(150.0, 1.0).sample(rng, 20000)
    for i, x in enumerate(xs):
        m.add(float(i) * 0.01, float(x))
    fit = m.fit(200.0)
    for e in (30.0, 300.0):
        alive = xs[xs > e]
        got = fit.conditional_sf(np.array([e]), np.array([60.0]))[0, 0]
        assert got == pytest.approx(float((alive > e + 60.0).mean()), abs=0.04)
    # a call that already lasted long is more likely to go on (decreasing hazard of the lognormal tail)
    assert (
        fit.conditional_sf(np.array([600.0]), np.array([60.0]))[0, 0]
        > fit.conditional_sf(np.array([100.0]), np.array([60.0]))[0, 0]
    )


def test_observations_update_counters():
    est = CampaignEstimators()
    est.observe(LiveAnswerObserved(at=1.0, abandoned=True, wait_s=2.0))
    est.observe(TalkObserved(at=1.0, talk_s=100.0))
    est.observe(WrapupObserved(at=1.0, wrap_s=20.0))
    assert (est.lives, est.abandons, est.talk.count, est.wrap.count) == (1, 1, 1, 1)
    assert math.isfinite(est.talk.fit(1.0).mean)


def test_the_night_between_two_shifts_counts_as_a_short_gap_not_as_sixteen_hours():
    """Forgetting runs on the campaign's active clock: the next morning starts from the evening's
    estimates (fewer of them), not from the priors. On wall time 16 h is 64 half-lives: nothing left."""
    rng = np.random.default_rng(3)
    est = CampaignEstimators(max_gap_s=300.0)
    t = _feed_dials(est, 0.0, 2000, 0.08, rng)
    for i in range(50):
        t += 1.0
        est.observe(TalkObserved(at=t, talk_s=100.0 + i))
    evening = est.share_estimate(t)
    morning = est.share_estimate(t + 16 * 3600.0)
    assert morning.p[LIVE] == pytest.approx(evening.p[LIVE], abs=0.005)  # the prior is 0.3
    # the gap counted 300 s of the 15-minute half-life: 2 ** (-1/3) of the evidence is left
    assert morning.n_eff == pytest.approx(evening.n_eff * 2 ** (-1 / 3), rel=0.01)
    talks = est.talk_fit(t + 16 * 3600.0).samples
    assert talks == pytest.approx(50 * 2 ** (-300 / 7200), rel=0.02)  # the talk fit's half-life is 2 h


def test_within_a_shift_the_active_clock_is_wall_time():
    rng = np.random.default_rng(4)
    est = CampaignEstimators(max_gap_s=300.0)
    t = _feed_dials(est, 0.0, 500, 0.3, rng)
    a0 = est.active_time(t)
    assert est.active_time(t + 200.0) == pytest.approx(a0 + 200.0)
    assert est.active_time(t + 5200.0) == pytest.approx(a0 + 500.0)  # a pause of 5000 s counts 300
    assert est.active_time(t + 5198.5) == pytest.approx(a0 + 498.5)  # an observation stamped a bit late
    assert est.active_time(t + 5200.0) == pytest.approx(a0 + 500.0)
