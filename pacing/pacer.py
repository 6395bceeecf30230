"""The `Pacer`: one per campaign, mode-switchable at run time.

This first version implements preview, progressive, power and agentless; predictive falls back to
progressive until the predictive model lands (see issue 3).
"""

from __future__ import annotations

import math
from collections import deque

from pacing.types import CampaignSnapshot, Decision, Mode, Observation, PacingKnobs, Reason

__all__ = ["Pacer"]


class Pacer:
    """Decides how many calls to launch for one campaign."""

    def __init__(self, knobs: PacingKnobs, history: int = 256) -> None:
        self._knobs = knobs
        self.decisions: deque[Decision] = deque(maxlen=history)

    @property
    def knobs(self) -> PacingKnobs:
        return self._knobs

    def set_knobs(self, knobs: PacingKnobs) -> None:
        """Change mode or knobs; the next `decide` uses them."""
        self._knobs = knobs

    def observe(self, obs: Observation) -> None:
        """Feed a resolved dial, a talk or wrap-up time, or a live-answer wait."""

    def decide(self, snap: CampaignSnapshot) -> Decision:
        """How many calls to launch now."""
        d = self._decide(snap)
        self.decisions.append(d)
        return d

    def _decide(self, snap: CampaignSnapshot) -> Decision:
        k = self._knobs

        def out(launch: int, reason: Reason, detail: str = "") -> Decision:
            return Decision(
                now=snap.now,
                mode=k.mode,
                launch=launch,
                reason=reason,
                ready_agents=snap.ready_agents,
                in_flight=snap.in_flight,
                detail=detail,
            )

        if snap.paused:
            return out(0, Reason.PAUSED)
        if not snap.within_hours:
            return out(0, Reason.OUTSIDE_HOURS)
        if snap.hopper_depth <= 0:
            return out(0, Reason.HOPPER_EMPTY)
        if k.mode is Mode.PREVIEW:
            return out(0, Reason.PREVIEW_MODE)
        if k.mode is Mode.AGENTLESS:
            room = min(k.max_channels - snap.lines_in_use, int(k.max_cps) - snap.dials_last_second)
            return out(max(0, min(room, snap.hopper_depth)), Reason.DIALING if room > 0 else Reason.TRUNK_LIMIT)
        if snap.ready_agents <= 0:
            return out(0, Reason.NO_READY_AGENTS)
        ratio = k.ratio if k.mode is Mode.POWER else 1.0
        want = math.floor(snap.ready_agents * ratio + 1e-9) - snap.in_flight - snap.waiting_humans
        want = min(want, snap.hopper_depth, k.max_channels - snap.lines_in_use)
        if want <= 0:
            return out(0, Reason.ENOUGH_IN_FLIGHT)
        return out(want, Reason.DIALING)
