"""The Redis-backed hopper, lead storage, DNC lists and suppression signals.

    Hopper        one per campaign: fill / take / depth / status / record_result
    LeadStore     imports (CSV, JSON Lines, API rows, generated leads), DNC, suppression, subscriber base
    DialTarget    one number to originate now
    DialResult    what the engine reports after a dial (outcome + the agent's disposition)
    ScheduledCallback  a callback an agent kept for themselves, as their list shows it
    FillReport, HopperStatus

Key layout and the reasons for it: `dialer.hopper.keys`. Every Redis failure or timeout surfaces as
`dialer.errors.StateStoreError`.
"""

from dialer.hopper.hopper import Hopper
from dialer.hopper.store import LeadStore, subject_for
from dialer.hopper.types import DialTarget, FillReport, HopperState, HopperStatus, ScheduledCallback
from dialer.policy.types import DialResult

__all__ = [
    "DialResult",
    "DialTarget",
    "FillReport",
    "Hopper",
    "HopperState",
    "HopperStatus",
    "LeadStore",
    "ScheduledCallback",
    "subject_for",
]
