"""What a supervisor changed on a campaign while the daemon ran, kept so that a restart does not undo it.

A supervisor stops a campaign after a complaint, tunes its abandon target, edits its caller ID, or
creates one through the API; a deploy or a crash must not bring the config file's values back behind
their back. So each campaign has one record (`CampaignOverrides`) of what differs from the config file:

    pacing     knobs changed through PATCH .../pacing: only those fields, each with its value, the config
               file's value when it was set, who set it and when
    settings   dial settings changed through PATCH /api/campaigns/{id} (name, AMD, ring timeout, caller
               ID, wrap-up timeout), the same way
    run_state  paused or stopped (a config-file campaign starts running; a created one starts paused,
               so that is not an override)
    created    the full `CampaignSettings` of a campaign created at run time (its "config file")

The daemon keeps the records in memory and writes each after every supervisor move
(`dialer.overrides_store`); at start-up it reads them back and applies them before the campaign's first
pacing decision (`dialer.daemon_overrides`).

Why each override carries the config file's value: an operator who edits the config file and restarts
means it. When the config file's value of an overridden setting is no longer the one recorded with the
override, the config file wins and the override is dropped (`plan`). Stored values are kept as JSON and
validated only when applied, against the settings' own schema, so that one value a newer version rejects
drops that override alone, never the whole record with its run state.

Pure: no I/O, no asyncio. `plan` turns a stored record and the campaign's configured settings into what
to apply, and the sentences to log for what it dropped.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, JsonValue, ValidationError

from dialer.config import CampaignSettings, PacingSettings

__all__ = [
    "EDITABLE",
    "LAYOUT",
    "CampaignOverrides",
    "Change",
    "Restore",
    "RunState",
    "RunStateChange",
    "Section",
    "cleared",
    "describe",
    "dumps",
    "is_empty",
    "loads",
    "plan",
    "view",
    "with_changes",
    "with_created",
    "with_run_state",
]

LAYOUT: Literal[1] = 1  # a newer layout is refused as unreadable (its campaign starts paused)
# Dial settings a supervisor may edit on a running campaign (`Supervisor.edit`); the rest of
# `CampaignSettings` (lead file, script, agentless plan) only changes through the config file.
EDITABLE = ("name", "amd", "ring_timeout_s", "wrapup_timeout_s", "caller_id_name", "caller_id_number", "record_calls",
            "after_wrapup_timeout", "late_disposition_s", "preview_auto_dial_s")
Section = Literal["pacing", "settings"]


class RunState(StrEnum):
    RUNNING = "running"
    PAUSED = "paused"
    STOPPED = "stopped"


class _Stored(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class Change(_Stored):
    """One overridden setting: its value, and the configured value it replaced when it was set."""

    value: JsonValue
    configured: JsonValue = None
    by: str = ""
    at: float = 0.0


class RunStateChange(_Stored):
    state: RunState
    by: str = ""
    at: float = 0.0


class CampaignOverrides(_Stored):
    """Everything a supervisor changed on one campaign that differs from its configured settings."""

    layout: Literal[1] = LAYOUT
    pacing: dict[str, Change] = {}
    settings: dict[str, Change] = {}
    run_state: RunStateChange | None = None
    created: dict[str, JsonValue] | None = None  # CampaignSettings as JSON; validated when re-created


def dumps(rec: CampaignOverrides) -> str:
    return rec.model_dump_json(exclude_defaults=False)


def loads(campaign_id: str, text: str) -> CampaignOverrides:
    """A stored record. Raises ValueError naming the campaign, the bad field and the fix."""
    try:
        return CampaignOverrides.model_validate_json(text)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "record"
        raise ValueError(f"stored supervisor changes of campaign {campaign_id} are unreadable ({where}: "
                         f"{first['msg']}); fix the value or clear it (DELETE /api/campaigns/{campaign_id}/overrides)"
                         ) from None


def is_empty(rec: CampaignOverrides | None) -> bool:
    return rec is None or not (rec.pacing or rec.settings or rec.run_state or rec.created is not None)


# ---------------------------------------------------------------------------------------------- recording moves
def with_changes(rec: CampaignOverrides | None, section: Section, values: Mapping[str, JsonValue],
                 configured: Mapping[str, JsonValue], *, by: str, at: float) -> CampaignOverrides:
    """`rec` with these settings changed; a value set back to the configured one is no override."""
    rec = rec or CampaignOverrides()
    current = dict(rec.pacing if section == "pacing" else rec.settings)
    for key, value in values.items():
        base = configured.get(key)
        if _same(value, base):
            current.pop(key, None)
        else:
            current[key] = Change(value=value, configured=base, by=by, at=at)
    return rec.model_copy(update={section: current})


def with_run_state(rec: CampaignOverrides | None, state: RunState, default: RunState, *, by: str,
                   at: float) -> CampaignOverrides:
    """`rec` with this run state; the state the campaign starts in without overrides (`default`) is none."""
    rec = rec or CampaignOverrides()
    return rec.model_copy(update={"run_state": None if state is default else RunStateChange(state=state, by=by,
                                                                                            at=at)})


def with_created(settings: CampaignSettings) -> CampaignOverrides:
    return CampaignOverrides(created=settings.model_dump(mode="json"))


def cleared(rec: CampaignOverrides | None, *, keep_run_state: bool) -> CampaignOverrides:
    """`rec` without its pacing and settings overrides (a created campaign stays created)."""
    rec = rec or CampaignOverrides()
    return rec.model_copy(update={"pacing": {}, "settings": {},
                                  "run_state": rec.run_state if keep_run_state else None})


def _same(a: JsonValue, b: JsonValue) -> bool:
    """Equal as JSON values: 20 and 20.0 are, true and 1 are not."""
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    return a == b


# ---------------------------------------------------------------------------------------------- start-up
@dataclass(frozen=True, slots=True)
class Restore:
    """What to apply to one campaign at start-up (in this order), and what was dropped on the way."""

    record: CampaignOverrides | None  # what stays in force (None: nothing)
    create: CampaignSettings | None = None  # re-create this campaign first (it was created at run time)
    settings: dict[str, Any] = field(default_factory=dict)  # edits, through the path `Supervisor.edit` takes
    pacing: PacingSettings | None = None  # the campaign's pacing with its knob overrides, when it has any
    run_state: RunState | None = None  # None: as it starts without overrides
    dropped: tuple[str, ...] = ()  # one sentence each (a WARNING): where and why
    rewrite: bool = False  # the stored record differs from `record`: write it back


def plan(campaign_id: str, rec: CampaignOverrides, config: CampaignSettings | None) -> Restore:
    """What to restore of `rec` for a campaign whose config-file settings are `config` (None: not in the file)."""
    dropped: list[str] = []
    create: CampaignSettings | None = None
    stored = rec
    if rec.created is not None and config is not None:
        dropped.append(f"campaign {campaign_id} was created at run time and is now in the config file: the config "
                       "file's settings are used, and what was changed on it is checked against them")
        # it was paused unless started: the config file says nothing of run states, so that stays as it was
        paused = rec.run_state or RunStateChange(state=RunState.PAUSED, by="(as created)")
        rec = rec.model_copy(update={"created": None, "run_state": paused})
        base = config
    elif rec.created is not None:
        try:
            create = CampaignSettings.model_validate({**rec.created, "id": campaign_id})
        except ValidationError as exc:
            return Restore(None, dropped=(f"campaign {campaign_id} was created at run time but cannot be re-created: "
                                          f"its stored settings no longer validate ({_first(exc)}); create it "
                                          "again",), rewrite=True)
        base = create
    elif config is None:
        what = describe(rec) or "nothing"
        return Restore(None, dropped=(f"campaign {campaign_id} is no longer in the config file: its stored supervisor "
                                      f"changes ({what}) are dropped",), rewrite=True)
    else:
        base = config
    base_pacing = base.pacing.model_dump(mode="json")
    pacing = _reconcile(campaign_id, "pacing", rec.pacing, base_pacing, dropped,
                        lambda k, v: PacingSettings.model_validate({**base_pacing, k: v}).knobs())
    base_settings = base.model_dump(mode="json")
    for key in sorted(set(rec.settings) - set(EDITABLE)):
        dropped.append(f"campaign {campaign_id}: settings.{key} is not a setting supervisors may change (only "
                       f"{', '.join(EDITABLE)}): the stored override is dropped")
    settings = _reconcile(campaign_id, "settings", {k: c for k, c in rec.settings.items() if k in EDITABLE},
                          base_settings, dropped, lambda k, v: CampaignSettings.model_validate({**base_settings, k: v}))
    effective: PacingSettings | None = None
    if pacing:
        try:  # each knob is valid alone; together they may break a rule across knobs
            effective = PacingSettings.model_validate({**base_pacing, **{k: c.value for k, c in pacing.items()}})
            effective.knobs()
        except (ValidationError, ValueError) as exc:
            dropped.append(f"campaign {campaign_id}: the pacing overrides ({_pairs(pacing)}) are no longer valid "
                           f"together ({_first(exc)}): dropped, the configured knobs apply")
            pacing, effective = {}, None
    kept = rec.model_copy(update={"pacing": pacing, "settings": settings})
    # typed as the settings hold them (a stored 25 is the ring timeout 25.0)
    edits = {k: CampaignSettings.model_validate({**base_settings, k: c.value}).model_dump()[k]
             for k, c in settings.items()}
    return Restore(
        record=None if is_empty(kept) else kept,
        create=create,
        settings=edits,
        pacing=effective,
        run_state=rec.run_state.state if rec.run_state is not None else None,
        dropped=tuple(dropped),
        rewrite=kept != stored,
    )


def _reconcile(campaign_id: str, section: Section, changes: Mapping[str, Change], configured: Mapping[str, Any],
               dropped: list[str], check: Callable[[str, JsonValue], object]) -> dict[str, Change]:
    """The changes that still apply: the config file's value unchanged since, and the value still valid."""
    kept: dict[str, Change] = {}
    for key, c in changes.items():
        where = f"campaign {campaign_id}: {section}.{key}"
        setter = f" (set by {c.by})" if c.by else ""
        if key not in configured:
            dropped.append(f"{where} = {c.value!r}{setter} is not a setting of this version: the override is dropped")
            continue
        now = configured[key]
        if _same(c.value, now):
            continue  # the config file has the supervisor's value now: nothing to override
        if not _same(now, c.configured):
            dropped.append(f"{where}: the config file now says {now!r}, it said {c.configured!r} when {c.value!r} was "
                           f"set{setter}: the config file wins, the override is dropped")
            continue
        try:
            check(key, c.value)
        except (ValidationError, ValueError) as exc:
            dropped.append(f"{where} = {c.value!r}{setter} is no longer valid ({_first(exc)}): the override is "
                           f"dropped, the configured {now!r} applies")
            continue
        kept[key] = c
    return kept


def _first(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        e = exc.errors()[0]
        where = ".".join(str(p) for p in e["loc"])
        return f"{where}: {e['msg']}" if where else str(e["msg"])
    return str(exc)


def _pairs(changes: Mapping[str, Change]) -> str:
    return ", ".join(f"{k} {json.dumps(c.value)} (config {json.dumps(c.configured)})" for k, c in changes.items())


def describe(rec: CampaignOverrides | None) -> str:
    """What `rec` overrides, in a few words for a log line ("" when nothing)."""
    if rec is None:
        return ""
    parts = []
    if rec.created is not None:
        parts.append("created at run time")
    if rec.run_state is not None:
        parts.append(f"{rec.run_state.state.value}")
    if rec.pacing:
        parts.append(f"pacing {_pairs(rec.pacing)}")
    if rec.settings:
        parts.append(f"settings {_pairs(rec.settings)}")
    return "; ".join(parts)


def view(rec: CampaignOverrides | None) -> dict[str, Any]:
    """The active overrides as the supervisor API shows them."""
    rec = rec or CampaignOverrides()
    return {
        "pacing": {k: c.model_dump(mode="json") for k, c in rec.pacing.items()},
        "settings": {k: c.model_dump(mode="json") for k, c in rec.settings.items()},
        "run_state": rec.run_state.model_dump(mode="json") if rec.run_state is not None else None,
        "created": rec.created is not None,
    }
