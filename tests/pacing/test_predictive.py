import numpy as np
import pytest

from pacing.forecast import Curves, K
from pacing.predictive import choose_launch, predicted_abandon

T = np.arange(K, dtype=float)
# a new dial: live with probability 0.3, answering between 8 and 20 s
NEW = 0.3 * np.clip((T - 8.0) / 12.0, 0.0, 1.0)


def _curves(ready=0.0, frees_per_s=0.0, in_flight_live=0.0, waiting=0.0):
    supply = ready + frees_per_s * T
    dial = in_flight_live * np.clip(T / 10.0, 0.0, 1.0)
    return Curves(
        supply=supply,
        supply_var=0.5 * frees_per_s * T,
        demand=dial + waiting,
        demand_var=dial * 0.5,
        dial_demand=dial,
        dial_self=np.zeros(K),
        dial_self_var=np.zeros(K),
    )


def test_no_agents_coming_means_no_dials():
    assert choose_launch(_curves(), NEW, tau=0.025, n_cap=50).launch == 0


def test_a_ready_agent_with_nothing_in_flight_gets_calls():
    c = choose_launch(_curves(ready=1.0), NEW, tau=0.025, n_cap=50)
    assert c.launch >= 1
    assert c.predicted_abandon <= 0.025


@pytest.mark.parametrize("tau", [0.01, 0.025, 0.05, 0.1])
def test_the_choice_meets_its_own_target(tau):
    c = choose_launch(_curves(ready=2.0, frees_per_s=0.1, in_flight_live=1.0), NEW, tau=tau, n_cap=200)
    if c.launch > 0:
        assert c.predicted_abandon <= tau + 1e-9  # the batch's own increment
    else:
        assert c.predicted_abandon > 0  # with nothing launched: the risk of the calls in flight
    nxt = predicted_abandon(_curves(ready=2.0, frees_per_s=0.1, in_flight_live=1.0), NEW, c.launch + 1)
    assert nxt.expected_lost >= c.expected_lost


def test_monotone_in_the_inputs():
    base = dict(ready=1.0, frees_per_s=0.1, in_flight_live=1.0)
    n = choose_launch(_curves(**base), NEW, 0.025, 200).launch
    assert choose_launch(_curves(**{**base, "ready": 3.0}), NEW, 0.025, 200).launch >= n
    assert choose_launch(_curves(**{**base, "frees_per_s": 0.3}), NEW, 0.025, 200).launch >= n
    assert choose_launch(_curves(**{**base, "in_flight_live": 3.0}), NEW, 0.025, 200).launch <= n
    assert choose_launch(_curves(**base), NEW, 0.05, 200).launch >= n


def test_the_cap_is_respected():
    assert choose_launch(_curves(ready=50.0), NEW, tau=0.5, n_cap=7).launch == 7


def test_people_waiting_for_agents_that_will_come_use_them_up():
    calm = choose_launch(_curves(ready=0.0, frees_per_s=1.0), NEW, 0.025, 100).launch
    queue = choose_launch(_curves(ready=0.0, frees_per_s=1.0, waiting=3.0), NEW, 0.025, 100).launch
    assert queue < calm


def test_overload_is_not_mistaken_for_safety():
    # regression: the mean-field pass alone saw almost no added loss once losses were already certain
    c = choose_launch(_curves(ready=0.0, frees_per_s=0.05, in_flight_live=8.0, waiting=5.0), NEW, 0.025, 150)
    assert c.launch == 0
