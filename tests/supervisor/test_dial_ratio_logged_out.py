"""`dialer_dial_ratio` and the API's `dial_level` are one figure: logged-out agents work no calls.

A logged-out agent keeps their campaign in the roster; the gauge counted them as working (only paused agents
were left out), so with 1 ready, 3 logged out and 2 dials out it read 0.5 while the API read 2.0.
"""

from __future__ import annotations

from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families
from sup_fakes import AUTH, Rig

from agents import commands as ac
from dialer.engine.core import DialRequest

RO = AUTH["read-only"]


def _gauge(rig: Rig, name: str, campaign: str = "upsell") -> float:
    for fam in text_string_to_metric_families(generate_latest(rig.daemon.metrics.registry).decode()):
        for s in fam.samples:
            if s.name == name and s.labels.get("campaign") == campaign:
                return float(s.value)
    raise AssertionError(f"no {name} for {campaign}")


async def test_logged_out_agents_do_not_lower_the_dial_ratio(client, rig):
    d = rig.daemon
    for i in range(4):
        rig.login(f"a{i}", f"100{i}")
    for i in range(1, 4):  # three go home: paused, then logged out
        d.agent_command(ac.Pause(f"a{i}", "break"))
        d.agent_command(ac.Logout(f"a{i}"))
    now = rig.clock.now()
    d.execute(rig.engine.launch("upsell", [DialRequest("L1", "+12125550001"), DialRequest("L2", "+12125550002")],
                                now), now)
    d._update_gauges()

    api = (await client.get("/api/campaigns/upsell", headers=RO)).json()
    assert api["agents"]["ready"] == 1
    assert api["dial_level"] == 2.0
    assert _gauge(rig, "dialer_calls_in_flight") == 2
    assert _gauge(rig, "dialer_dial_ratio") == api["dial_level"]


def test_working_agents_leaves_out_paused_and_logged_out():
    from dialer.metrics import dial_level, working_agents

    by_state = {"ready": 1, "reserved": 1, "previewing": 1, "dialing": 1, "talking": 2, "wrapup": 1, "paused": 4,
                "logged_out": 9}
    assert working_agents(by_state) == 7
    assert dial_level(14, by_state) == 2.0
    assert dial_level(3, {"paused": 2, "logged_out": 1}) == 0.0
