"""Regions, as the `holidays` package (python-holidays) names them: a country code, optionally with a
subdivision ("US", "US-CA", "GB-ENG", "GB-SCT", "DE-BY"). A campaign observes one region's public holidays,
and may give the people of some regions stricter calling hours (`calling_hours.regions`: a US state's
telemarketing law, another country's regulator).

A person's regions come from their numbers (`NumberRegions`): the country of each, and in the North
American Numbering Plan the state or province of its area code, which is what state telemarketing laws
presume when the address is not known. phonenumbers' geocoder names the place ("Florida", "Miami, FL",
"Washington State"); the holidays package's subdivision aliases turn the name into the code.
"""

from __future__ import annotations

import re
from functools import lru_cache

import holidays
import phonenumbers
from phonenumbers import geocoder

__all__ = ["DEFAULT_REGIONS", "NumberRegions", "check_region", "parse_region", "split_region"]

# The region a campaign's jurisdiction calls by default (`calling_hours.public_holidays_region` overrides it).
DEFAULT_REGIONS = {"us": "US", "uk": "GB-ENG"}

# The geocoder's own spellings that are not the subdivision's name (nor "City, XX").
_GEOCODER_NAMES = {
    "US": {"Washington State": "WA", "Washington D.C.": "DC"},
    "CA": {"British Colombia": "BC"},
}
_CITY_STATE = re.compile(r",\s*([A-Z]{2})$")
_NANP = ("US", "CA")


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


@lru_cache(maxsize=8)
def _aliases(country: str) -> dict[str, str]:
    cls = holidays.country_holidays(country).__class__
    known = set(getattr(cls, "subdivisions", ()))
    names = dict(getattr(cls, "subdivisions_aliases", {}))
    names.update(_GEOCODER_NAMES.get(country, {}))
    return {name: code for name, code in names.items() if code in known}


def parse_region(value: str, country: str) -> str:
    """A region as an address column writes it ("FL", "Florida", "US-FL"; `country` when it names none)
    in the form region rules use ("US-FL"); ValueError saying what is known otherwise."""
    text = value.strip()
    supported = holidays.list_supported_countries()
    if "-" in text and text.split("-", 1)[0].upper() in supported:
        return check_region(text.upper())
    if country not in supported:
        raise ValueError(f"{value!r}: no regions are known for country {country!r}")
    code = text.upper()
    if code not in supported[country]:
        named = {name.casefold(): c for name, c in _aliases(country).items()}
        found = named.get(text.casefold())
        if found is None:
            codes = ", ".join(supported[country])
            raise ValueError(f"{value!r} is not a region of {country}; write its code ({codes}) or its name, "
                             f"or {country}-<code>")
        code = found
    return f"{country}-{code}"


def _subdivisions(country: str, place: str) -> tuple[str, ...]:
    """The subdivision codes the geocoder's `place` names ("Florida", "Miami, FL", "Nova Scotia/Prince
    Edward Island"); () when it names none (a toll-free number, a whole country)."""
    if not place:
        return ()
    names = _aliases(country)
    m = _CITY_STATE.search(place)
    if m is not None and m.group(1) in names.values():
        return (m.group(1),)
    return tuple(sorted({names[p.strip()] for p in place.split("/") if p.strip() in names}))


def _regions(e164: str) -> tuple[str, ...]:
    try:
        num = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return ()
    country = phonenumbers.region_code_for_number(num)
    if not country or country == "ZZ":
        return ()
    if country not in _NANP:
        return (country,)
    subs = _subdivisions(country, geocoder.description_for_number(num, "en"))
    return (country, *(f"{country}-{s}" for s in subs))


class NumberRegions:
    """The regions of E.164 numbers: each number's country ("GB", "DE") and, in North America, the state or
    province of its area code too ("US", "US-FL"); () when phonenumbers cannot place it.

    Kept by prefix, the geocoder's own grain (in North America the area code and exchange: area code 902's
    exchanges are in Nova Scotia, or in Nova Scotia or Prince Edward Island), so checking millions of
    leads costs a lookup."""

    def __init__(self, max_prefixes: int = 1 << 16) -> None:
        self._by_prefix: dict[str, tuple[str, ...]] = {}
        self._max = max_prefixes

    def of(self, e164: str) -> tuple[str, ...]:
        prefix = e164[:8]
        hit = self._by_prefix.get(prefix)
        if hit is None:
            if len(self._by_prefix) >= self._max:
                self._by_prefix.clear()
            hit = self._by_prefix[prefix] = _regions(e164)
        return hit
