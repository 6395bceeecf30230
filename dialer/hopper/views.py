"""Turn a gathered Redis reply (see `scripts._GATHER`) into the policy's `LeadView`.

The only place that knows the state-hash field names, so the hopper's writers import them from here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from dialer.errors import LeadError, StateStoreError
from dialer.leads.model import LeadHeader, decode_header
from dialer.policy.types import LeadView, NumberView

__all__ = ["FS", "GS", "Gathered", "S", "clean", "parse_gathered", "split_tag", "text"]


class S:
    """Field names of the per-lead state hash and the per-person hash."""

    ATTEMPTS = "a"
    DAY = "dy"
    ATTEMPTS_DAY = "ad"
    NEXT_INDEX = "ni"
    RETRY_AT = "ra"
    FINISHED = "fn"
    DEAD = "dd"
    WHY = "w"
    CB_AT = "cbat"
    CB_AGENT = "cbag"
    TAKEN_INDEX = "tn"
    TAKEN_CALLBACK = "tcb"
    LAST = "lo"
    BASE_BEFORE = "bb"  # "<the person's base-contact stamp before>|<the one this lead's result wrote>"
    # the base-contact stamps before of its numbers' `number:<e164>` persons, comma-separated by number index
    # ("" for none, or the lead's own person), written with BASE_BEFORE
    BASE_BEFORE_NUMBERS = "bbn"
    # the same for the subscribers the base lists for its numbers: JSON, person -> stamp before ("" for none)
    BASE_BEFORE_BASE = "bbs"
    LOST = "lst"  # attempts given up as lost whose real result has not come (comma-separated attempt numbers)
    # a follow-up written while the lead was in flight in this campaign: its time, which that dial's result
    # schedules (see `results.write_plan`)
    FOLLOW_UP = "fu"
    OUT = "on"  # the numbers the lead's take marked out being dialed (comma-separated; see `scripts._OUT`)
    # the attempt that was an agent's manual dial, on the lead that dial created (`Hopper.take_manual`): kept, so
    # that its result, however late it comes (a late disposition, a real result after the take was given up as
    # lost), is written as a manual dial's (`Hopper._manual_plan`)
    MANUAL = "md"
    # the take's stamp: the run of the process that took the lead (`Hopper.run_id`), and "1" once its dial may have
    # gone out (a pacer's take at once, a preview when its agent dials it), replaced by the call id once the daemon
    # has placed a predictive dial (`Hopper.note_calls`); a restarted daemon releases the takes of a run that is
    # gone at once by it (`Hopper.release_dead_takes`), and asks Asterisk for the answer mark of that call id
    TAKEN_RUN = "tr"
    DIALED = "td"
    RECENT = "a24"  # the last dials' times, comma-separated, oldest first (only with max_attempts_per_24h)
    P_DNC = "dnc"
    P_BASE = "bc"
    P_MONTH = "m"
    P_MONTH_COUNT = "mc"
    P_WON_BACK = "wb"


def text(value: object) -> str:
    """Redis replies may be bytes or str, depending on the client's decode_responses."""
    if isinstance(value, bytes):
        return value.decode("utf-8", "surrogateescape")
    return str(value)


GS, FS = "\x1d", "\x1c"


def _pairs(field: str) -> dict[str, str]:
    if not field:
        return {}
    items = field.split(FS)
    return dict(zip(items[::2], items[1::2], strict=False))


def clean(value: str) -> str:
    """Make a value safe to store in a state hash: no ASCII control characters (they separate replies)."""
    return "".join(ch if ch >= " " else "_" for ch in value)


@dataclass(frozen=True, slots=True)
class Gathered:
    """One lead as read for a policy check."""

    lead_id: str
    blob: str
    header: LeadHeader
    state: Mapping[str, str]
    person: Mapping[str, str]
    view: LeadView
    # by number index: the contact fields (bc, m, mc; those it has) of the number's `number:<e164>` person,
    # empty when that is the lead's own person or no contact was written on it
    number_persons: tuple[Mapping[str, str], ...] = ()
    # the subscribers the operator's base lists for the lead's numbers (`subscriber:<id>`, the lead's own person
    # left out), each with its contact fields (bc, m, mc; those it has): the same person under another key
    base_persons: tuple[tuple[str, Mapping[str, str]], ...] = ()

    @property
    def zone_key(self) -> str:
        return self.header.zone_key


def _float(value: str | None, default: float = 0.0) -> float:
    if value is None or value == "":
        return default
    return float(value)


def split_tag(reply: object) -> tuple[str, str]:
    """("tag", rest) of a reply prefixed with a tag field (the queue index, or take's callback mark)."""
    tag, _, rest = text(reply).partition(GS)
    return tag, rest


def parse_gathered(reply: object) -> Gathered | None:
    """Parse one gather reply (see `scripts._GATHER`); None when the lead no longer exists."""
    parts = text(reply).split(GS)
    lead_id = parts[0]
    if len(parts) < 6 or not parts[1]:
        return None
    blob = parts[1]
    try:
        header = decode_header(blob)
        state = _pairs(parts[2])
        person = _pairs(parts[3])
        numinfo = parts[4].split(FS) if parts[4] else []
        dead = {int(x) for x in state.get(S.DEAD, "").split(",") if x}
        numbers = tuple(
            NumberView(
                e164,
                dnc=numinfo[2 * i] == "1",
                dead=i in dead,
                locked_until=float(numinfo[2 * i + 1] or 0.0),
            )
            for i, e164 in enumerate(header.numbers)
        )
        sups: dict[str, float] = {}
        if parts[5]:
            items = parts[5].split(FS)
            for kind, until_text in zip(items[::2], items[1::2], strict=False):
                until = float(until_text)
                sups[kind] = max(until, sups.get(kind, until))
        cb_at = state.get(S.CB_AT)
        number_persons = _number_persons(parts[7] if len(parts) > 7 else "", len(header.numbers))
        base_persons = _base_persons(parts[8] if len(parts) > 8 else "")
        base, month, in_month = _most_restrictive(person, (*number_persons, *(f for _, f in base_persons)))
        view = LeadView(
            lead_id=lead_id,
            numbers=numbers,
            zones=header.zones,
            person=header.person,
            # the lead's person, a person known by one of its numbers, or a subscriber the base lists for one of
            # them, asked not to be called
            person_dnc=person.get(S.P_DNC) == "1" or (len(parts) > 6 and parts[6] == "1"),
            consent=header.consent,
            suppressions=MappingProxyType(sups),
            attempts=int(state.get(S.ATTEMPTS, "0")),
            day=state.get(S.DAY, ""),
            attempts_day=int(state.get(S.ATTEMPTS_DAY, "0")),
            next_index=int(state.get(S.NEXT_INDEX, "0")) % len(numbers),
            retry_at=_float(state.get(S.RETRY_AT)),
            finished=state.get(S.FINISHED) or None,
            last_base_contact=base,
            month=month,
            contacts_in_month=in_month,
            prev_leaves=header.prev_leaves,
            won_back=int(person.get(S.P_WON_BACK, "0")),
            jumper_now=header.jumper_now,
            callback_at=float(cb_at) if cb_at else None,
            callback_agent=state.get(S.CB_AGENT) or None,
            region=header.region,
            lists=header.lists,
            recent_attempts=tuple(float(x) for x in state.get(S.RECENT, "").split(",") if x),
            base_persons=tuple(p for p, _ in base_persons),
        )
    except (ValueError, IndexError, TypeError, LeadError) as exc:
        raise StateStoreError(f"lead {lead_id}: stored state cannot be read ({exc}); re-import the lead") from exc
    return Gathered(lead_id, blob, header, MappingProxyType(state), MappingProxyType(person), view, number_persons,
                    base_persons)


_CONTACT_FIELDS = (S.P_BASE, S.P_MONTH, S.P_MONTH_COUNT)


def _number_persons(part: str, n: int) -> tuple[Mapping[str, str], ...]:
    """The gather's contact fields of each number's person (three per number, "" when absent)."""
    if not part:
        return tuple(MappingProxyType({}) for _ in range(n))
    items = part.split(FS)
    return tuple(
        MappingProxyType({f: v for f, v in zip(_CONTACT_FIELDS, items[3 * i : 3 * i + 3], strict=False) if v})
        for i in range(n)
    )


def _base_persons(part: str) -> tuple[tuple[str, Mapping[str, str]], ...]:
    """The gather's base persons: each a person key, then its contact fields (bc, m, mc; "" when absent)."""
    if not part:
        return ()
    items = part.split(FS)
    return tuple(
        (items[i], MappingProxyType({f: v for f, v in zip(_CONTACT_FIELDS, items[i + 1 : i + 4], strict=False) if v}))
        for i in range(0, len(items) - 3, 4)
    )


def _most_restrictive(person: Mapping[str, str],
                      others: tuple[Mapping[str, str], ...]) -> tuple[float, str, int]:
    """(last base contact, month, contacts that month) of a lead's person, held against the persons its
    numbers name and the subscribers the base lists for them: the latest base contact, and the highest count
    of the latest month any of them has."""
    base = _float(person.get(S.P_BASE))
    month, count = person.get(S.P_MONTH, ""), int(person.get(S.P_MONTH_COUNT, "0"))
    for p in others:
        base = max(base, _float(p.get(S.P_BASE)))
        m, c = p.get(S.P_MONTH, ""), int(p.get(S.P_MONTH_COUNT, "0"))
        if m > month:
            month, count = m, c
        elif m == month and c > count:
            count = c
    return base, month, count
