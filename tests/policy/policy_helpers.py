"""Builders shared by the policy tests (campaigns, times, lead views)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from dialer.campaigns.models import CampaignConfig
from dialer.policy.types import LeadView, NumberView

NY = "America/New_York"
CHI = "America/Chicago"
LA = "America/Los_Angeles"
PHX = "America/Phoenix"
LON = "Europe/London"


def campaign(**over: Any) -> CampaignConfig:
    data: dict[str, Any] = {
        "id": "t",
        "kind": "base_upsell",
        "name": "Test",
        "caller_id_name": "Acme",
        "caller_id_number": "+12125550100",
        "jurisdiction": "us",
    }
    data.update(over)
    return CampaignConfig.model_validate(data)


def at(y: int, mo: int, d: int, h: int = 12, mi: int = 0, tz: str = NY) -> float:
    return datetime(y, mo, d, h, mi, tzinfo=ZoneInfo(tz)).timestamp()


def view(*numbers: str | NumberView, zones: tuple[str, ...] = (NY,), **over: Any) -> LeadView:
    nums = tuple(n if isinstance(n, NumberView) else NumberView(n) for n in (numbers or ("+12125550142",)))
    return LeadView(lead_id="L1", numbers=nums, zones=zones, person="subscriber:S1", **over)
