"""The screen-pop: what the agent's desktop shows the moment a call is handed over.

`ScreenPopRenderer` is the engine's `screenpop` callable (`Engine(screenpop=renderer)`): the engine calls
it inside the hand-off, between picking the agent and returning the Redirect, so it must be cheap and
must never raise. Everything costly is done once, up front: scripts are parsed, validated and compiled
at load (`agents.scripts`), the phone-number time-zone tables are loaded in the constructor. Per call it
renders the campaign's script with the lead's fields, works out the lead's local time from the lead's
`timezone` field or the number, and adds the person's previous contacts from an in-memory
`ContactHistory` (no Redis round trip on the hot path).

The payload (published by the daemon as the agent feed's `screenpop` message):

    call_id, campaign_id, campaign_title, lead_id, number, attempt, lead {field: value},
    local_time {zone, offset_s, at} | null, history [{at, campaign_id, agent_id, disposition, ...}],
    script {title, start, steps {id: {kind, title, text, next, reasons?, collect?, disposition?}}} | null,
    dispositions {codes, reasons, max_callback_days}

`ContactHistory` learns a contact when a call is popped and its result when the disposition is made
(the desktop's API tells it); `warm()` reloads recent dispositions from Redis after a restart (the daemon
calls it at start-up, `Daemon.run`).
"""

from __future__ import annotations

import functools
import json
import logging
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from phonenumbers import timezone as pn_timezone

from agents.commands import Disposition
from agents.dispositions import DEFAULT_DISPOSITIONS, DispositionRejected, DispositionSet
from agents.scripts import CallScript
from agents.state import Agent
from dialer.engine.calls import Call
from dialer.errors import StateStoreError
from dialer.store import redis_call

__all__ = ["Contact", "ContactHistory", "ScreenPopRenderer", "local_time"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Contact:
    """One earlier time a person talked to an agent."""

    at: float
    call_id: str
    campaign_id: str
    agent_id: str
    disposition: str | None = None
    reason: str | None = None
    notes: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}


class ContactHistory:
    """The last few contacts of each person, keyed by number and by subscriber id, in bounded memory."""

    def __init__(self, *, per_person: int = 10, max_people: int = 200_000) -> None:
        self._per_person = per_person
        self._max = max_people
        self._by_key: OrderedDict[str, list[Contact]] = OrderedDict()
        self._keys_of_call: OrderedDict[str, tuple[str, ...]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._by_key)

    @staticmethod
    def keys_for(number: str, fields: Mapping[str, str]) -> tuple[str, ...]:
        sub = fields.get("subscriber_id", "")
        return (f"n:{number}", f"s:{sub}") if sub else (f"n:{number}",)

    def recent(self, keys: tuple[str, ...]) -> list[Contact]:
        """Newest first, each call once."""
        seen: dict[str, Contact] = {}
        for k in keys:
            for c in self._by_key.get(k, ()):
                seen.setdefault(c.call_id, c)
        return sorted(seen.values(), key=lambda c: c.at, reverse=True)[: self._per_person]

    def note_contact(self, keys: tuple[str, ...], contact: Contact) -> None:
        for k in keys:
            row = self._by_key.pop(k, [])
            row = [c for c in row if c.call_id != contact.call_id]
            row.append(contact)
            self._by_key[k] = row[-self._per_person:]
        self._keys_of_call[contact.call_id] = keys
        while len(self._by_key) > self._max:
            self._by_key.popitem(last=False)
        while len(self._keys_of_call) > self._max * 2:
            self._keys_of_call.popitem(last=False)

    def note_disposition(self, call_id: str, code: str, fields: Mapping[str, str]) -> None:
        keys = self._keys_of_call.get(call_id)
        if keys is None:
            return
        for k in keys:
            row = self._by_key.get(k)
            if row is None:
                continue
            for i, c in enumerate(row):
                if c.call_id == call_id:
                    row[i] = replace(c, disposition=code, reason=fields.get("reason") or None,
                                     notes=(fields.get("notes") or "")[:200] or None)

    async def warm(self, store: Any, count: int = 5000, *, timeout_s: float = 10.0) -> int:
        """Reload the newest `count` dispositions from the store (`dialer.store.RedisStore`) after a restart
        (the daemon does, before it logs agents back in); returns how many contacts were learnt. Reads
        `<prefix>:dispositions` and the call hashes; a contact is filed under its number and the subscriber id
        its disposition names, as `keys_for` files a live one. A row it cannot read is passed over. Redis
        down, slow (beyond `timeout_s`) or holding something else under that key is logged and learns
        nothing: the screen-pops then show contacts from this start on, and the daemon starts all the same."""
        try:
            async with redis_call(f"reading the earlier contacts ({store.key('dispositions')})", timeout_s):
                entries: Any = await store.r.xrevrange(store.key("dispositions"), count=count)
                rows = [row for row in (dict(f) for _id, f in entries or ()) if row.get("call_id")]
                if not rows:
                    return 0
                async with store.r.pipeline(transaction=False) as p:
                    for row in rows:
                        p.hmget(store.key("call", row["call_id"]), ["number", "campaign_id", "connected_at"])
                    calls: list[Any] = await p.execute()
        except StateStoreError as exc:
            log.warning(f"earlier contacts not reloaded from Redis ({store.key('dispositions')}): {exc}; the "
                        "screen-pops show contacts from this start on. Check Redis and that key (a stream)",
                        extra={"action": "screenpop history"})
            return 0
        learnt = 0
        for row, (number, campaign_id, connected_at) in zip(reversed(rows), reversed(calls), strict=True):
            if not number:
                continue
            try:
                fields = json.loads(row.get("disposition_fields") or "{}")
                at = float(connected_at or row.get("disposed_at") or 0.0)
            except ValueError:
                continue
            if not isinstance(fields, dict):
                continue
            fields = {k: v for k, v in fields.items() if isinstance(v, str)}
            sub = row.get("subscriber_id", "")
            contact = Contact(at, row["call_id"], campaign_id or "", row.get("agent_id", ""))
            self.note_contact(self.keys_for(number, {"subscriber_id": sub} if sub else {}), contact)
            self.note_disposition(contact.call_id, row.get("disposition", ""), fields)
            learnt += 1
        return learnt


def local_time(number: str, fields: Mapping[str, str], at: float) -> dict[str, Any] | None:
    """The called person's zone and UTC offset at `at`: the lead's `timezone` field when it names a zone,
    else the number's zone(s) (a field naming none, a typo or "GMT+1", is logged once and passed over).
    With several candidate zones (a country spanning zones) the first is shown and all listed."""
    tz_field = fields.get("timezone", "").strip()
    tz = _zone(tz_field) if tz_field else None
    if tz is not None:
        zones: tuple[str, ...] = (tz_field,)
    else:
        zones = _number_zones(number)
        tz = next((z for z in map(_zone, zones) if z is not None), None)
    if tz is None:
        return None
    offset = datetime.fromtimestamp(at, tz).utcoffset()
    return {"zone": tz.key, "zones": list(zones), "offset_s": int(offset.total_seconds()) if offset else 0,
            "at": at}


@functools.lru_cache(maxsize=1024)
def _zone(name: str) -> ZoneInfo | None:
    """The zone of an IANA name, None (logged once while cached) when there is none of that name."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        log.warning(f"lead timezone field {name[:64]!r} is not a time zone (IANA name such as America/New_York); "
                    "the number's zone is shown instead", extra={"action": "screenpop local time"})
        return None


_TZ_DATA: Mapping[str, tuple[str, ...]] = pn_timezone.TIMEZONE_DATA  # type: ignore[attr-defined]
_TZ_LONGEST: int = pn_timezone.TIMEZONE_LONGEST_PREFIX  # type: ignore[attr-defined]


@functools.lru_cache(maxsize=4096)
def _number_zones(number: str) -> tuple[str, ...]:
    """Zones of a number. Numbers reach the engine in E.164 already, so the longest-prefix lookup in
    phonenumbers' zone table is done directly (about 50x cheaper than parse + number_type)."""
    if number.startswith("+") and number[1:].isdigit():
        for n in range(min(_TZ_LONGEST, len(number) - 1), 0, -1):
            found = _TZ_DATA.get(number[1 : 1 + n])
            if found is not None:
                return tuple(z for z in found if z != "Etc/Unknown")
        return ()
    try:
        return tuple(z for z in pn_timezone.time_zones_for_number(phonenumbers.parse(number)) if z != "Etc/Unknown")
    except phonenumbers.NumberParseException:
        return ()


class ScreenPopRenderer:
    """Builds screen-pop payloads; pass it as `Engine(screenpop=...)`."""

    def __init__(
        self,
        scripts: Mapping[str, CallScript] | None = None,
        *,
        agent_names: Mapping[str, str] | None = None,
        campaign_titles: Mapping[str, str] | None = None,
        history: ContactHistory | None = None,
        default_dispositions: DispositionSet = DEFAULT_DISPOSITIONS,
    ) -> None:
        self.scripts = dict(scripts or {})
        self.agent_names = dict(agent_names or {})
        self.campaign_titles = dict(campaign_titles or {})
        self.history = history if history is not None else ContactHistory()
        self.default_dispositions = default_dispositions
        self._current: dict[str, dict[str, Any]] = {}
        self._dispo_json: dict[str, dict[str, Any]] = {}
        local_time("+14155550100", {}, 0.0)  # loads phonenumbers' zone tables now, not on the first call

    def dispositions_for(self, campaign_id: str) -> DispositionSet:
        script = self.scripts.get(campaign_id)
        return script.dispositions if script is not None else self.default_dispositions

    def current(self, agent_id: str) -> dict[str, Any] | None:
        """The last screen-pop handed to this agent (for the desktop's snapshot after a reload)."""
        return self._current.get(agent_id)

    def validate_disposition(self, cmd: Disposition, campaign_id: str, now: float) -> Disposition:
        """Check a disposition against its campaign's script and dispositions. Raises DispositionRejected."""
        script = self.scripts.get(campaign_id)
        if script is not None:
            return script.validate_disposition(cmd, now)
        if cmd.script_path:
            raise DispositionRejected("script_path", f"campaign {campaign_id!r} has no script; send no path")
        return self.default_dispositions.validate(cmd, now)

    def note_disposition(self, cmd: Disposition) -> None:
        self.history.note_disposition(cmd.call_id, cmd.code, cmd.fields)

    def __call__(self, call: Call, agent: Agent) -> dict[str, Any]:
        try:
            payload = self._render(call, agent)
        except Exception as exc:  # the hand-off must go on; the agent still gets the lead
            log.error("screen-pop rendering failed", extra={"call_id": call.call_id, "error": repr(exc)})
            payload = {"call_id": call.call_id, "campaign_id": call.campaign_id, "lead_id": call.lead_id,
                       "number": call.number, "attempt": call.attempt, "lead": dict(call.fields), "script": None,
                       "history": [], "local_time": None, "error": "the screen-pop could not be fully rendered",
                       "dispositions": self.dispositions_for(call.campaign_id).to_json()}
        self._current[agent.agent_id] = payload
        return payload

    def preview(self, campaign_id: str, lead_id: str, number: str, fields: Mapping[str, str], *, agent_id: str,
                now: float, attempt: int = 1) -> dict[str, Any]:
        """The payload of a `preview` feed message (preview mode: the agent sees the lead before dialing):
        the screen-pop's content without a call id. For the daemon's preview hook to publish."""
        keys = ContactHistory.keys_for(number, fields)
        script = self.scripts.get(campaign_id)
        rendered = None
        if script is not None:
            rendered = script.render(fields, agent={"id": agent_id, "name": self.agent_names.get(agent_id, agent_id)},
                                     call={"attempt": attempt, "number": number})
        return {
            "campaign_id": campaign_id,
            "campaign_title": self.campaign_titles.get(campaign_id) or (script.title if script else campaign_id),
            "lead_id": lead_id,
            "number": number,
            "attempt": attempt,
            "lead": dict(fields),
            "local_time": local_time(number, fields, now),
            "history": [c.to_json() for c in self.history.recent(keys)],
            "script": rendered,
            "dispositions": self.dispositions_for(campaign_id).to_json(),
        }

    def _render(self, call: Call, agent: Agent) -> dict[str, Any]:
        at = call.human_at or call.answered_at or call.created_at
        fields = call.fields
        keys = ContactHistory.keys_for(call.number, fields)
        history = [c.to_json() for c in self.history.recent(keys)]
        self.history.note_contact(keys, Contact(at, call.call_id, call.campaign_id, agent.agent_id))
        script = self.scripts.get(call.campaign_id)
        rendered = None
        if script is not None:
            rendered = script.render(
                fields,
                agent={"id": agent.agent_id, "name": self.agent_names.get(agent.agent_id, agent.agent_id)},
                call={"attempt": call.attempt, "number": call.number},
            )
        dispo = self._dispo_json.get(call.campaign_id)
        if dispo is None:
            dispo = self.dispositions_for(call.campaign_id).to_json()
            if script is not None and script.refusal_reasons:
                # the reasons the script's refusal steps offer are the ones validation accepts
                dispo = {**dispo, "reasons": [c.to_json() for c in script.refusal_reasons]}
            self._dispo_json[call.campaign_id] = dispo
        title = self.campaign_titles.get(call.campaign_id) or (script.title if script else call.campaign_id)
        return {
            "call_id": call.call_id,
            "campaign_id": call.campaign_id,
            "campaign_title": title,
            "lead_id": call.lead_id,
            "number": call.number,
            "attempt": call.attempt,
            "lead": dict(fields),
            "local_time": local_time(call.number, fields, at),
            "history": history,
            "script": rendered,
            "dispositions": dispo,
        }
