import math

import numpy as np
import pytest

from pacing._math import erfc, log_norm_sf, lognormal_sf, norm_cdf, overflow_mean

XS = np.linspace(-6.0, 9.0, 301)


def test_erfc_relative_error_is_tiny_everywhere():
    want = np.array([math.erfc(x) for x in XS])
    assert np.max(np.abs(erfc(XS) / want - 1.0)) < 2e-7


def test_log_norm_sf_matches_far_into_the_tail():
    z = np.array([-3.0, 0.0, 2.0, 8.0, 20.0])
    want = np.array([math.log(0.5 * math.erfc(v / math.sqrt(2))) for v in z])
    assert np.allclose(log_norm_sf(z), want, rtol=1e-6, atol=1e-9)


def test_lognormal_sf_is_one_below_zero_and_half_at_the_median():
    mu, sigma = math.log(100.0), 0.8
    out = lognormal_sf(np.array([-1.0, 0.0, 100.0]), mu, sigma)
    assert out[0] == 1.0
    assert out[1] == 1.0
    assert out[2] == pytest.approx(0.5, abs=1e-7)


def test_norm_cdf_symmetry():
    assert np.allclose(norm_cdf(XS) + norm_cdf(-XS), 1.0, atol=1e-7)


@pytest.mark.parametrize(("mean", "var", "want"), [(-5.0, 1e-8, 0.0), (3.0, 1e-8, 2.5), (0.5, 1e-8, 0.0)])
def test_overflow_mean_of_a_near_constant(mean, var, want):
    assert float(overflow_mean(np.array([mean]), np.array([var]))[0]) == pytest.approx(want, abs=1e-4)


def test_overflow_mean_against_monte_carlo():
    rng = np.random.default_rng(3)
    x = rng.normal(0.7, 1.3, 400_000)
    want = np.maximum(x - 0.5, 0).mean()
    assert float(overflow_mean(np.array([0.7]), np.array([1.69]))[0]) == pytest.approx(want, rel=0.01)
