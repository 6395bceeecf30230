"""The regions whose public holidays a campaign may observe, as the `holidays` package (python-holidays) names
them: a country code, optionally with a subdivision ("US", "US-CA", "GB-ENG", "GB-SCT", "DE-BY")."""

from __future__ import annotations

import holidays

__all__ = ["DEFAULT_REGIONS", "check_region", "split_region"]

# The region a campaign's jurisdiction calls by default (`calling_hours.public_holidays_region` overrides it).
DEFAULT_REGIONS = {"us": "US", "uk": "GB-ENG"}


def split_region(region: str) -> tuple[str, str | None]:
    """("GB", "SCT") for "GB-SCT", ("US", None) for "US"."""
    country, _, subdiv = region.partition("-")
    return country, subdiv or None


def check_region(region: str) -> str:
    """`region` if the holidays package knows it; else ValueError saying what it knows."""
    country, subdiv = split_region(region)
    supported = holidays.list_supported_countries()
    if country not in supported:
        raise ValueError(f"{region!r}: no public holidays are known for country {country!r}; use an ISO 3166 code "
                         "such as US, GB, DE, FR, optionally with a subdivision (US-CA, GB-SCT)")
    if subdiv is not None and subdiv not in supported[country]:
        raise ValueError(f"{region!r}: {country} has no subdivision {subdiv!r}; it has "
                         f"{', '.join(supported[country])}")
    return region
