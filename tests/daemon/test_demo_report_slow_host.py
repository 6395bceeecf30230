"""The demo's report says when its abandons are the host's, not the pacer's: most of them connected to an agent
after the 2 s (the host could not keep up at this speed), and suggests a lower `--speed`. A busy host reported
`abandoned 105 (20.23% of live answers; cap 3%); 92 of them connected after the 2 s` and nothing more."""

from __future__ import annotations

from dialer.demo import _report


def rec(outcome: str, abandoned: bool) -> dict[str, str]:
    return {"campaign_id": "up", "outcome": outcome, "abandoned": "1" if abandoned else "0", "human_at": "1.0",
            "talk_s": "60.0" if outcome == "connected" else ""}


def shift(late: int, early: int, fine: int) -> list[dict[str, str]]:
    """`late` people connected after the 2 s, `early` who hung up waiting, `fine` connected in time."""
    return ([rec("connected", True)] * late + [rec("abandoned", True)] * early + [rec("connected", False)] * fine)


def test_abandons_mostly_late_connects_say_the_host_could_not_keep_up_and_suggest_a_lower_speed() -> None:
    r = _report(shift(late=92, early=13, fine=414), [], agents=10, hours=4.0, seed=1, speed=70.0, wall=210.0)
    assert (r.abandoned, r.connected_late) == (105, 92)
    text = r.table()
    assert "92 of them connected after the 2 s" in text
    assert "this host could not keep up at 70x" in text, text
    assert "--speed 35" in text, text


def test_abandons_that_are_not_late_connects_or_within_the_cap_get_no_host_hint() -> None:
    pacer = _report(shift(late=2, early=103, fine=414), [], agents=10, hours=4.0, seed=1, speed=70.0, wall=1.0)
    within = _report(shift(late=5, early=0, fine=400), [], agents=10, hours=4.0, seed=1, speed=70.0, wall=1.0)
    for r in (pacer, within):
        assert "could not keep up" not in r.table()
        assert "--speed" not in r.table()
