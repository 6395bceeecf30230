"""The benchmark's target checks read the table the way the issue states the targets."""

import importlib.util
import sys
from pathlib import Path

import pytest

_PATH = Path(__file__).resolve().parents[2] / "bench" / "pacing_report.py"
_spec = importlib.util.spec_from_file_location("pacing_report_under_test", _PATH)
assert _spec is not None
assert _spec.loader is not None
report = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = report
_spec.loader.exec_module(report)


def row(scenario, policy, agents=20, p_live=0.3, talk=40.0, ab=2.0, kind="shift", **kw):
    base = {
        "scenario": scenario,
        "policy": policy,
        "agents": agents,
        "p_live": p_live,
        "kind": kind,
        "jurisdiction": "us",
        "talk_min_per_hour": talk,
        "bound_talk_min_per_hour": 50.0,
        "talk_share_of_bound": talk / 50.0,
        "contacts_per_agent_shift": 130.0,
        "abandon_pct_mean": ab,
        "abandon_pct_with_fp_mean": ab + 1.0,
        "abandon_pct_worst_24h": ab,
        "abandon_pct_worst_24h_with_fp": ab + 1.0,
        "abandon_pct_worst_24h_est_fp": ab + 1.0,
        "p_30d_over_cap": 0.0,
        "wait_p95_s": 0.0,
        "idle_s_per_contact": 20.0,
        "dials_per_contact": 4.0,
    }
    return {**base, **kw}


def _targets(table, wall=100.0):
    return {
        what: ok for what, ok, _ in report.targets(table, {"command": "python -m bench.pacing --quick", "wall_s": wall})
    }


def test_all_met():
    table = [
        row("a", "predictive", talk=45.0),
        row("a", "progressive", talk=36.0, ab=0.0),
        row("a", "fixed_ratio", talk=39.0, ab=2.8),
        row("a", "vicidial_average", talk=38.0, ab=3.0),
    ]
    assert all(_targets(table).values())


@pytest.mark.parametrize(
    ("change", "target"),
    [
        ({"ab": 2.6}, "abandon: mean at most 2.5% of live answers in every cell"),
        ({"talk": 43.0}, "talk share: N = 20-50 at least 88% of T/(T+W)"),
        ({"p_30d_over_cap": 0.02}, "abandon: P(30-day rate > 3%) below 1%"),
    ],
)
def test_each_failure_is_reported(change, target):
    table = [row("a", "predictive", **{"talk": 45.0, **change}), row("a", "fixed_ratio", talk=39.0)]
    assert _targets(table)[target] is False


def test_uk_cells_use_false_positives_and_small_campaigns_must_never_breach():
    table = [
        row(
            "uk",
            "predictive",
            agents=10,
            talk=45.0,
            kind="uk",
            jurisdiction="uk",
            p_24h_over_cap=0.0,
            abandon_pct_worst_24h_est_fp=3.2,
        )
    ]
    t = _targets(table)
    assert t["UK: P(any 24 h > 3%) < 5% at N >= 20, never at N = 5-10"] is False
    assert t["abandon: mean at most 2.5% of live answers in every cell"] is False  # 2.0 + 1.0 with FP


def test_uk_windows_are_judged_by_the_regulators_count_and_the_real_one_is_shown():
    uk = {"kind": "uk", "jurisdiction": "uk", "agents": 5, "p_24h_over_cap": 0.0, "ab": 1.0}
    table = [
        row("uk", "predictive", talk=45.0, abandon_pct_worst_24h_est_fp=2.9, abandon_pct_worst_24h_with_fp=3.4, **uk),
        row("uk", "progressive", talk=30.0, abandon_pct_worst_24h_est_fp=1.0, abandon_pct_worst_24h_with_fp=2.5, **uk),
    ]
    [(ok, evidence)] = [(ok, ev) for what, ok, ev in report.targets(table, {"command": "x"}) if what.startswith("UK")]
    assert ok is True
    assert "worst 3.40% (progressive alone: 2.50%)" in evidence


def test_quick_grid_time():
    assert _targets([row("a", "predictive", talk=45.0)], wall=700.0)["quick grid under 10 minutes on 2 cores"] is False


def test_markdown_marks_breaches(tmp_path):
    table = [row("a", "predictive", talk=45.0), row("a", "vicidial_hard_limit", ab=3.4)]
    out = tmp_path / "p.md"
    report.write_markdown(out, table, {"command": "x", "wall_s": 1.0, "workers": 2, "seeds": 2})
    text = out.read_text()
    assert "**38.0 (3.4%) breach**" not in text  # talk 40.0 by default
    assert "breach**" in text
    assert "| abandon: mean at most 2.5% of live answers in every cell | yes |" in text


def test_amd_off_cells_are_judged_on_t_over_t_plus_w_and_show_the_bound_with_machines():
    amd_off = {
        "agents": 50,
        "f_amd": "off",
        "talk_share_of_bound_with_machines": 0.92,
        "abandon_pct_as_counted_mean": 2.3,
    }
    table = [row("off", "predictive", talk=40.0, ab=2.4, **amd_off), row("off", "fixed_ratio", talk=39.0)]
    found = {what: (ok, ev) for what, ok, ev in report.targets(table, {"command": "x"})}
    ok, evidence = found["talk share: N = 20-50 at least 88% of T/(T+W)"]
    assert ok is False  # 80 % of T/(T+W): the bound decides, the other is shown beside it
    assert "off 80.0% (AMD off: 92.0% of the bound with the agents' time on machines)" in evidence
    ok, evidence = found["abandon: mean at most 2.5% of live answers in every cell"]
    assert ok is True
    assert "AMD off, people 2.40% against, as counted (Ofcom's reasoned estimate), 2.30%" in evidence


def test_with_amd_on_the_bound_with_machines_is_shown_only_when_machines_got_through():
    table = [
        row("a", "predictive", agents=100, talk=47.0, talk_share_of_bound_with_machines=0.955),
        row("b", "predictive", agents=100, talk=47.0, talk_share_of_bound_with_machines=0.94),
    ]
    found = report.targets(table, {"command": "x"})
    [evidence] = [ev for what, _, ev in found if what.startswith("talk share: N >= 100")]
    assert evidence == (
        "a 94.0% (AMD on, machines it let through: 95.5% of the bound with the agents' time on machines), b 94.0%"
    )
