"""The contact policy: pure decisions about who may be dialed when, and what follows a dial.

No I/O here: `ContactPolicy.check(view, now)` and `ContactPolicy.plan_result(view, index, result, now)`
take a snapshot and a time and return a decision. The hopper reads Redis, asks, and writes.
"""

from dialer.campaigns.vocab import Consent, Disposition, Outcome, SuppressionKind
from dialer.policy.contact import MAX_CALLBACK_DAYS, ContactPolicy
from dialer.policy.holidays import public_holidays
from dialer.policy.hours import Hours
from dialer.policy.signals import SuppressionSignal, parse_signal, signal_of
from dialer.policy.types import FINAL_BLOCKS, Block, DialResult, LeadView, NumberView, ResultPlan, Verdict

__all__ = [
    "FINAL_BLOCKS",
    "MAX_CALLBACK_DAYS",
    "Block",
    "Consent",
    "ContactPolicy",
    "DialResult",
    "Disposition",
    "Hours",
    "LeadView",
    "NumberView",
    "Outcome",
    "ResultPlan",
    "SuppressionKind",
    "SuppressionSignal",
    "Verdict",
    "parse_signal",
    "public_holidays",
    "signal_of",
]
