"""Pacing core: pure, no I/O. Decides how many calls to launch now.

The daemon and the shift simulator hand a `Pacer` a `CampaignSnapshot` and get a `Decision` back; they
feed it `Observation`s as calls resolve. Nothing here imports asyncio, redis, panoramisk or aiomqtt.
"""

from pacing.pacer import Pacer
from pacing.types import (
    AgentFreed,
    CampaignSnapshot,
    Decision,
    DialObserved,
    Jurisdiction,
    LiveAnswerObserved,
    Mode,
    Observation,
    PacingKnobs,
    Reason,
    TalkObserved,
    WrapupObserved,
)

__all__ = [
    "AgentFreed",
    "CampaignSnapshot",
    "Decision",
    "DialObserved",
    "Jurisdiction",
    "LiveAnswerObserved",
    "Mode",
    "Observation",
    "Pacer",
    "PacingKnobs",
    "Reason",
    "TalkObserved",
    "WrapupObserved",
]
