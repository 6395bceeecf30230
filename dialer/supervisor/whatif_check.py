"""How well the what-if replay predicts a shift it has the records of: the tolerance in docs/SUPERVISOR.md.

For each case, a shift is simulated with `pacing.sim` under known traffic and pacing settings; everything
its pacer observed is its recorded history. The history is fitted (`whatif.fit`) and replayed with the same
settings over fresh seeds (`whatif.replay`), and the prediction is compared with what that one shift
really did: talk share of logged-in time, abandon rate (abandoned / live answers, as the dialer counts
them) and contacts (connected live answers as the dialer records them: an answering machine that AMD
let through and an agent picked up is one, as in the call records). The error includes the shift's own
luck (it is one draw, the prediction a mean), which is what a supervisor comparing a prediction with a
real day would see.

    python -m dialer.supervisor.whatif_check            # the quick grid (about a minute)
    python -m dialer.supervisor.whatif_check --full     # adds predictive pacing, 50 agents, a day profile
    python -m dialer.supervisor.whatif_check --json out.json
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from collections.abc import Iterable
from typing import Any

import numpy as np

from dialer.supervisor.whatif import from_observations, replay
from pacing import Mode, Pacer, PacingKnobs
from pacing.sim import Scenario, simulate, telecom_upsell
from pacing.traffic import LiveProfile, TrafficModel
from pacing.types import CampaignSnapshot, Decision, Observation

__all__ = ["Case", "cases", "main", "run_case", "summarise"]


class _Recorder:
    """A pacing policy that keeps what it observed: the shift's recorded history."""

    def __init__(self, pacer: Pacer) -> None:
        self.pacer = pacer
        self.obs: list[Observation] = []

    def observe(self, obs: Observation) -> None:
        self.obs.append(obs)
        self.pacer.observe(obs)

    def decide(self, snap: CampaignSnapshot) -> Decision:
        return self.pacer.decide(snap)


@dataclasses.dataclass(frozen=True, slots=True)
class Case:
    name: str
    scenario: Scenario
    knobs: PacingKnobs
    seed: int


def _scenario(agents: int, p_live: float, profile: str, hours: float) -> Scenario:
    base = telecom_upsell()
    traffic: TrafficModel = dataclasses.replace(base.traffic, p_live=p_live, profile=LiveProfile(profile))
    return dataclasses.replace(base, name=f"{agents}a-p{p_live}-{profile}", agents=agents, traffic=traffic,
                               shift_s=hours * 3600.0)


def _plain_power(ratio: float) -> PacingKnobs:
    """Power as a plain ratio, the compliance ledger's budget aside: what is measured is the fit. Governed, a
    fresh period's first day turns on the few abandons that shift's own luck brings, which no replay of
    other seeds can match."""
    return PacingKnobs(mode=Mode.POWER, ratio=ratio, power_within_budget=False)


def cases(full: bool = False, seeds: Iterable[int] = (1, 2)) -> list[Case]:
    """The measurement grid: progressive and power at 10 and 20 agents, live-answer share 0.3 and 0.1, 4 h;
    `full` adds predictive pacing on the same cells, 50 agents, and an 8-hour day with a time-of-day profile."""
    cells: list[tuple[Scenario, PacingKnobs]] = []
    for n in (10, 20, 50) if full else (10, 20):
        for p_live in (0.3, 0.1):
            sc = _scenario(n, p_live, "flat", 4.0)
            cells += [(sc, PacingKnobs(mode=Mode.PROGRESSIVE)),
                      (sc, _plain_power(2.0 if p_live >= 0.3 else 3.5))]
            if full and n <= 20:
                cells.append((sc, PacingKnobs(mode=Mode.PREDICTIVE)))
    if full:
        day = _scenario(20, 0.2, "time_of_day", 8.0)
        cells += [(day, PacingKnobs(mode=Mode.PROGRESSIVE)), (day, _plain_power(2.5))]
    out: list[Case] = []
    for sc, knobs in cells:
        label = knobs.mode.value + (f" {knobs.ratio:g}" if knobs.mode is Mode.POWER else "")
        out += [Case(f"{sc.name} {label} seed {seed}", sc, knobs, seed) for seed in seeds]
    return out


def run_case(case: Case, replay_seeds: int = 3) -> dict[str, Any]:
    sc = case.scenario
    rec = _Recorder(Pacer(case.knobs))
    truth = simulate(sc, rec, case.seed)
    history = from_observations(rec.obs, campaign=sc.name, agents=sc.agents, shift_s=sc.shift_s,
                                ring_timeout_s=sc.ring_timeout_s, amd=sc.traffic.amd.enabled, hold_s=sc.hold_s,
                                jurisdiction=sc.jurisdiction)
    out = replay(history, [("as run", case.knobs)], seeds=replay_seeds, first_seed=1000 + case.seed)
    pred: dict[str, Any] = out["variants"][0]  # type: ignore[index]
    t_share = truth.talk_s / truth.logged_in_s
    t_ab = truth.seen_abandons / truth.seen_lives if truth.seen_lives else 0.0
    p_share, p_ab, p_contacts = float(pred["talk_share"]), float(pred["abandon_rate"]), float(pred["contacts"])
    return {
        "case": case.name, "agents": sc.agents, "mode": case.knobs.mode.value, "ratio": case.knobs.ratio,
        "truth_talk_share": t_share, "pred_talk_share": p_share, "talk_share_err_pp": 100 * (p_share - t_share),
        "truth_abandon": t_ab, "pred_abandon": p_ab, "abandon_err_pp": 100 * (p_ab - t_ab),
        "truth_contacts": history.contacts, "pred_contacts": p_contacts,
        "contacts_err_pct": 100 * (p_contacts - history.contacts) / history.contacts if history.contacts else 0.0,
    }


def summarise(rows: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    for key in ("talk_share_err_pp", "abandon_err_pp", "contacts_err_pct"):
        err = np.abs(np.array([r[key] for r in rows]))
        out[key] = {"mean_abs": float(err.mean()), "p90_abs": float(np.quantile(err, 0.9)), "max_abs": float(err.max())}
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m dialer.supervisor.whatif_check", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--full", action="store_true", help="the full grid (predictive, 50 agents, a day profile)")
    ap.add_argument("--replay-seeds", type=int, default=3)
    ap.add_argument("--json", default=None, help="write every case and the summary to this file")
    args = ap.parse_args(argv)
    started = time.perf_counter()
    rows = []
    print(f"{'case':<44} {'talk share truth/pred':>22} {'abandon % truth/pred':>21} {'contacts truth/pred':>20}")
    for case in cases(args.full):
        r = run_case(case, args.replay_seeds)
        rows.append(r)
        print(f"{r['case']:<44} {100 * r['truth_talk_share']:>10.1f} / {100 * r['pred_talk_share']:<9.1f}"
              f"{100 * r['truth_abandon']:>10.2f} / {100 * r['pred_abandon']:<8.2f}"
              f"{r['truth_contacts']:>10d} / {r['pred_contacts']:<8.0f}", flush=True)
    s = summarise(rows)
    print(f"\n{len(rows)} cases in {time.perf_counter() - started:.0f} s")
    for key, unit in (("talk_share_err_pp", "pp"), ("abandon_err_pp", "pp"), ("contacts_err_pct", "%")):
        v = s[key]
        print(f"{key:<20} mean |err| {v['mean_abs']:.2f} {unit}, 90% within {v['p90_abs']:.2f} {unit}, "
              f"max {v['max_abs']:.2f} {unit}")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump({"summary": s, "cases": rows}, fh, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
