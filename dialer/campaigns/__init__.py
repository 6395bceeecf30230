"""Campaign configuration (pydantic, from TOML or YAML) and what each campaign kind means for a lead."""

from dialer.campaigns.kinds import Ranking, is_recidivist, rank_lead
from dialer.campaigns.loader import load_campaign, load_campaigns, parse_campaign
from dialer.campaigns.models import (
    CallingHours,
    CampaignConfig,
    ColdRules,
    DedupRules,
    FollowUp,
    HopperSettings,
    LeadColumns,
    RetryRules,
    WinbackRules,
    Window,
)
from dialer.campaigns.vocab import CampaignKind, CancelReason, Consent, Disposition, Outcome, SuppressionKind

__all__ = [
    "CallingHours",
    "CampaignConfig",
    "CampaignKind",
    "CancelReason",
    "ColdRules",
    "Consent",
    "DedupRules",
    "Disposition",
    "FollowUp",
    "HopperSettings",
    "LeadColumns",
    "Outcome",
    "Ranking",
    "RetryRules",
    "SuppressionKind",
    "WinbackRules",
    "Window",
    "is_recidivist",
    "load_campaign",
    "load_campaigns",
    "parse_campaign",
    "rank_lead",
]
