"""A shift scenario: who is called (the traffic model), how many agents, how long, under which law."""

from __future__ import annotations

from dataclasses import dataclass, field

from pacing.traffic import AmdSpec, LiveProfile, LognormalSpec, RingMix, TrafficModel
from pacing.types import Jurisdiction

__all__ = ["Scenario", "telecom_upsell"]


@dataclass(frozen=True, slots=True)
class Scenario:
    """Everything a simulated shift needs besides the pacing policy and the seed.

    `days` > 1 runs one shift a day, `shift_s` long, starting at the same time each day (multi-day runs
    for the 30-day and rolling 24-hour ledgers). The pacing policy keeps its state across days.
    """

    name: str
    agents: int
    traffic: TrafficModel = field(default_factory=TrafficModel)
    shift_s: float = 8 * 3600.0
    days: int = 1
    ring_timeout_s: float = 20.0
    hold_s: float = 2.0  # a live answer not connected within this is abandoned
    decide_every_s: float = 1.0
    machine_talk_s: tuple[float, float] = (4.0, 10.0)  # an agent that reaches an answering machine
    machine_wrap_s: tuple[float, float] = (2.0, 6.0)
    jurisdiction: Jurisdiction = Jurisdiction.US

    def __post_init__(self) -> None:
        if self.agents < 1:
            raise ValueError(f"a scenario needs at least one agent, got {self.agents}")
        if self.days < 1 or self.shift_s <= 0 or self.shift_s > 86400.0:
            raise ValueError(f"need days >= 1 and 0 < shift_s <= 86400, got {self.days}, {self.shift_s}")
        if self.ring_timeout_s < 15.0:
            raise ValueError(f"let unanswered calls ring at least 15 s, got {self.ring_timeout_s}")

    @property
    def bound_talk_share(self) -> float:
        """Upper bound on agent talk share: mean talk over mean talk plus wrap-up, T/(T+W)."""
        t, w = self.traffic.talk.mean, self.traffic.wrapup.mean
        return t / (t + w)


def telecom_upsell(days: int = 1, jurisdiction: Jurisdiction = Jurisdiction.US) -> Scenario:
    """The operators' own work: 20 agents, 8 h, live 0.3, machines 15 %, busy 5 %, AMD with 1 % FP."""
    return Scenario(
        name="telecom_upsell",
        agents=20,
        traffic=TrafficModel(
            p_live=0.3,
            p_machine=0.15,
            p_busy=0.05,
            profile=LiveProfile("flat"),
            live_ring=RingMix(means=(8.0, 20.0), weights=(0.6, 0.4)),
            talk=LognormalSpec(150.0, 1.0),
            wrapup=LognormalSpec(30.0, 0.5),
            amd=AmdSpec(enabled=True, false_positive=0.01),
        ),
        ring_timeout_s=20.0,
        days=days,
        jurisdiction=jurisdiction,
    )
