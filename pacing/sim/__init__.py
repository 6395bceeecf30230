"""The discrete-event shift simulator: drives the same pacing policies as the daemon, on virtual time."""

from pacing.sim.engine import EventQueue
from pacing.sim.result import ShiftResult, worst_window_rate
from pacing.sim.scenario import Scenario, telecom_upsell
from pacing.sim.shift import PacingPolicy, simulate

__all__ = ["EventQueue", "PacingPolicy", "Scenario", "ShiftResult", "simulate", "telecom_upsell", "worst_window_rate"]
