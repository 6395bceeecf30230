"""What-if replay: fit a day's recorded history to a shift scenario, then run the shift simulator on it
under other pacing settings, side by side.

Theory of operation. What a campaign's records say about the called population and the agents is
summarised in a `History`: dials and their outcomes (as the dialer saw them, after AMD) hour by hour,
samples of ring times, AMD verdict delays, talk and wrap-up times, and the agent count. `fit` turns it
into a `pacing.sim.Scenario`:
  - outcome shares are the observed shares; the live share moves hour by hour (an hourly profile);
  - ring times are the empirical distribution (a mixture of narrow lognormals at its deciles), and the
    live and machine shares are raised by the part of that mixture the ring timeout cuts off, so the
    simulator, which applies the same timeout, sees the same answered share the dialer saw;
  - AMD is taken as the dialer saw it (its verdicts are the outcomes), so its error rates are zero and
    only its delays are kept;
  - talk and wrap-up are lognormals with the observed mean and coefficient of variation.
`replay` runs `pacing.sim.simulate` with a fresh `Pacer` per setting and seed (the same object the
daemon uses) and reports talk share, contacts and abandon rate, averaged over seeds with their range.

How far to trust it is measured by `dialer.supervisor.whatif_check` (docs/SUPERVISOR.md): a simulated
shift is recorded, fitted and replayed with the settings it really used, and the prediction is compared
with what that shift really did.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from dialer.engine.records import CallRecord
from pacing import Jurisdiction, Pacer, PacingKnobs
from pacing.sim import Scenario, simulate
from pacing.traffic import AmdSpec, LiveProfile, LognormalSpec, RingMix, TrafficModel
from pacing.types import DialObserved, LiveAnswerObserved, Observation, TalkObserved, WrapupObserved

__all__ = ["SEEN", "History", "HourlyProfile", "fit", "from_observations", "from_records", "replay"]

SEEN = ("live", "machine", "busy", "congestion", "invalid", "no_answer")
_IDX = {s: i for i, s in enumerate(SEEN)}
_OF_OUTCOME = {"connected": "live", "abandoned": "live", "hung_up_waiting": "live", "hung_up_screening": "machine",
               "machine": "machine", "busy": "busy", "congestion": "congestion", "invalid": "invalid",
               "failed": "congestion", "no_answer": "no_answer", "lost": "no_answer", "transfer_failed": "live",
               # agentless calls (a mode switch in the day): what answered, though no agent was offered them
               "delivered": "live", "hung_up_before_message": "live", "machine_message": "machine"}
_MIN_HOUR_DIALS = 30


@dataclass(frozen=True, slots=True)
class HourlyProfile(LiveProfile):
    """A live-answer profile given hour by hour (multipliers of the day's mean share)."""

    hourly: tuple[float, ...] = ()

    def multiplier(self, t: float) -> float:
        if not self.hourly:
            return 1.0
        return self.hourly[min(max(int(t // 3600.0), 0), len(self.hourly) - 1)]


@dataclass(frozen=True, slots=True)
class History:
    """One campaign's recorded day, as the fit needs it, and what that day achieved."""

    campaign: str
    shift_s: float
    agents: int
    hourly: np.ndarray  # (hours, 6) counts of seen outcomes by hour of dialing, SEEN order
    live_ring: np.ndarray
    machine_ring: np.ndarray
    fail_ring: np.ndarray
    human_delay: np.ndarray
    machine_delay: np.ndarray
    talk: np.ndarray
    wrap: np.ndarray
    amd: bool = True
    ring_timeout_s: float = 20.0
    hold_s: float = 2.0
    jurisdiction: Jurisdiction = Jurisdiction.US
    contacts: int = 0
    talk_total_s: float = 0.0
    lives: int = 0
    abandons: int = 0
    notes: tuple[str, ...] = field(default=())

    @property
    def dials(self) -> int:
        return int(self.hourly.sum())

    def actual(self) -> dict[str, float | int | None]:
        """What the recorded day did, in the replay's terms."""
        logged = self.agents * self.shift_s
        return {
            "talk_share": self.talk_total_s / logged if logged else None,
            "contacts": self.contacts,
            "contacts_per_agent_hour": self.contacts / (logged / 3600.0) if logged else None,
            "abandon_rate": self.abandons / self.lives if self.lives else None,
            "dials": self.dials,
        }


def _arr(xs: Iterable[float]) -> np.ndarray:
    return np.asarray([x for x in xs if x is not None and math.isfinite(x) and x >= 0], dtype=float)


def from_records(
    records: Sequence[CallRecord], wrap_of: Mapping[str, float], *, campaign: str, start: float,
    end: float, agents: int | None = None, ring_timeout_s: float = 20.0, amd: bool = True, hold_s: float = 2.0,
    jurisdiction: Jurisdiction = Jurisdiction.US,
) -> History:
    """A day from the daemon's call records (parsed: `CallRecord.from_fields`) that ended in [start, end).
    `wrap_of` maps call ids to their wrap-up seconds (disposition time minus call end)."""
    hours = max(1, math.ceil((end - start) / 3600.0))
    hourly = np.zeros((hours, len(SEEN)), dtype=np.int64)
    live_ring: list[float] = []
    machine_ring: list[float] = []
    fail_ring: list[float] = []
    human_delay: list[float] = []
    machine_delay: list[float] = []
    talk: list[float] = []
    wrap: list[float] = []
    per_hour_agents: list[set[str]] = [set() for _ in range(hours)]
    contacts = lives = abandons = 0
    talk_total = 0.0
    notes: list[str] = []

    for r in records:
        # an AMD audit call reached an agent, but the dialer saw a machine verdict (docs/PACING.md)
        audit = r.amd_audit
        seen = "machine" if audit else _OF_OUTCOME.get(r.outcome)
        if seen is None:
            continue
        t0 = r.originated_at or r.created_at  # one never originated: when it was placed
        t_end = r.ended_at
        h = min(hours - 1, max(0, int((t0 - start) // 3600.0)))
        hourly[h, _IDX[seen]] += 1
        answered, human = r.answered_at, r.human_at
        if seen in ("live", "machine") and answered is not None:
            (live_ring if seen == "live" else machine_ring).append(answered - t0)
            if human is not None:
                human_delay.append(human - answered)
            elif seen == "machine" and not audit:  # an audit call's end is not its verdict
                machine_delay.append(t_end - answered)
        elif seen in ("busy", "congestion", "invalid"):
            fail_ring.append(t_end - t0)
        if r.offered_to_agents:
            lives += 1
            abandons += int(r.abandoned)
        connected, talk_s = r.connected_at, r.talk_s
        if connected is not None and not r.abandoned and not audit:
            contacts += 1
            if talk_s is not None:
                talk.append(talk_s)
                talk_total += max(0.0, min(t_end, end) - max(connected, start))
            if r.agent_id:
                per_hour_agents[min(hours - 1, max(0, int((connected - start) // 3600.0)))].add(r.agent_id)
            w = wrap_of.get(r.call_id)
            if w is not None:
                wrap.append(w)
    if agents is None:
        full = [len(s) for s in per_hour_agents[: max(1, hours - 1)]] or [0]
        agents = max(max(full), 1)
        notes.append(f"agent count {agents} estimated from the agents who took calls each hour")
    if not wrap:
        notes.append("no dispositions: wrap-up time assumed (lognormal mean 30 s)")
    return History(campaign=campaign, shift_s=min(86400.0, end - start), agents=int(agents), hourly=hourly,
                   live_ring=_arr(live_ring), machine_ring=_arr(machine_ring), fail_ring=_arr(fail_ring),
                   human_delay=_arr(human_delay), machine_delay=_arr(machine_delay), talk=_arr(talk), wrap=_arr(wrap),
                   amd=amd, ring_timeout_s=ring_timeout_s, hold_s=hold_s, jurisdiction=jurisdiction,
                   contacts=contacts, talk_total_s=float(talk_total), lives=lives, abandons=abandons,
                   notes=tuple(notes))


def from_observations(obs: Iterable[Observation], *, campaign: str, agents: int, shift_s: float,
                      ring_timeout_s: float, amd: bool, hold_s: float,
                      jurisdiction: Jurisdiction = Jurisdiction.US) -> History:
    """A shift recorded from what its pacer observed (the shift simulator's run, or any run that feeds
    a pacer): the same marginals the call records give."""
    hours = max(1, math.ceil(shift_s / 3600.0))
    hourly = np.zeros((hours, len(SEEN)), dtype=np.int64)
    rings: dict[str, list[float]] = {"live": [], "machine": [], "fail": []}
    delays: dict[bool, list[float]] = {True: [], False: []}
    talk: list[float] = []
    wrap: list[float] = []
    contacts = lives = abandons = 0
    talk_total = 0.0
    for o in obs:
        if isinstance(o, DialObserved):
            t0 = o.at - o.ring_s - (o.amd_delay_s or 0.0)
            day_t = t0 % 86400.0
            hourly[min(hours - 1, max(0, int(day_t // 3600.0))), _IDX[o.outcome]] += 1
            if o.outcome in ("live", "machine"):
                rings[o.outcome].append(o.ring_s)
                if o.amd_delay_s is not None:
                    delays[o.amd_machine].append(o.amd_delay_s)
            elif o.outcome in ("busy", "congestion", "invalid"):
                rings["fail"].append(o.ring_s)
        elif isinstance(o, LiveAnswerObserved):
            lives += 1
            abandons += int(o.abandoned)
            contacts += int(not o.abandoned and o.at % 86400.0 < shift_s)
        elif isinstance(o, TalkObserved):
            talk.append(o.talk_s)
            start, stop = o.at - o.talk_s, o.at
            talk_total += max(0.0, min(stop, shift_s) - max(start, 0.0))
        elif isinstance(o, WrapupObserved):
            wrap.append(o.wrap_s)
    return History(campaign=campaign, shift_s=shift_s, agents=agents, hourly=hourly, live_ring=_arr(rings["live"]),
                   machine_ring=_arr(rings["machine"]), fail_ring=_arr(rings["fail"]), human_delay=_arr(delays[False]),
                   machine_delay=_arr(delays[True]), talk=_arr(talk), wrap=_arr(wrap), amd=amd,
                   ring_timeout_s=ring_timeout_s, hold_s=hold_s, jurisdiction=jurisdiction, contacts=contacts,
                   talk_total_s=float(talk_total), lives=lives, abandons=abandons)


# ---------------------------------------------------------------------------------------------- the fit
def _lognormal(xs: np.ndarray, default: LognormalSpec) -> LognormalSpec:
    if xs.size < 5 or xs.mean() <= 0:
        return default
    return LognormalSpec(float(xs.mean()), float(min(3.0, max(0.05, xs.std() / xs.mean()))))


def _ring(xs: np.ndarray, default: RingMix, timeout: float) -> tuple[RingMix, float]:
    """The empirical ring-time distribution as narrow lognormals at its deciles, and the share of it that
    rings within `timeout`."""
    xs = xs[xs > 0]
    mix = default if xs.size < 10 else RingMix(
        means=tuple(float(q) for q in np.quantile(xs, np.linspace(0.05, 0.95, 10))), weights=(0.1,) * 10, cv=0.1)
    sig = math.sqrt(math.log1p(mix.cv**2))
    within = sum(w * 0.5 * math.erfc(-(math.log(timeout) - (math.log(m) - sig**2 / 2)) / (sig * math.sqrt(2)))
                 for m, w in zip(mix.means, mix.weights, strict=True))
    return mix, max(within, 0.05)


def _span(xs: np.ndarray, default: tuple[float, float]) -> tuple[float, float]:
    if xs.size < 5:
        return default
    lo, hi = (float(v) for v in np.quantile(xs, [0.1, 0.9]))
    return (lo, max(hi, lo + 0.01))


def fit(h: History) -> Scenario:
    """The scenario the simulator runs for this history."""
    d = TrafficModel()
    total = h.hourly.sum(axis=0).astype(float)
    dials = max(1.0, float(total.sum()))
    live_ring, q_live = _ring(h.live_ring, d.live_ring, h.ring_timeout_s)
    machine_ring, q_machine = _ring(h.machine_ring, d.machine_ring, h.ring_timeout_s)
    shares = total / dials
    p_live = float(min(0.98, shares[0] / q_live))
    p_machine = float(min(0.98 - p_live, shares[1] / q_machine))
    p_busy, p_cong, p_inv = (float(x) for x in shares[2:5])
    room = 1.0 - p_live - p_machine
    if p_busy + p_cong + p_inv > room:
        scale = room / (p_busy + p_cong + p_inv)
        p_busy, p_cong, p_inv = p_busy * scale, p_cong * scale, p_inv * scale
    per_hour = h.hourly.sum(axis=1)
    mult = tuple(float((h.hourly[i, 0] / per_hour[i]) / shares[0])
                 if per_hour[i] >= _MIN_HOUR_DIALS and shares[0] > 0 else 1.0 for i in range(h.hourly.shape[0]))
    traffic = TrafficModel(
        p_live=p_live, p_machine=p_machine, p_busy=p_busy, p_congestion=p_cong, p_invalid=p_inv,
        profile=HourlyProfile("flat", hourly=mult), live_ring=live_ring, machine_ring=machine_ring,
        fail_after_s=_span(h.fail_ring, d.fail_after_s), talk=_lognormal(h.talk, d.talk),
        wrapup=_lognormal(h.wrap, d.wrapup),
        amd=AmdSpec(enabled=h.amd, human_delay_s=_span(h.human_delay, d.amd.human_delay_s),
                    machine_delay_s=_span(h.machine_delay, d.amd.machine_delay_s), false_positive=0.0,
                    false_negative=0.0),
    )
    return Scenario(name=f"whatif-{h.campaign}", agents=max(1, h.agents), traffic=traffic, shift_s=h.shift_s,
                    ring_timeout_s=max(15.0, h.ring_timeout_s), hold_s=h.hold_s, jurisdiction=h.jurisdiction)


def describe(sc: Scenario) -> dict[str, object]:
    t = sc.traffic
    return {"agents": sc.agents, "shift_h": round(sc.shift_s / 3600.0, 2), "p_live": round(float(t.p_live), 4),
            "p_machine": round(float(t.p_machine), 4), "p_busy": round(float(t.p_busy), 4),
            "talk_mean_s": round(t.talk.mean, 1), "talk_cv": round(t.talk.cv, 3),
            "wrap_mean_s": round(t.wrapup.mean, 1),
            "ring_timeout_s": sc.ring_timeout_s, "amd": t.amd.enabled,
            "hourly_live_multiplier": [round(m, 3) for m in getattr(t.profile, "hourly", ())]}


def replay(h: History, variants: Sequence[tuple[str, PacingKnobs]], seeds: int = 3,
           first_seed: int = 1) -> dict[str, object]:
    """Simulate the fitted day under each named setting; mean and range over `seeds` seeds."""
    sc = fit(h)
    rows: list[dict[str, object]] = []
    for name, knobs in variants:
        runs = [simulate(sc, Pacer(knobs), first_seed + i, name) for i in range(seeds)]
        share = np.array([r.talk_s / r.logged_in_s for r in runs])
        ab = np.array([r.seen_abandons / r.seen_lives if r.seen_lives else 0.0 for r in runs])
        contacts = np.array([float(r.contacts) for r in runs])
        rows.append({
            "name": name, "mode": knobs.mode.value, "ratio": knobs.ratio, "target_abandon": knobs.target_abandon,
            "talk_share": float(share.mean()), "talk_share_range": [float(share.min()), float(share.max())],
            "contacts": float(contacts.mean()), "contacts_range": [float(contacts.min()), float(contacts.max())],
            "contacts_per_agent_hour": float(contacts.mean()) / (sc.agents * sc.shift_s / 3600.0),
            "abandon_rate": float(ab.mean()), "abandon_rate_range": [float(ab.min()), float(ab.max())],
            "dials": float(np.mean([r.dials for r in runs])),
        })
    return {"campaign": h.campaign, "actual": h.actual(), "fitted": describe(sc), "notes": list(h.notes),
            "seeds": seeds, "variants": rows}
