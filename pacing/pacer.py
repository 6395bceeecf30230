"""The `Pacer`: one per campaign, mode-switchable at run time, explainable decision by decision.

Theory of operation. The daemon (and the shift simulator, with the very same object) calls `observe`
whenever a dial, a live answer, a talk or a wrap-up resolves, and `decide` whenever state changes or a
timer fires. `decide` is pure arithmetic on the snapshot plus the learnt state:

- preview launches nothing (agents ask for leads); agentless fills trunk channels within the
  calls-per-second limit; progressive dials one call per ready agent not already covered by a dial in
  flight or a waiting person; power dials `ratio` calls per ready agent on the same terms;
- predictive forecasts agent supply and live-answer demand (`pacing.forecast`) and launches the most
  dials whose predicted abandon probability stays within its aim (`pacing.predictive`), never fewer
  than progressive would, never more exposure than the compliance ledger's budget, never more than
  `max_calls_per_agent` dials in flight per logged-in agent. With fewer agents than
  `min_agents_predictive` or too few observations it dials progressively and says so.

The aim is the supervisor's `target_abandon` less a safety margin (and, under UK rules with AMD, less
the estimated false positives that count as abandons). A calibration loop scales the aim by the ratio of
the abandons the model charged to its launches to the abandons that happened (`aim_scale`), so a model
that is systematically cautious or bold is corrected without per-campaign tuning.

Under the ledger's strict count (`AbandonCount.STRICT`: machines agents reach leave the denominator,
every abandon stays a person) the aim is converted to the rate over every answer the model and the
calibration work in: with s the share of persons among the connected answers agents disposition
(learnt from `ContactClassified`), a strict rate a is an all-answers rate a·s / (1 - a(1 - s)).
"""

from __future__ import annotations

import math
from collections import deque
from typing import NamedTuple

import numpy as np

from pacing.estimators import RING_BIN_S, RING_BINS, CampaignEstimators, DecayedArray
from pacing.forecast import Curves, Forecaster, ForecastTables, curves
from pacing.ledger import ComplianceLedger
from pacing.predictive import choose_hangups, choose_launch
from pacing.types import (
    AbandonCount,
    CampaignSnapshot,
    ContactClassified,
    Decision,
    Jurisdiction,
    LiveAnswerObserved,
    Mode,
    Observation,
    PacingKnobs,
    Reason,
)

__all__ = ["Pacer"]


class _Inputs(NamedTuple):
    """What a predictive decision rested on, copied into the `Decision`."""

    abandon_budget: float = math.inf
    predicted_abandon: float = 0.0
    expected_free_agents: float = 0.0
    expected_live: float = 0.0
    target_abandon: float = 0.0
    p_live: float = 0.0
    mean_talk_s: float = 0.0
    mean_wrap_s: float = 0.0


_NO_INPUTS = _Inputs()

_LOG_TRIM_MIN = math.log(0.5)
_LOG_TRIM_MAX = math.log(2.0)
_CREDIT_MAX = 0.05
_MAX_GAP_S = 60.0
_PERSON_SHARE_PRIOR = 1.0  # a person and a machine: a share of 0.5 until agents have dispositioned a few
_PERSON_SHARE_HALF_LIFE_S = 3600.0


class Pacer:
    """Decides how many calls to launch for one campaign."""

    def __init__(
        self,
        knobs: PacingKnobs,
        history: int = 256,
        *,
        ledger: ComplianceLedger | None = None,
        estimators: CampaignEstimators | None = None,
        margin: float = 0.1,
        min_dials: int = 60,
        min_lives: int = 15,
        min_talks: int = 10,
        refit_every_s: float = 15.0,
        z_live: float = 1.0,
        calibration_half_life_s: float = 4 * 3600.0,
        calibration_prior: float = 2.0,
        feedback_gain: float = 0.03,
        trim_horizon_s: float = 3600.0,
        hangup_risk: float = 0.1,
    ) -> None:
        self._knobs = knobs
        self.decisions: deque[Decision] = deque(maxlen=history)
        self.ledger = (
            ledger
            if ledger is not None
            else ComplianceLedger(
                knobs.jurisdiction, knobs.abandon_cap, amd_false_positive=knobs.amd_false_positive,
                abandon_count=knobs.abandon_count,
            )
        )
        self.est = estimators if estimators is not None else CampaignEstimators()
        self.margin = margin
        self.min_dials = min_dials
        self.min_lives = min_lives
        self.min_talks = min_talks
        self.refit_every_s = refit_every_s
        self.z_live = z_live
        self.calibration_prior = calibration_prior
        self.feedback_gain = feedback_gain
        self.trim_horizon_s = trim_horizon_s
        self.hangup_risk = hangup_risk
        # live answers per second, from the recent gaps between them (a gap counts at most 60 s, so the
        # night between two shifts does not make the next morning's campaign look small)
        self._live_gap_s: float | None = None
        self._last_live_at: float | None = None
        self._gaps_seen = 0
        self.forecaster = Forecaster(shares_every_s=refit_every_s)
        # calibration: abandons the model charged to the batches it launched, and abandons that happened
        self._charged = DecayedArray(1, calibration_half_life_s)
        self._happened = DecayedArray(1, calibration_half_life_s)
        self._last_now = 0.0
        # and a slow integral loop on the realised rate: a batch's charge is at most the aim, on
        # average below it, so calibration alone leaves the realised rate under the aim
        self._log_trim = 0.0
        self._trim_updates = 0
        self._model_in_control = False  # the last decision was the model's (not a fallback or the ledger's)
        self._budget_bound = False  # the last decision was the model's, cut back by the ledger's budget
        self._credit = 0.0  # see `observe`: trim steps banked while budget-bound
        self._classified = DecayedArray(2, _PERSON_SHARE_HALF_LIFE_S)  # [persons, machines] agents dispositioned

    @property
    def knobs(self) -> PacingKnobs:
        return self._knobs

    @property
    def tables(self) -> ForecastTables | None:
        """The forecast tables of the last predictive decision (for inspection and tests)."""
        return self.forecaster.current

    @property
    def aim_scale(self) -> float:
        """Abandons the model predicted over abandons that happened (recent, with a prior of 1:1).

        The aim is scaled by it: a model that overstates the risk by k gets k times the aim, which
        brings the realised rate to the aim whatever the cause of the bias (few agents, an unusual
        talk-time shape). Clamped to [1/4, 4], then trimmed by the slow loop on the realised rate.
        """
        c0 = self.calibration_prior
        charged = float(self._charged.value(self._last_now)[0])
        happened = float(self._happened.value(self._last_now)[0])
        return min(max((charged + c0) / (happened + c0), 0.25), 4.0) * math.exp(self._log_trim)

    def set_knobs(self, knobs: PacingKnobs) -> None:
        """Change mode or knobs; the next `decide` uses them."""
        self._knobs = knobs
        self.ledger.configure(knobs.jurisdiction, knobs.abandon_cap, knobs.amd_false_positive, knobs.abandon_count)

    def observe(self, obs: Observation) -> None:
        """Feed a resolved dial, a talk or wrap-up time, or a live-answer wait."""
        self.est.observe(obs)
        self.ledger.observe(obs)
        if isinstance(obs, ContactClassified):
            self._classified.add(obs.at, 0 if obs.person else 1)
            return
        if isinstance(obs, LiveAnswerObserved):
            if obs.abandoned:
                self._happened.add(obs.at, 0)
            if self._last_live_at is not None:
                gap = min(max(obs.at - self._last_live_at, 0.0), _MAX_GAP_S)
                self._gaps_seen += 1
                prev = 0.0 if self._live_gap_s is None else self._live_gap_s
                # the plain mean of the first hundred gaps, then the recent ones
                self._live_gap_s = prev + max(0.01, 1.0 / self._gaps_seen) * (gap - prev)
            self._last_live_at = obs.at
            if self._model_in_control:
                aim = self.aim()
                self._trim_updates += 1
                # per live answer, but in steady state no faster than a relative error of the rate
                # corrects in `trim_horizon_s`: at 500 agents a per-answer gain swung the aim within
                # the hour. The start-up gain (the first few hundred answers) is left alone.
                gain = self.feedback_gain
                if self._live_gap_s is not None:
                    per_s = 1.0 / max(self._live_gap_s, 1e-3)
                    gain = min(gain, (1.0 - aim) / (per_s * aim * self.trim_horizon_s))
                gain = max(gain, 0.3 / (1.0 + self._trim_updates / 100.0))
                step = gain * (aim - (1.0 if obs.abandoned else 0.0)) / (1.0 - aim)
                self._log_trim = min(max(self._log_trim + step, _LOG_TRIM_MIN), _LOG_TRIM_MAX)
            elif self._budget_bound:
                aim = self.aim()
                step = self.feedback_gain * (aim - (1.0 if obs.abandoned else 0.0)) / (1.0 - aim)
                # Cut back by the ledger's worst-case budget, launches follow the budget, and the
                # budget grows whenever the rate is under the cap: left alone, the rate climbs to the
                # cap, not to the aim. So while budget-bound, abandons above the aim bring the trim
                # down (the model asks for too much); a rate below the aim proves nothing about the
                # model and only offsets later excess, up to a small credit. A fixed, small gain: early in a
                # fresh period every decision is budget-bound, and a few abandons there must not swing it.
                acc = min(self._credit + step, _CREDIT_MAX)
                if acc < 0.0:
                    self._log_trim = max(self._log_trim + acc, _LOG_TRIM_MIN)
                    acc = 0.0
                self._credit = acc

    @property
    def person_share(self) -> float:
        """Persons among the connected answers agents dispositioned (recent, with a prior of one each)."""
        persons, machines = self._classified.value(self._last_now)
        return float((persons + _PERSON_SHARE_PRIOR) / (persons + machines + 2.0 * _PERSON_SHARE_PRIOR))

    def aim(self) -> float:
        """The realised abandon rate over every live answer that the predictive mode steers to (before feedback)."""
        k = self._knobs
        aim = k.target_abandon * (1.0 - self.margin)
        if k.jurisdiction is Jurisdiction.UK and self.ledger.amd_in_use:
            aim -= self.ledger.fp_per_screened
        aim = max(aim, 0.001)
        if k.abandon_count is AbandonCount.STRICT:
            s = self.person_share
            aim = max(aim * s / (1.0 - aim * (1.0 - s)), 0.001)
        return aim

    def decide(self, snap: CampaignSnapshot) -> Decision:
        """How many calls to launch now."""
        d = self._decide(snap)
        self.decisions.append(d)
        return d

    # ------------------------------------------------------------------ internals
    def _decide(self, snap: CampaignSnapshot) -> Decision:
        k = self._knobs
        waiting = snap.waiting_humans
        in_flight = snap.in_flight
        n_prog = snap.ready_agents - in_flight - waiting
        self._last_now = snap.now
        self._model_in_control = False
        self._budget_bound = False
        hangup: tuple[int, ...] = ()

        def out(launch: int, reason: Reason, detail: str = "", why: _Inputs | None = None) -> Decision:
            w = why if why is not None else _NO_INPUTS
            return Decision(
                hangup=hangup,
                now=snap.now,
                mode=k.mode,
                launch=max(0, launch),
                reason=reason,
                ready_agents=snap.ready_agents,
                in_flight=in_flight,
                detail=detail,
                waiting_humans=waiting,
                talking=int(snap.talking_elapsed.shape[0]),
                wrapping=int(snap.wrapup_elapsed.shape[0]),
                progressive_launch=max(0, n_prog),
                predicted_abandon=w.predicted_abandon,
                expected_free_agents=w.expected_free_agents,
                expected_live=w.expected_live,
                target_abandon=w.target_abandon,
                abandon_budget=w.abandon_budget,
                p_live=w.p_live,
                mean_talk_s=w.mean_talk_s,
                mean_wrap_s=w.mean_wrap_s,
            )

        if snap.paused:
            return out(0, Reason.PAUSED)
        if not snap.within_hours:
            return out(0, Reason.OUTSIDE_HOURS)
        if snap.hopper_depth <= 0:
            return out(0, Reason.HOPPER_EMPTY)
        if k.mode is Mode.PREVIEW:
            return out(0, Reason.PREVIEW_MODE)
        trunk_room = min(k.max_channels - snap.lines_in_use, math.floor(k.max_cps + 1e-9) - snap.dials_last_second)
        if k.mode is Mode.AGENTLESS:
            n = min(trunk_room, snap.hopper_depth)
            return out(n, Reason.DIALING if n > 0 else Reason.TRUNK_LIMIT)

        def clamp(want: int, reason: Reason, detail: str = "", why: _Inputs | None = None) -> Decision:
            if want <= 0:
                return out(0, reason, detail, why)
            n = min(want, snap.hopper_depth)
            if trunk_room < n:
                return out(trunk_room, Reason.TRUNK_LIMIT, detail, why)
            return out(n, reason, detail, why)

        if k.mode is Mode.PROGRESSIVE or k.mode is Mode.POWER:
            if snap.ready_agents <= 0:
                return out(0, Reason.NO_READY_AGENTS)
            ledger = self.ledger.status(snap.now)
            if ledger.blocked:  # UK, AMD on: its estimated false positives alone break the cap, in any mode
                return out(0, Reason.ABANDON_BUDGET, ledger.blocked, _Inputs(abandon_budget=ledger.budget))
            if k.mode is Mode.PROGRESSIVE:
                return clamp(n_prog, Reason.DIALING if n_prog > 0 else Reason.ENOUGH_IN_FLIGHT)
            want = math.floor(snap.ready_agents * k.ratio + 1e-9) - in_flight - waiting
            if k.power_within_budget and want > n_prog:
                # each dial beyond one per ready agent may bring an abandon: the ledger's budget says how
                # many such exposures the window can take in the worst case (progressive takes none)
                within = math.floor(ledger.budget + 1e-9) + n_prog if math.isfinite(ledger.budget) else want
                if within < want:
                    n = max(within, n_prog)
                    return clamp(
                        n,
                        Reason.ABANDON_BUDGET,
                        f"ratio {k.ratio:g} cut to {max(n, 0) + in_flight + waiting} calls for {snap.ready_agents} "
                        f"ready agent(s): abandon budget {ledger.budget:.1f}",
                        _Inputs(abandon_budget=ledger.budget),
                    )
            return clamp(
                want,
                Reason.DIALING if want > 0 else Reason.ENOUGH_IN_FLIGHT,
                "",
                _Inputs(abandon_budget=ledger.budget),
            )

        # ---- predictive
        ledger = self.ledger.status(snap.now)
        budget_only = _Inputs(abandon_budget=ledger.budget)
        if ledger.blocked:
            return out(0, Reason.ABANDON_BUDGET, ledger.blocked, budget_only)
        fallback: Reason | None = None
        if snap.logged_in_agents < k.min_agents_predictive:
            fallback = Reason.FEW_AGENTS
        elif self.est.dials < self.min_dials or self.est.lives < self.min_lives or self.est.talk.count < self.min_talks:
            fallback = Reason.FEW_SAMPLES
        if fallback is not None:
            if snap.ready_agents <= 0:
                return out(0, Reason.NO_READY_AGENTS, f"progressive fallback: {fallback.value}", budget_only)
            return clamp(
                n_prog,
                fallback if n_prog > 0 else Reason.ENOUGH_IN_FLIGHT,
                f"progressive fallback: {fallback.value}",
                budget_only,
            )

        tab = self._refresh_tables(snap)
        c = self._curves(tab, snap)
        tau = self.aim() * self.aim_scale
        n_cap = max(0, math.floor(k.max_calls_per_agent * snap.logged_in_agents + 1e-9) - in_flight)
        rel_err = tab.p_live_se / max(tab.p_live_mean, 1e-6)
        room: int | None = None
        if math.isfinite(ledger.budget):
            room = math.floor(ledger.budget + 1e-9) + snap.ready_agents - in_flight - waiting
        # what will be launched whatever the model says: the budget's room, or progressive if more
        limit = None if room is None else max(room, n_prog)
        choice = choose_launch(c, tab.new_live, tau, n_cap, rel_err, limit)
        n = choice.launch
        reason = Reason.ABANDON_TARGET
        if n >= n_cap and n_cap >= 0:
            reason = Reason.MAX_CALLS
        if room is not None and room < n:
            n, reason = room, Reason.ABANDON_BUDGET
        if n_prog > n:
            n, reason = n_prog, Reason.DIALING
        self._model_in_control = reason is not Reason.ABANDON_BUDGET
        self._budget_bound = reason is Reason.ABANDON_BUDGET
        if n > 0 and choice.launch > 0:
            # the abandons this batch adds, by the model; progressive dials beyond its choice add none,
            # and a batch the budget cut back is charged for what was launched
            self._charged.add(snap.now, 0, choice.charge)
        hangup = self._surplus(c, tab, snap)
        why = _Inputs(
            abandon_budget=ledger.budget,
            predicted_abandon=choice.predicted_abandon,
            expected_free_agents=choice.expected_free,
            expected_live=choice.expected_live,
            target_abandon=tau,
            p_live=tab.p_live,
            mean_talk_s=tab.mean_talk,
            mean_wrap_s=tab.mean_wrap,
        )
        detail = (
            f"live share {tab.p_live_mean:.3f} (safe {tab.p_live:.3f}); talk {tab.mean_talk:.0f}s, "
            f"wrap {tab.mean_wrap:.0f}s; aim {tau:.2%}; model {choice.launch}, progressive {max(n_prog, 0)}, "
            f"cap {n_cap}, budget {ledger.budget:.1f}"
        )
        if hangup:
            detail += f"; hanging up {len(hangup)} ringing dial(s) whose answer would find no agent"
        if n <= 0:
            why_not = Reason.NO_READY_AGENTS if snap.ready_agents <= 0 and reason is Reason.DIALING else reason
            if why_not is Reason.ABANDON_TARGET:
                why_not = Reason.ENOUGH_IN_FLIGHT
            return out(0, why_not, detail, why)
        return clamp(n, reason, detail, why)

    def _surplus(self, c: Curves, tab: ForecastTables, snap: CampaignSnapshot) -> tuple[int, ...]:
        """Ringing dials past the knob's minimum ring whose live answer would likely be abandoned.

        Cutting them is what a late answer's abandon would otherwise cost; the calibration loop sees
        fewer abandons and lets the pacer launch more, so agents get the contacts back from fresher dials.
        """
        after = self._knobs.surplus_hangup_after_s
        ringing = snap.ringing_elapsed
        if after is None or ringing.shape[0] == 0:
            return ()
        idx = np.flatnonzero(ringing >= after)
        if idx.size == 0:
            return ()
        bins = np.minimum((ringing[idx] * (1.0 / RING_BIN_S)).astype(np.intp), RING_BINS - 1)
        picks = choose_hangups(c, tab.new_live, tab.ring_live[bins], self.hangup_risk)
        return tuple(int(idx[i]) for i in picks)

    def _curves(self, tab: ForecastTables, snap: CampaignSnapshot) -> Curves:
        """Agent supply and live-answer demand over the look-ahead grid (a bench's oracle overrides it)."""
        return curves(
            tab,
            ready=snap.ready_agents,
            waiting=snap.waiting_humans,
            talking=snap.talking_elapsed,
            wrapping=snap.wrapup_elapsed,
            ringing=snap.ringing_elapsed,
            screening=snap.screening_elapsed,
        )

    def _refresh_tables(self, snap: CampaignSnapshot) -> ForecastTables:
        return self.forecaster.tables(
            self.est,
            snap.now,
            talking_elapsed=snap.talking_elapsed,
            wrap_elapsed=snap.wrapup_elapsed,
            z_live=self.z_live,
        )
