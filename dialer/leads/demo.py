"""Synthetic but plausible leads for the demo and the benchmark, seeded and fast.

Numbers are real, valid ranges (checked once per prefix with phonenumbers) spread over several time
zones: for US campaigns New York, Boston, Chicago, Dallas, Denver, Phoenix (no DST), Los Angeles and
Seattle; for UK campaigns London and Manchester landlines and UK mobiles. Each number is unique within
one generator run (an index is mapped onto the number space by a fixed permutation), so `n` leads are
`n` distinct people. Fields follow the campaign kind: tariff and ARPU for the base, cancel reason and
date for win-back, consent for cold lists, an order for confirmation calls.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING

import phonenumbers

from dialer.campaigns.kinds import rank_lead
from dialer.campaigns.models import CampaignConfig
from dialer.campaigns.vocab import CancelReason, Consent
from dialer.leads.model import Lead, LeadNumber, LeadSource
from dialer.leads.phone import zones_for

if TYPE_CHECKING:
    from dialer.hopper.store import LeadStore
    from dialer.leads.report import ImportReport

__all__ = ["load_demo_leads", "synth_leads"]


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


_US_AREAS: tuple[tuple[str, str], ...] = (
    ("212", "New York, NY"),
    ("617", "Boston, MA"),
    ("312", "Chicago, IL"),
    ("214", "Dallas, TX"),
    ("303", "Denver, CO"),
    ("602", "Phoenix, AZ"),
    ("415", "San Francisco, CA"),
    ("206", "Seattle, WA"),
)
_UK_PREFIXES: tuple[tuple[str, str], ...] = (("+442079", "London"), ("+441614", "Manchester"), ("+447400", "mobile"))
_FIRST = _words(
    "James Mary Robert Patricia John Jennifer Michael Linda David Elizabeth William Barbara Richard Susan "
    "Joseph Jessica Thomas Sarah Charles Karen Daniel Nancy Matthew Lisa Anthony Betty Mark Sandra Olivia Noah"
)
_LAST = _words(
    "Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez Lopez Gonzalez Wilson "
    "Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson White Harris Clark Lewis Walker Hall Young"
)
_STREETS = _words("Oak Maple Cedar Pine Elm Washington Lake Hill Park Main Sunset River Church Mill Spring")
_TARIFFS = (("Internet 100", 35.0), ("Internet 300", 50.0), ("Internet 1000", 70.0), ("TV Basic", 25.0))
_OFFERS = ("Internet 1000 upgrade", "TV on top of internet", "Mobile bundle")
_REASON_WEIGHTS: tuple[tuple[CancelReason, float], ...] = (
    (CancelReason.PRICE, 0.30),
    (CancelReason.COMPETITOR_SERVICES, 0.15),
    (CancelReason.QUALITY, 0.15),
    (CancelReason.SUPPORT, 0.10),
    (CancelReason.MOVED, 0.12),
    (CancelReason.SEASONAL, 0.05),
    (CancelReason.NONE, 0.13),
)


@dataclass(frozen=True, slots=True)
class _Space:
    """A set of valid number prefixes, each followed by `tail` free digits."""

    prefixes: tuple[tuple[str, str, tuple[str, ...]], ...]  # (e164 prefix, city, zones)
    tail: int

    @property
    def size(self) -> int:
        return len(self.prefixes) * int(10**self.tail)

    def number(self, index: int) -> tuple[str, str, tuple[str, ...]]:
        block, rest = divmod(index, 10**self.tail)
        prefix, city, zones = self.prefixes[block]
        return f"{prefix}{rest:0{self.tail}d}", city, zones


def _valid(e164: str) -> bool:
    try:
        return phonenumbers.is_valid_number(phonenumbers.parse(e164, None))
    except phonenumbers.NumberParseException:
        return False


@lru_cache(maxsize=4)
def _space(jurisdiction: str) -> _Space:
    """Valid prefixes followed by four free digits (checked at both ends of the range)."""
    candidates: list[tuple[str, str]] = []
    if jurisdiction == "us":
        for area, city in _US_AREAS:
            for exchange in range(230, 990):
                if exchange % 100 != 11 and exchange not in (555, 950, 958, 959, 976):
                    candidates.append((f"+1{area}{exchange}", city))
    else:
        candidates = [(f"{head}{d:02d}", city) for head, city in _UK_PREFIXES for d in range(100)]
    prefixes = tuple(
        (probe, city, zones_for(probe + "4567"))
        for probe, city in candidates
        if _valid(probe + "4567") and _valid(probe + "0123")
    )
    return _Space(prefixes, 4)


def _coprime_stride(size: int, rng: random.Random) -> int:
    while True:
        stride = rng.randrange(size // 3, size - 1) | 1
        if math.gcd(stride, size) == 1:
            return stride


def synth_leads(
    campaign: CampaignConfig, n: int, rng_seed: int, now: float, *, id_prefix: str = "demo"
) -> Iterator[Lead]:
    """`n` distinct synthetic leads for `campaign` (fewer only if the kind excludes some, e.g. recidivists)."""
    rng = random.Random(rng_seed)
    space = _space(campaign.jurisdiction)
    if 2 * n > space.size:
        raise ValueError(f"at most {space.size // 2} demo leads fit the {campaign.jurisdiction} number space")
    stride = _coprime_stride(space.size, rng)
    offset = rng.randrange(space.size)
    today = datetime.fromtimestamp(now, UTC).date()
    source = (LeadSource("demo", "synthetic", now),)
    for i in range(n):
        e164, city, zones = space.number((offset + i * stride) % space.size)
        numbers = [LeadNumber(e164, "mobile", zones)]
        if rng.random() < 0.3:
            other, _, other_zones = space.number((offset + (n + i) * stride) % space.size)
            numbers.append(LeadNumber(other, "home", other_zones))
        fields = _fields(campaign, rng, city, today)
        ranking = rank_lead(campaign, fields, now)
        if ranking.excluded is not None:
            continue
        if ranking.extra_fields:
            fields.update(ranking.extra_fields)
        consent = Consent.UNKNOWN
        if campaign.kind == "cold":
            consent = Consent.GRANTED if rng.random() < 0.9 else Consent.DENIED
        yield Lead(
            lead_id=f"{id_prefix}{i}",
            numbers=tuple(numbers),
            fields=fields,
            sources=source,
            subscriber_id=f"S{rng_seed % 1000:03d}{i:08d}" if campaign.kind != "cold" else None,
            consent=consent,
            area=f"A{rng.randrange(40):02d}",
            rank=ranking.rank,
            prev_leaves=ranking.prev_leaves,
            jumper_now=ranking.jumper_now,
        )


def _pick_reason(rng: random.Random) -> CancelReason:
    x = rng.random()
    for reason, w in _REASON_WEIGHTS:
        x -= w
        if x < 0:
            return reason
    return CancelReason.NONE


def _fields(campaign: CampaignConfig, rng: random.Random, city: str, today: date) -> dict[str, str]:
    tariff, price = rng.choice(_TARIFFS)
    arpu = price * rng.uniform(0.8, 1.6)
    fields = {
        "name": f"{rng.choice(_FIRST)} {rng.choice(_LAST)}",
        "address": f"{rng.randrange(1, 999)} {rng.choice(_STREETS)} St, {city}",
    }
    if campaign.kind == "base_upsell":
        fields |= {"tariff": tariff, "arpu": f"{arpu:.2f}", "offer": campaign.offer or rng.choice(_OFFERS)}
    elif campaign.kind == "winback":
        assert campaign.winback is not None
        left = today - timedelta(days=rng.randrange(10, 420))
        reason = _pick_reason(rng)
        leaves = 1 if rng.random() < 0.08 else 0
        fields |= {
            "tariff": tariff,
            "arpu": f"{arpu:.2f}",
            campaign.winback.reason_field: reason.value,
            campaign.winback.cancelled_at_field: left.isoformat(),
            campaign.winback.previous_leaves_field: str(leaves),
        }
    elif campaign.kind == "cold":
        fields |= {"list_source": rng.choice(("partner-a", "partner-b", "event-2024")), "interest": "fiber"}
    else:
        fields |= {
            "order_id": f"O{rng.randrange(10**7):07d}",
            "tariff": tariff,
            "delivery_window": rng.choice(("09:00-12:00", "12:00-15:00", "15:00-18:00")),
        }
    return fields


async def load_demo_leads(
    store: LeadStore, campaign: CampaignConfig, n: int, rng_seed: int, now: float
) -> ImportReport:
    """Generate `n` leads for `campaign` and add them through the store (same dedup/merge as imports)."""
    return await store.add_leads(
        campaign,
        synth_leads(campaign, n, rng_seed, now, id_prefix=f"{campaign.id[:6]}-"),
        now=now,
        list_name="demo",
        source="synthetic",
    )


def demo_numbers(jurisdiction: str) -> Sequence[str]:
    """The valid prefixes the generator draws from (for tests)."""
    return tuple(p for p, _, _ in _space(jurisdiction).prefixes)
