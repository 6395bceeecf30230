"""The lead: one person to call in one campaign, with numbers in the order they are tried.

A lead is a frozen value. Merging two sightings of the same person (same number, same id) is the pure
function `merge_leads`, so an import, a re-import and an API upsert all follow one rule, and merging a lead
with itself changes nothing (that is what makes a re-import idempotent).

Storage form (`encode_lead`/`decode_lead`): one Redis string per lead, a short header of the values the
hopper's Lua scripts and the policy need on every check (numbers, person key, area, consent, zones, rank,
win-back counters, the address's region, the lists it came from) separated by the ASCII unit separator,
then JSON for the rest.
Fill reads millions of these, so the header is split with `str.split`, and the JSON (screen-pop fields,
sources, each number's own zones) is decoded only when a lead is handed to the engine. Format L1, stored
before the region and the lists were, reads as L2 without a region (its lists from the JSON).

Each number's zones are kept in the JSON (`z`), not only the lead's combined zones in the header: with an
address zone the combined set counts only numbers placed in one zone, so a number given the combined set
back would no longer be placed in one, and a re-import (decode, merge, encode) would drop its zone. A lead
stored before `z` was has its numbers placed again from `phonenumbers` (the import's own rule).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType

from dialer.campaigns.vocab import Consent
from dialer.errors import LeadError
from dialer.leads.phone import zones_for

__all__ = [
    "Lead",
    "LeadHeader",
    "LeadNumber",
    "LeadSource",
    "decode_fields",
    "decode_header",
    "decode_lead",
    "encode_lead",
    "list_key",
    "merge_leads",
]

SEP = "\x1f"
_VERSION = "L2"
_V1 = "L1"  # no region and no lists slot
_LIST_BAD = re.compile(r"[\x00-\x1f,]")
_EMPTY: Mapping[str, str] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class LeadNumber:
    """One number of a lead: E.164, where it came from (column name) and its time zones."""

    e164: str
    kind: str = "phone"
    zones: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.e164.startswith("+") or not self.e164[1:].isdigit():
            raise LeadError(f"number {self.e164!r} is not E.164 (+ and digits); normalise it first")


@dataclass(frozen=True, slots=True)
class LeadSource:
    """Where a lead came from: list name, source (file, partner, api) and import time (epoch)."""

    list_name: str
    source: str
    imported_at: float


@dataclass(frozen=True, slots=True)
class Lead:
    """A person to call in one campaign."""

    lead_id: str
    numbers: tuple[LeadNumber, ...]
    fields: Mapping[str, str] = field(default_factory=lambda: _EMPTY)
    sources: tuple[LeadSource, ...] = ()
    subscriber_id: str | None = None
    consent: Consent = Consent.UNKNOWN
    timezone: str | None = None
    area: str | None = None
    region: str | None = None  # the address's region ("US-FL"), for stricter calling hours there
    rank: int = 0
    prev_leaves: int = 0
    jumper_now: bool = False
    _zones: tuple[str, ...] = field(default=(), init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.numbers:
            raise LeadError(f"lead {self.lead_id!r} has no phone number")
        if not isinstance(self.fields, MappingProxyType):
            object.__setattr__(self, "fields", MappingProxyType(dict(self.fields)))
        if self.timezone:
            # The address's zone stands in for a number phonenumbers places only vaguely (several zones: a
            # Russian mobile gets all of the country's, and its real zone, say Kaliningrad's, may not even be
            # among them). A number placed in one zone (an area code kept after a move, a landline) still
            # holds the lead to it: the person may be in either place, so the stricter of address and
            # number decides, as the US rule's "called party's location" is read in practice.
            zones = tuple(sorted({self.timezone}.union(*(n.zones for n in self.numbers if len(n.zones) == 1))))
        else:
            zones = tuple(sorted({z for n in self.numbers for z in n.zones}))
        object.__setattr__(self, "_zones", zones)

    @property
    def person(self) -> str:
        """The cross-campaign identity: the subscriber account if known, else the first number."""
        if self.subscriber_id:
            return f"subscriber:{self.subscriber_id}"
        return f"number:{self.numbers[0].e164}"

    @property
    def zones(self) -> tuple[str, ...]:
        """The person's possible time zones: every zone of every number, or with a `timezone` (the address's):
        that zone, plus the zone of each number placed in exactly one.

        We do not know which of these zones the person is in, so calls are allowed only when the hours
        allow them in all of them.
        """
        return self._zones

    @property
    def zone_key(self) -> str:
        return "|".join(self._zones)

    @property
    def lists(self) -> tuple[str, ...]:
        """The lists the lead came from (`list_key` of its sources' names), each once, in order."""
        return tuple(dict.fromkeys(list_key(s.list_name) for s in self.sources))


@dataclass(frozen=True, slots=True)
class LeadHeader:
    """The part of a stored lead the policy needs on every check (no JSON decoding)."""

    numbers: tuple[str, ...]
    person: str
    area: str
    consent: Consent
    zones: tuple[str, ...]
    rank: int
    prev_leaves: int
    jumper_now: bool
    region: str | None = None
    lists: tuple[str, ...] = ()  # `list_key` of each list the lead came from

    @property
    def zone_key(self) -> str:
        """The zone set's key, as the lead's queues are named (`Lead.zone_key`)."""
        return "|".join(self.zones)


def list_key(name: str) -> str:
    """A list's name as leads' headers and the list registry keep it (no commas, no control characters)."""
    return _LIST_BAD.sub("_", name)


def merge_leads(old: Lead, new: Lead, max_numbers: int = 5) -> Lead:
    """Fold a new sighting into an existing lead; the existing id, rank and number order win.

    New numbers are appended (up to `max_numbers`), non-empty new field values replace old ones, a source
    is added only if its (list, source) pair is new, and consent/zone/area take the newer known value.
    """
    have = {n.e164 for n in old.numbers}
    numbers = list(old.numbers)
    for n in new.numbers:
        if n.e164 not in have and len(numbers) < max_numbers:
            numbers.append(n)
            have.add(n.e164)
    fields = dict(old.fields)
    fields.update({k: v for k, v in new.fields.items() if v != ""})
    seen = {(s.list_name, s.source) for s in old.sources}
    sources = list(old.sources)
    for s in new.sources:
        if (s.list_name, s.source) not in seen:
            sources.append(s)
            seen.add((s.list_name, s.source))
    return replace(
        old,
        numbers=tuple(numbers),
        fields=MappingProxyType(fields),
        sources=tuple(sources),
        subscriber_id=old.subscriber_id or new.subscriber_id,
        consent=new.consent if new.consent is not Consent.UNKNOWN else old.consent,
        timezone=new.timezone or old.timezone,
        area=new.area or old.area,
        region=new.region or old.region,
        prev_leaves=max(old.prev_leaves, new.prev_leaves),
        jumper_now=old.jumper_now or new.jumper_now,
    )


def encode_lead(lead: Lead) -> str:
    """The stored form: header fields then JSON (see the module docstring)."""
    body: dict[str, object] = {
        "f": dict(lead.fields),
        "s": [[x.list_name, x.source, x.imported_at] for x in lead.sources],
    }
    kinds = [n.kind for n in lead.numbers]
    if any(k != "phone" for k in kinds):
        body["k"] = kinds
    if lead.subscriber_id:
        body["sub"] = lead.subscriber_id
    if lead.timezone:
        body["tz"] = lead.timezone
    body["z"] = ["|".join(n.zones) for n in lead.numbers]
    head = (
        _VERSION,
        ",".join(n.e164 for n in lead.numbers),
        lead.person,
        lead.area or "",
        lead.consent.value,
        lead.zone_key,
        str(lead.rank),
        str(lead.prev_leaves),
        "1" if lead.jumper_now else "0",
        lead.region or "",
        ",".join(lead.lists),
    )
    return SEP.join(head) + SEP + json.dumps(body, separators=(",", ":"), ensure_ascii=False)


def _split(blob: str) -> list[str]:
    """The header's parts and the JSON, as format L2 has them (an L1 lead has no region; its lists are
    read from its JSON sources)."""
    old = blob.startswith(_V1 + SEP)
    parts = blob.split(SEP, 9 if old else 11)
    if len(parts) != (10 if old else 12) or parts[0] not in (_VERSION, _V1):
        raise LeadError(f"stored lead has an unknown format (starts {blob[:20]!r}); re-import the lead")
    if old:
        try:
            sources = json.loads(parts[9]).get("s", [])
        except (ValueError, AttributeError):
            raise LeadError(f"stored lead has unreadable JSON (starts {blob[:20]!r}); re-import the lead") from None
        parts[9:9] = ["", ",".join(dict.fromkeys(list_key(str(s[0])) for s in sources))]
    return parts


def decode_header(blob: str) -> LeadHeader:
    """Only the header: cheap, used on every policy check."""
    p = _split(blob)
    return LeadHeader(
        numbers=tuple(p[1].split(",")),
        person=p[2],
        area=p[3],
        consent=Consent(p[4]),
        zones=tuple(p[5].split("|")) if p[5] else (),
        rank=int(p[6]),
        prev_leaves=int(p[7]),
        jumper_now=p[8] == "1",
        region=p[9] or None,
        lists=tuple(p[10].split(",")) if p[10] else (),
    )


def decode_lead(lead_id: str, blob: str) -> Lead:
    """The whole lead (header and JSON), each number with its own zones."""
    p = _split(blob)
    body = json.loads(p[11])
    numbers = p[1].split(",")
    kinds = body.get("k", [])
    timezone = body.get("tz")
    stored = body.get("z")
    if isinstance(stored, list) and len(stored) == len(numbers):
        zones = [tuple(str(z).split("|")) if z else () for z in stored]
    else:
        zones = [_placed(e164, timezone, p[5]) for e164 in numbers]
    return Lead(
        lead_id=lead_id,
        numbers=tuple(
            LeadNumber(e164, kinds[i] if i < len(kinds) else "phone", zones[i]) for i, e164 in enumerate(numbers)
        ),
        fields=MappingProxyType({str(k): str(v) for k, v in body.get("f", {}).items()}),
        sources=tuple(LeadSource(str(a), str(b), float(c)) for a, b, c in body.get("s", [])),
        subscriber_id=body.get("sub"),
        consent=Consent(p[4]),
        timezone=timezone,
        area=p[3] or None,
        rank=int(p[6]),
        prev_leaves=int(p[7]),
        jumper_now=p[8] == "1",
        region=p[9] or None,
    )


def _placed(e164: str, timezone: str | None, zone_key: str) -> tuple[str, ...]:
    """A number's zones for a lead stored without them: as the import placed it (`phonenumbers`, else the
    address zone, else the campaign's default, which is among the lead's stored zones)."""
    try:
        zones = zones_for(e164)
    except LeadError:
        zones = ()
    if zones:
        return zones
    if timezone:
        return (timezone,)
    return tuple(zone_key.split("|")) if zone_key else ()


def decode_fields(blob: str) -> dict[str, str]:
    """Only the free-form fields (for the screen-pop)."""
    body = json.loads(_split(blob)[11])
    return {str(k): str(v) for k, v in body.get("f", {}).items()}
