"""The call record: one per Originate, written once when the call ends."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import MISSING, asdict, dataclass, field, fields
from typing import Any, get_type_hints

from dialer.engine.calls import Call, CallOutcome
from dialer.errors import DialerError

__all__ = ["ABANDON_LIMIT_S", "CallRecord", "RecordError", "Undisposed", "mask_number", "offered_to_agents"]

ABANDON_LIMIT_S = 2.0


def offered_to_agents(row: Mapping[str, object]) -> bool:
    """Whether a call record (its fields as strings, or typed) is a live answer offered to agents: the
    abandon rate's denominator, as the compliance ledger counts it. A person answered (`human_at`), and the
    call was not agentless: an agentless call names its message, and nobody was meant to come to it."""
    return _offered(row.get("human_at"), row.get("message"))


def _offered(human_at: object, message: object) -> bool:
    return human_at not in (None, "") and not message


def mask_number(number: str) -> str:
    """A phone number safe for logs: country prefix and last two digits only."""
    if len(number) <= 5:
        return "*" * len(number)
    return number[:3] + "*" * (len(number) - 5) + number[-2:]


class RecordError(DialerError):
    """A stored call record that cannot be read back: the message names the record and the field. Readers
    skip such a record (and log it) rather than fail a whole report."""


@dataclass(frozen=True, slots=True)
class CallRecord:
    call_id: str
    campaign_id: str
    lead_id: str
    number: str
    attempt: int
    outcome: str
    abandoned: bool
    created_at: float
    originated_at: float | None
    answered_at: float | None
    human_at: float | None
    connected_at: float | None
    ended_at: float
    agent_id: str | None
    amd_status: str | None
    dial_status: str | None
    hangup_cause: int | None
    wait_s: float | None
    talk_s: float | None
    amd_audit: bool = False  # an AMD machine verdict handed to an agent to check it (written "1")
    kind: str = "predictive"  # predictive (the pacer dialed), preview, manual or callback (an agent dialed)
    transferred_from: str | None = None  # the agent who blind-transferred it to `agent_id`
    transfer_failures: str = ""  # failed transfer legs, "<who>: <why>" joined by "; " (the call went on)
    message: str = ""  # agentless: the message (sound file, or context,exten of an IVR) the call was sent to
    surplus_hangup: bool = False  # the dialer hung it up while it rang (after 15 s or more): no agent was coming
    recording: str = ""  # the conversation's file, as Asterisk reported starting it ("": not recorded)
    callback_at: float | None = None  # a scheduled callback: the time promised to the customer
    callback_for: str | None = None  # ... and the agent who kept it for themselves (None: for anyone)
    zone: str | None = None  # the called person's time zone, when known (reports by their local hour)
    lead_list: str | None = None  # the lead list the lead came from, when known (reports by list)

    @classmethod
    def of(cls, call: Call) -> CallRecord:
        if call.outcome is None or call.ended_at is None:
            raise ValueError(f"call {call.call_id} has not ended: no record yet")
        return cls(
            call_id=call.call_id,
            campaign_id=call.campaign_id,
            lead_id=call.lead_id,
            number=call.number,
            attempt=call.attempt,
            outcome=call.outcome.value,
            abandoned=call.abandoned or call.outcome is CallOutcome.ABANDONED,
            created_at=call.created_at,
            originated_at=call.originated_at,
            answered_at=call.answered_at,
            human_at=call.human_at,
            connected_at=call.connected_at,
            ended_at=call.ended_at,
            agent_id=call.agent_id,
            amd_status=call.amd_status,
            dial_status=call.dial_status,
            hangup_cause=call.hangup_cause,
            wait_s=call.wait_s,
            talk_s=call.talk_s,
            amd_audit=call.amd_audit,
            kind=call.kind.value,
            transferred_from=call.transferred_from,
            transfer_failures="; ".join(f"{who}: {why}" for who, why in call.transfer_failures),
            message=call.message or "",
            surplus_hangup=call.surplus_hangup_at is not None,
            recording=call.recording if call.connected_at is not None else "",
            callback_at=call.callback_at,
            callback_for=call.callback_agent if call.callback_at is not None else None,
            zone=call.zone,
            lead_list=call.lead_list,
        )

    @property
    def offered_to_agents(self) -> bool:
        """See the module function `offered_to_agents`."""
        return _offered(self.human_at, self.message)

    def to_fields(self) -> dict[str, str]:
        """Flat string fields for a Redis hash / stream entry (None becomes "")."""
        out: dict[str, str] = {}
        for k, v in asdict(self).items():
            out[k] = "" if v is None else (("1" if v else "0") if isinstance(v, bool) else str(v))
        return out

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_fields(cls, stored: Mapping[str, str], *, record_id: str | None = None) -> CallRecord:
        """Parse a stored record (`to_fields`' strings) once, at the edge. A field the record lacks (an older
        version did not write it) takes its default: the dataclass's, None for an optional one, else its type's
        zero ("", 0, False; a time 0.0, as the wallboard always read a record without `ended_at`). A field this
        version does not know is ignored. A malformed value raises `RecordError` naming the record (`record_id`,
        e.g. its stream id, and its call id) and the field."""
        values: dict[str, Any] = {}
        for name, (parse, default) in _READERS.items():
            raw = stored.get(name)
            if raw is None:
                values[name] = default
                continue
            try:
                values[name] = parse(raw)
            except ValueError as exc:
                raise RecordError(f"call record {_which(stored, record_id)}: field {name!r} is {raw!r}, "
                                  f"which is not {exc}") from None
        return cls(**values)


def _which(stored: Mapping[str, str], record_id: str | None) -> str:
    call = stored.get("call_id") or "?"
    return f"{record_id} (call {call})" if record_id else f"of call {call}"


def _parser(kind: Any) -> tuple[Callable[[str], Any], bool]:
    """The parser of one field's stored string (the inverse of `to_fields`), and whether "" means None."""
    optional = type(None) in getattr(kind, "__args__", ())
    base = next((k for k in getattr(kind, "__args__", (kind,)) if k is not type(None)), kind)

    def number(text: str) -> Any:
        try:
            value = int(text) if base is int else float(text)
        except ValueError:
            value = math.nan
        if isinstance(value, float) and math.isnan(value):  # "nan" was never a time or a duration
            raise ValueError("an integer" if base is int else "a number")
        return value

    def flag(text: str) -> bool:
        if text not in ("1", "0", ""):
            raise ValueError('"1" or "0"')
        return text == "1"

    def parse(text: str) -> Any:
        if optional and text == "":
            return None
        if base is bool:
            return flag(text)
        if base in (int, float):
            return number(text)
        return text

    return parse, optional


def _readers() -> dict[str, tuple[Callable[[str], Any], Any]]:
    """Per field of CallRecord, in order: its parser and the value a record without the field gets. Built from
    the dataclass itself, so a field added or renamed there is read so."""
    hints = get_type_hints(CallRecord)
    out: dict[str, tuple[Callable[[str], Any], Any]] = {}
    for f in fields(CallRecord):
        kind = hints[f.name]
        parse, optional = _parser(kind)
        default = f.default if f.default is not MISSING else None if optional else kind()  # "", 0, 0.0, False
        out[f.name] = (parse, default)
    return out


_READERS = _readers()


@dataclass(frozen=True, slots=True)
class Undisposed:
    """A call whose wrap-up ended without the agent's disposition (its time ran out, or the daemon was
    stopping): its agent may still dispose it until `until`. It holds all that late disposition needs,
    not the call, so that the daemon can keep it in Redis and it survives a restart. A `dnc` disposition
    needs the person: the lead, the number dialed and the subscriber the call's fields named (the daemon
    may have forgotten the call by then, or restarted)."""

    call_id: str
    campaign_id: str
    until: float
    live_counted_at: float | None = None  # when the ledger counted the call's live answer (its strict count)
    amd_audit: bool = False
    target: object | None = None  # the lead source's DialTarget, handed back with the disposition
    # whom a `dnc` disposition names; the call's, as `call_id` is (so not compared): its lead ("" for a manual
    # dial), the number dialed (None: not known, e.g. kept by an older version), its `subscriber_id` field
    lead_id: str = field(default="", compare=False)
    number: str | None = field(default=None, compare=False)
    subscriber_id: str = field(default="", compare=False)

    @classmethod
    def of(cls, call_id: str, call: Call | None, campaign_id: str, until: float) -> Undisposed:
        if call is None:
            return cls(call_id, campaign_id, until)
        return cls(call_id, call.campaign_id, until, call.live_counted_at, call.amd_audit, call.target,
                   lead_id=call.lead_id, number=call.number or None,
                   subscriber_id=call.fields.get("subscriber_id", ""))

    def dnc_fields(self) -> dict[str, str]:
        """The call's fields a do-not-call request reads (`AgentCalls._record_dnc`)."""
        return {"subscriber_id": self.subscriber_id} if self.subscriber_id else {}
