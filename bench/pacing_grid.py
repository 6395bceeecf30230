"""The scenario grid of the pacing benchmark (see bench/pacing.py and docs/PACING.md).

Every (agents, live-answer probability) pair is one cell; the other factors the issue lists (live-answer
profile over the day, answering-machine and busy shares, no-answer timeout, AMD and its false positives,
talk and wrap-up times) rotate through their levels from cell to cell with different strides, so the
grid covers every level of every factor without a full factorial. The rotation is a fixed function of
the cell's position: a cell's scenario never depends on which other cells run.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from pacing.sim import Scenario, telecom_upsell
from pacing.traffic import AmdSpec, LiveProfile, LognormalSpec, RingMix, TrafficModel
from pacing.types import Jurisdiction

__all__ = ["Cell", "grid"]

AGENTS = (5, 10, 20, 50, 100, 500)
P_LIVE = (0.05, 0.1, 0.2, 0.3, 0.5)
PROFILES = ("time_of_day", "halving", "drift")
MACHINES = (0.10, 0.25, 0.40)
BUSY = (0.03, 0.06, 0.045)
TIMEOUTS = (20.0, 15.0, 25.0)
AMD = (("on", 0.01), ("on", 0.03), ("off", 0.0), ("on", 0.05), ("on", 0.0))
TALK = ((180.0, 1.0), (60.0, 0.8), (360.0, 1.5), (180.0, 1.5), (60.0, 1.5), (360.0, 0.8))
WRAP = (30.0, 10.0, 60.0)
# the simulator also decides whenever an agent frees up or a dial fails while ready agents are uncovered;
# a 2 s timer instead of 1 s changed no result measurably (telecom_upsell: 44.14 vs 44.11 talk min/h)
# and halves the predictive runs' cost, so the grid uses it; telecom_upsell keeps 1 s
GRID_TIMER_S = 2.0


@dataclass(frozen=True, slots=True)
class Cell:
    """One scenario of the grid and how to measure it."""

    scenario: Scenario
    kind: str  # "shift": one measured shift; "uk": rolling 24 h over days; "us30": a 30-day period
    measure_from_day: int  # days before this one warm the campaign up (estimators, ledger budget)
    factors: dict[str, object] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.scenario.name


def _traffic(p_live: float, i: int) -> tuple[TrafficModel, float, dict[str, object]]:
    profile = PROFILES[i % 3]
    machines = MACHINES[(i // 3) % 3]
    busy = BUSY[(2 * i + 1) % 3]
    timeout = TIMEOUTS[(i // 2) % 3]
    amd_on, fp = AMD[i % 5]
    talk_mean, talk_cv = TALK[(i + i // 6) % 6]
    wrap = WRAP[(i // 5) % 3]
    tm = TrafficModel(
        p_live=p_live,
        p_machine=machines,
        p_busy=busy,
        profile=LiveProfile(profile),
        live_ring=RingMix(means=(8.0, 20.0), weights=(0.6, 0.4)),
        talk=LognormalSpec(talk_mean, talk_cv),
        wrapup=LognormalSpec(wrap, 0.5),
        amd=AmdSpec(enabled=amd_on == "on", false_positive=fp),
    )
    factors: dict[str, object] = {
        "profile": profile,
        "machines": machines,
        "busy": busy,
        "timeout_s": timeout,
        "amd": amd_on,
        "amd_fp": fp,
        "talk_mean_s": talk_mean,
        "talk_cv": talk_cv,
        "wrap_mean_s": wrap,
    }
    return tm, timeout, factors


def _shift_cell(agents: int, p_live: float, i: int) -> Cell:
    tm, timeout, factors = _traffic(p_live, i)
    name = f"grid-n{agents}-p{p_live:g}-{factors['profile']}"
    sc = Scenario(name=name, agents=agents, traffic=tm, ring_timeout_s=timeout, days=2, decide_every_s=GRID_TIMER_S)
    return Cell(sc, "shift", 1, {"agents": agents, "p_live": p_live, **factors})


def _upsell(days: int = 2) -> Cell:
    sc = telecom_upsell(days=days)
    f: dict[str, object] = {
        "agents": 20,
        "p_live": 0.3,
        "profile": "flat",
        "machines": 0.15,
        "busy": 0.05,
        "timeout_s": 20.0,
        "amd": "on",
        "amd_fp": 0.01,
        "talk_mean_s": 150.0,
        "talk_cv": 1.0,
        "wrap_mean_s": 30.0,
    }
    return Cell(sc, "shift", 1, f)


def _uk(agents: int, p_live: float, days: int) -> Cell:
    """UK rules over several days: rolling 24-hour windows, AMD false positives counted."""
    base = telecom_upsell()
    tm = replace(base.traffic, p_live=p_live, profile=LiveProfile("time_of_day"))
    sc = replace(
        base, name=f"uk-n{agents}-p{p_live:g}", agents=agents, traffic=tm, days=days, jurisdiction=Jurisdiction.UK
    )
    f: dict[str, object] = {"agents": agents, "p_live": p_live, "profile": "time_of_day", "amd": "on", "amd_fp": 0.01}
    return Cell(sc, "uk", 1, f)


def _us30(agents: int, p_live: float) -> Cell:
    """A whole US 30-day period after one warm-up day."""
    base = telecom_upsell()
    tm = replace(base.traffic, p_live=p_live, profile=LiveProfile("time_of_day"))
    sc = replace(
        base, name=f"us30-n{agents}-p{p_live:g}", agents=agents, traffic=tm, days=31, decide_every_s=GRID_TIMER_S
    )
    f: dict[str, object] = {"agents": agents, "p_live": p_live, "profile": "time_of_day", "amd": "on", "amd_fp": 0.01}
    return Cell(sc, "us30", 1, f)


def grid(quick: bool, frontier: bool = False) -> list[Cell]:
    """The benchmark's cells: the quick grid (minutes) or the full one (hours)."""
    cells: list[Cell] = [_upsell()]
    if frontier:
        up = _upsell()
        cells.append(replace(up, scenario=replace(up.scenario, name="telecom_upsell-frontier"), kind="frontier"))
    pairs = [(n, p) for n in AGENTS for p in P_LIVE]
    index = {pair: i for i, pair in enumerate(pairs)}
    if quick:
        chosen = [(5, 0.05), (5, 0.3), (10, 0.1), (20, 0.1), (20, 0.3), (50, 0.2), (100, 0.3)]
        cells += [_shift_cell(n, p, index[(n, p)]) for n, p in chosen]
        cells += [_uk(10, 0.1, 3), _uk(20, 0.3, 3)]
    else:
        cells += [_shift_cell(n, p, index[(n, p)]) for n, p in pairs]
        cells += [_uk(n, p, 8) for n in (5, 10, 20, 50) for p in (0.1, 0.3)]
        cells += [_us30(n, 0.2) for n in (5, 20)]
    return cells
