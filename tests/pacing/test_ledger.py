import math

import pytest

from pacing.ledger import UK_WINDOW_S, US_PERIOD_S, ComplianceLedger
from pacing.types import DialObserved, Jurisdiction, LiveAnswerObserved

DAY = 86400.0


def _lives(led, t0, n, abandons=0, dt=1.0):
    for i in range(n):
        led.observe(LiveAnswerObserved(at=t0 + i * dt, abandoned=i < abandons, wait_s=0.0))


def test_budget_is_the_abandons_the_window_can_still_absorb():
    led = ComplianceLedger(Jurisdiction.US, 0.03, period_start=0.0)
    _lives(led, 0.0, 1000, abandons=10)
    st = led.status(2000.0)
    assert (st.lives, st.abandons, st.rate) == (1000.0, 10.0, 0.01)
    # k more abandons keep (10 + k) / (1000 + k) <= 3 %
    k = st.budget
    assert (10 + k) / (1000 + k) == pytest.approx(0.03)


def test_fresh_campaign_has_no_budget():
    led = ComplianceLedger(Jurisdiction.US)
    assert led.budget(0.0) == 0.0


@pytest.mark.parametrize(
    ("now", "lives", "budget_zero"),
    [
        (US_PERIOD_S - 3600.0, 1000.0, False),  # late in the first 30-day period
        (US_PERIOD_S - 60.0, 1000.0, True),  # dials launched now may resolve in the next period
        (US_PERIOD_S + 10.0, 0.0, True),  # a new period starts empty
    ],
)
def test_us_uses_successive_30_day_periods(now, lives, budget_zero):
    led = ComplianceLedger(Jurisdiction.US, 0.03, period_start=0.0, horizon_s=120.0)
    _lives(led, 100.0, 1000)
    st = led.status(now)
    assert st.lives == lives
    assert (st.budget <= 0.0) is budget_zero


def test_uk_window_rolls_over_24_hours():
    led = ComplianceLedger(Jurisdiction.UK, 0.03, amd_false_positive=0.0, expiry_lookahead_s=0.0, horizon_s=0.0)
    _lives(led, 0.0, 600, abandons=18)  # day 1 morning: exactly 3 %
    _lives(led, 6 * 3600.0, 400)
    assert led.status(8 * 3600.0).rate == pytest.approx(18 / 1000)
    # the next day, the morning's calls have left the window
    st = led.status(DAY + 4 * 3600.0)
    assert st.lives == 400.0
    assert st.abandons == 0.0


def test_uk_budget_does_not_rest_on_calls_about_to_expire():
    led = ComplianceLedger(Jurisdiction.UK, 0.03, amd_false_positive=0.0, expiry_lookahead_s=3600.0)
    _lives(led, 0.0, 1000)
    assert led.status(DAY - 7200.0).budget > 20.0
    assert led.status(DAY - 1800.0).budget == 0.0  # all of them expire within the look-ahead


def test_uk_counts_estimated_amd_false_positives():
    led = ComplianceLedger(Jurisdiction.UK, 0.03, amd_false_positive=0.01, expiry_lookahead_s=0.0)
    for i in range(1000):
        led.observe(DialObserved(at=float(i), outcome="live", ring_s=8.0, amd_delay_s=1.5))
        led.observe(LiveAnswerObserved(at=float(i), abandoned=False, wait_s=0.0))
    st = led.status(2000.0)
    phi = 0.01 / 0.99
    assert st.false_positives == pytest.approx(1000 * phi)
    assert st.rate == pytest.approx(1000 * phi / (1000 + 1000 * phi))
    # each further abandon also brings its own estimated false positives
    k = st.budget
    fp = 1000 * phi + k * phi
    assert (k + fp) / (1000 + k + fp) == pytest.approx(0.03)


def test_us_ignores_amd_false_positives():
    led = ComplianceLedger(Jurisdiction.US, 0.03, amd_false_positive=0.02, period_start=0.0)
    for i in range(100):
        led.observe(DialObserved(at=float(i), outcome="live", ring_s=8.0, amd_delay_s=1.5))
        led.observe(LiveAnswerObserved(at=float(i), abandoned=False, wait_s=0.0))
    assert led.status(200.0).rate == 0.0


def test_false_positives_alone_over_the_cap_block_dialing():
    led = ComplianceLedger(Jurisdiction.UK, 0.03, amd_false_positive=0.05)
    led.observe(DialObserved(at=1.0, outcome="live", ring_s=8.0, amd_delay_s=1.5))
    st = led.status(2.0)
    assert st.blocked
    assert st.budget == -math.inf


def test_uk_buckets_are_conservative_at_the_window_edge():
    led = ComplianceLedger(Jurisdiction.UK, 0.03, amd_false_positive=0.0, expiry_lookahead_s=0.0, horizon_s=0.0)
    led.observe(LiveAnswerObserved(at=30.0, abandoned=True, wait_s=2.0))
    led.observe(LiveAnswerObserved(at=40.0, abandoned=False, wait_s=0.0))
    st = led.status(UK_WINDOW_S + 35.0)  # the window starts inside the first bucket
    assert st.abandons == 1.0
    assert st.lives == 0.0


def test_knob_changes_keep_history():
    led = ComplianceLedger(Jurisdiction.US, 0.03, period_start=0.0)
    _lives(led, 0.0, 100, abandons=2)
    led.configure(Jurisdiction.UK, 0.03, 0.0)
    assert led.status(200.0).jurisdiction is Jurisdiction.UK
    assert led.status(200.0).abandons == 2.0


def test_bad_configuration_is_refused():
    with pytest.raises(ValueError, match="cap"):
        ComplianceLedger(Jurisdiction.US, 1.5)
    with pytest.raises(ValueError, match="amd_false_positive"):
        ComplianceLedger(Jurisdiction.UK, 0.03, amd_false_positive=1.0)
