"""Public holidays of the region a campaign calls, from the `holidays` package (python-holidays).

The package keeps the rules and the one-off days of about 150 countries and their subdivisions (a
coronation, a state funeral, a moved May bank holiday), which a hand-written rule set misses: this
module's first version computed the US federal holidays and England and Wales' bank holidays by hand,
and missed Juneteenth's start in 2021, a New Year's Day observed on the 31st of December before, and the
UK's 2020, 2022 and 2023 one-offs.

A region is a country code, optionally with a subdivision: "US", "US-CA", "GB-ENG", "GB-SCT", "DE-BY".
Both the real date and the observed (substitute) weekday are holidays: a campaign that observes public
holidays calls on neither.
"""

from __future__ import annotations

from datetime import date
from functools import lru_cache

import holidays

from dialer.campaigns.regions import check_region, split_region

__all__ = ["public_holidays"]


@lru_cache(maxsize=256)
def public_holidays(region: str, year: int) -> frozenset[date]:
    """The public holidays (real and observed dates) of `region` ("US", "GB-SCT"...) in `year`."""
    country, subdiv = split_region(check_region(region))
    return frozenset(holidays.country_holidays(country, subdiv=subdiv, years=year).keys())
