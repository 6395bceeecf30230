"""Pacing algorithms that call centers use today, for side-by-side benchmarks (not for production).

They take the same snapshots and observations as `Pacer`, so the shift simulator drives them unchanged.
Each follows its public description, not its code:

- `VicidialAdaptive`: VICIdial's ADAPT dial methods as its PREDICTIVE.txt and admin manual describe
  them. Once a second it samples ready agents and calls waiting for an agent; every 15 s it moves the
  dial level (lines per active agent) by the average agents-minus-waiting-calls differential of the last
  15 s per active agent (adaptive_dl_diff_target 0, adaptive_intensity 0; the step size is tuned once,
  on telecom_upsell, for the best talk share), clamps it to [1, Maximum Adapt Dial Level = 3],
  then checks the day's drop percentage (drops / answered since the start of the day) against the drop
  limit. HARD_LIMIT: at or over the limit it stops dialing aggressively (level 1) until the percentage
  falls back. TAPERED: the limit is relaxed early in the shift and tightened as it goes on (from 1.5x
  at the start through 1x at mid-shift to 0.5x at its end), and over it the level is cut in proportion.
  AVERAGE: over the limit the level shrinks in proportion to the excess, without a hard stop.
  Lines = ceil(level * (ready + talking agents)); calls to place = lines - calls already up (ringing,
  screening, waiting, and talking), as VICIdial counts calls of active agents.
- `IssabelRule`: Issabel's predictive rule: ready agents, plus agents whose call will likely end within
  the time a new call takes to answer (P(talk <= elapsed + answer time) >= QoS under an exponential talk
  time with the observed mean, QoS 0.97 as in its predictor), one call each, minus calls in flight.

Preview, progressive and the fixed ratio ("power") are `Pacer` modes.
"""

from __future__ import annotations

import math
from collections import deque
from enum import StrEnum

from pacing.types import (
    CampaignSnapshot,
    Decision,
    DialObserved,
    LiveAnswerObserved,
    Mode,
    Observation,
    Reason,
    TalkObserved,
)

__all__ = ["AdaptMethod", "IssabelRule", "VicidialAdaptive"]


class AdaptMethod(StrEnum):
    HARD_LIMIT = "ADAPT_HARD_LIMIT"
    TAPERED = "ADAPT_TAPERED"
    AVERAGE = "ADAPT_AVERAGE"


def _decision(snap: CampaignSnapshot, launch: int, reason: Reason, detail: str) -> Decision:
    return Decision(
        now=snap.now,
        mode=Mode.PREDICTIVE,
        launch=max(0, min(launch, snap.hopper_depth)),
        reason=reason,
        ready_agents=snap.ready_agents,
        in_flight=snap.in_flight,
        waiting_humans=snap.waiting_humans,
        detail=detail,
    )


class VicidialAdaptive:
    """VICIdial-style adaptive dial level (see the module docstring)."""

    def __init__(
        self,
        method: AdaptMethod,
        drop_limit: float = 0.03,
        *,
        max_level: float = 3.0,
        shift_start: float = 0.0,
        shift_s: float = 8 * 3600.0,
        update_every_s: float = 15.0,
        day_s: float = 86400.0,
        gain: float = 0.05,
    ) -> None:
        self.method = method
        self.gain = gain
        self.drop_limit = drop_limit
        self.max_level = max_level
        self.shift_start = shift_start
        self.shift_s = shift_s
        self.update_every_s = update_every_s
        self.day_s = day_s
        self.level = 1.0
        self._samples: deque[tuple[float, float, float]] = deque()  # (t, ready, waiting)
        self._last_sample = -math.inf
        self._last_update = -math.inf
        self._day = -1
        self.drops = 0
        self.answered = 0
        self.decisions: deque[Decision] = deque(maxlen=256)

    def observe(self, obs: Observation) -> None:
        if isinstance(obs, LiveAnswerObserved):
            day = int((obs.at - self.shift_start) // self.day_s)
            if day != self._day:
                self._day, self.drops, self.answered = day, 0, 0
            self.answered += 1
            self.drops += int(obs.abandoned)

    def drop_pct(self) -> float:
        return self.drops / self.answered if self.answered else 0.0

    def _limit_now(self, now: float) -> float:
        if self.method is not AdaptMethod.TAPERED:
            return self.drop_limit
        into = ((now - self.shift_start) % self.day_s) / self.shift_s
        left = min(max(1.0 - into, 0.0), 1.0)
        return self.drop_limit * (0.5 + left)

    def _update(self, now: float) -> None:
        ready = [r for _, r, _ in self._samples]
        waiting = [w for _, _, w in self._samples]
        if not ready:
            return
        diff = sum(ready) / len(ready) - sum(waiting) / len(waiting)
        active = max(self._active, 1.0)
        level = self.level + self.gain * diff / active
        limit = self._limit_now(now)
        drop = self.drop_pct()
        if drop >= limit and self.answered > 0:
            if self.method is AdaptMethod.HARD_LIMIT:
                level = 1.0
            elif self.method is AdaptMethod.TAPERED:
                level = min(level, self.level) * limit / drop
            else:
                level = min(level, self.level) * (1.0 - 0.5 * (drop - limit) / max(limit, 1e-9))
        self.level = min(max(level, 1.0), self.max_level)

    _active = 1.0

    def decide(self, snap: CampaignSnapshot) -> Decision:
        now = snap.now
        talking = int(snap.talking_elapsed.shape[0])
        self._active = float(snap.ready_agents + talking)
        if now - self._last_sample >= 1.0:
            self._last_sample = now
            self._samples.append((now, float(snap.ready_agents), float(snap.waiting_humans)))
            while self._samples and self._samples[0][0] <= now - self.update_every_s:
                self._samples.popleft()
        if now - self._last_update >= self.update_every_s:
            self._last_update = now
            self._update(now)
        if snap.paused or not snap.within_hours or snap.hopper_depth <= 0:
            d = _decision(snap, 0, Reason.PAUSED if snap.paused else Reason.HOPPER_EMPTY, "")
        else:
            lines = math.ceil(self.level * (snap.ready_agents + talking) - 1e-9)
            up = snap.in_flight + snap.waiting_humans + talking
            want = lines - up
            detail = f"level {self.level:.2f}, drop {self.drop_pct():.2%} (limit {self._limit_now(now):.2%})"
            d = _decision(snap, want, Reason.DIALING if want > 0 else Reason.ENOUGH_IN_FLIGHT, detail)
        self.decisions.append(d)
        return d


class IssabelRule:
    """Issabel-style predictive rule (see the module docstring)."""

    def __init__(self, qos: float = 0.97, min_samples: int = 10) -> None:
        self.qos = qos
        self.min_samples = min_samples
        self._talk_sum = 0.0
        self._talks = 0
        self._answer_sum = 0.0
        self._answers = 0
        self.decisions: deque[Decision] = deque(maxlen=256)

    def observe(self, obs: Observation) -> None:
        if isinstance(obs, TalkObserved):
            self._talk_sum += obs.talk_s
            self._talks += 1
        elif isinstance(obs, DialObserved) and obs.outcome == "live" and not obs.amd_machine:
            self._answer_sum += obs.ring_s + (obs.amd_delay_s or 0.0)
            self._answers += 1

    def decide(self, snap: CampaignSnapshot) -> Decision:
        soon = 0
        if self._talks >= self.min_samples and self._answers > 0:
            mean_talk = self._talk_sum / self._talks
            answer = self._answer_sum / self._answers
            # P(T <= elapsed + answer) >= qos  <=>  elapsed >= -mean * ln(1 - qos) - answer
            threshold = -mean_talk * math.log(1.0 - self.qos) - answer
            soon = int((snap.talking_elapsed >= threshold).sum())
        want = snap.ready_agents + soon - snap.in_flight - snap.waiting_humans
        if snap.paused or not snap.within_hours or snap.hopper_depth <= 0:
            want = 0
        d = _decision(snap, want, Reason.DIALING if want > 0 else Reason.ENOUGH_IN_FLIGHT, f"soon free {soon}")
        self.decisions.append(d)
        return d
