"""Pacing core: pure, no I/O. Decides how many calls to launch now.

The daemon and the shift simulator hand a `Pacer` a `CampaignSnapshot` and get a `Decision` back; they
feed it `Observation`s as calls resolve. Nothing here imports asyncio, redis, panoramisk or aiomqtt.

    pacer = Pacer(PacingKnobs(mode=Mode.PREDICTIVE, jurisdiction=Jurisdiction.UK))
    pacer.observe(DialObserved(at=t, outcome="live", ring_s=9.2, amd_delay_s=1.6))
    decision = pacer.decide(CampaignSnapshot(now=t, ready_agents=2, logged_in_agents=20, ...))

See docs/PACING.md for the model; `pacing.sim` is the shift simulator, `pacing.baselines` the
algorithms the benchmark compares against.
"""

from pacing.estimators import CampaignEstimators
from pacing.ledger import ComplianceLedger, LedgerStatus
from pacing.pacer import Pacer
from pacing.types import (
    AbandonCount,
    AgentFreed,
    CampaignSnapshot,
    ContactClassified,
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
    "AbandonCount",
    "AgentFreed",
    "CampaignEstimators",
    "CampaignSnapshot",
    "ComplianceLedger",
    "ContactClassified",
    "Decision",
    "DialObserved",
    "Jurisdiction",
    "LedgerStatus",
    "LiveAnswerObserved",
    "Mode",
    "Observation",
    "Pacer",
    "PacingKnobs",
    "Reason",
    "TalkObserved",
    "WrapupObserved",
]
