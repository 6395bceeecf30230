"""The supervisor's hold on a running daemon: campaign and agent views, and the moves it may make.

Everything here goes through the daemon's control surface (`set_knobs`, `set_run_state`, `edit_campaign`,
`agent_command`, and `add_campaign` once the daemon offers it) so that the pacing loop is woken and
the next decision uses the change. Every move is validated in full before anything is touched: a bad
request raises and leaves the daemon as it was.

Each campaign move is also recorded in the campaign's overrides (`dialer.overrides`), which the caller
then stores with `save` so that it survives a restart. Moves wait for the daemon's read-back of those
records at start-up (`restored`); made before it, they would be undone by it.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import math
from collections import Counter
from collections.abc import Iterable
from enum import Enum
from typing import TYPE_CHECKING, Any, Literal, Protocol, runtime_checkable

from pydantic import ValidationError

from agents import commands as ac
from agents.state import Agent, AgentState
from dialer import overrides as ov
from dialer.config import CampaignSettings, settle_campaign
from dialer.engine.calls import CallState
from dialer.engine.core import CampaignRuntime
from dialer.errors import ConfigError
from dialer.metrics import dial_level
from dialer.overrides import RunState
from dialer.supervisor.errors import Conflict, Invalid, NotFound, NotSupported, Unavailable
from pacing import Decision, Mode, PacingKnobs, Reason

if TYPE_CHECKING:
    from dialer.daemon import Daemon

__all__ = ["CampaignAdder", "Supervisor", "current_decision", "decision_view", "knobs_view", "why", "why_now"]

_RINGING = (CallState.PENDING, CallState.DIALING, CallState.RINGING)
# the stored record's "created" key and the JSON value kinds pydantic names in an error's location: not fields
_JSON_TAGS = frozenset({"created", "dict", "list", "str", "int", "float", "bool"})
NOT_STORED = ("the latest supervisor change is NOT stored in Redis yet: it applies now, but a restart before Redis "
              "takes it (retried in the background) would undo it")


@runtime_checkable
class CampaignAdder(Protocol):
    """The daemon hook that adds a campaign while it runs (see docs/SUPERVISOR.md)."""

    async def add_campaign(self, settings: CampaignSettings) -> None: ...


def _plain(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    if hasattr(value, "item") and callable(value.item):  # numpy scalars
        return value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def knobs_view(knobs: PacingKnobs) -> dict[str, Any]:
    return {f.name: _plain(getattr(knobs, f.name)) for f in dataclasses.fields(knobs)}


def decision_view(d: Decision) -> dict[str, Any]:
    out = {f.name: _plain(getattr(d, f.name)) for f in dataclasses.fields(d)}
    out["why"] = why(d)
    return out


def why(d: Decision) -> str:
    """One sentence a supervisor reads: what the pacer did and the reason."""
    detail = f" ({d.detail})" if d.detail else ""
    if d.launch > 0:
        extra = f", predicted abandon {d.predicted_abandon:.1%}" if d.predicted_abandon else ""
        return f"dialing {d.launch} ({d.mode.value}; {d.ready_agents} ready, {d.in_flight} in flight{extra}){detail}"
    if d.reason is Reason.DIALING:
        return f"not dialing now ({d.mode.value}){detail}"
    return f"not dialing because: {d.reason.value}{detail}"


def current_decision(camp: CampaignRuntime) -> Decision | None:
    """The campaign's last pacing decision, if it was made under the mode the campaign has now. One made before
    a switch of mode says nothing of now, and a preview campaign makes none (its agents ask for leads): its last
    power decision, "no ready agents", would stay on the board for the rest of the day."""
    last = camp.pacer.decisions[-1] if camp.pacer.decisions else None
    return last if last is not None and last.mode is camp.pacer.knobs.mode else None


def why_now(camp: CampaignRuntime) -> str:
    """One sentence: why the campaign dials as it does now (`why` of its current decision)."""
    mode = camp.pacer.knobs.mode
    if mode is Mode.PREVIEW:
        return Reason.PREVIEW_MODE.value
    current = current_decision(camp)
    if current is not None:
        return why(current)
    return f"no pacing decision yet in {mode.value} mode" if camp.pacer.decisions else "no pacing decision yet"


class Supervisor:
    """Views of, and moves on, one daemon. One per router (no module state)."""

    restore_wait_s = 5.0  # how long a move made during start-up waits for the overrides' read-back

    def __init__(self, daemon: Daemon) -> None:
        self.d = daemon

    # the daemon keeps these: its start-up restores them (`dialer.daemon_overrides`)
    @property
    def stopped(self) -> set[str]:
        return self.d.stopped

    @property
    def names(self) -> dict[str, str]:
        return self.d.names

    @property
    def configs(self) -> dict[str, CampaignSettings]:
        return self.d.configs

    # ----------------------------------------------------------------- lookups
    def now(self) -> float:
        return self.d.clock.now()

    def campaign(self, campaign_id: str) -> CampaignRuntime:
        camp = self.d.engine.campaigns.get(campaign_id)
        if camp is None:
            known = ", ".join(sorted(self.d.engine.campaigns)) or "none"
            raise NotFound(f"no campaign {campaign_id!r} (campaigns: {known})")
        return camp

    def agent(self, agent_id: str) -> Agent:
        agent = self.d.engine.roster.get(agent_id)
        if agent is None:
            raise NotFound(f"no agent {agent_id!r} has logged in since the daemon started")
        return agent

    # ----------------------------------------------------------------- views
    def status_of(self, camp: CampaignRuntime) -> str:
        return self.d.run_state(camp.campaign_id).value

    def overrides_view(self, campaign_id: str) -> dict[str, Any]:
        """What survives a restart: the campaign's overrides, whether Redis has them, and what the last
        start-up dropped."""
        out = ov.view(self.d.overrides.get(campaign_id))
        stored = campaign_id not in self.d.overrides_unsaved
        out["stored"] = stored
        out["warning"] = self.d.overrides_hold or (None if stored else NOT_STORED)
        out["notes"] = list(self.d.override_notes.get(campaign_id, ()))
        return out

    def call_counts(self, camp: CampaignRuntime) -> dict[str, int]:
        counts = Counter(self.d.engine.calls[c].state for c in camp.active if c in self.d.engine.calls)
        return {
            "ringing": sum(counts[s] for s in _RINGING),
            "screening": counts[CallState.SCREENING],
            "waiting": counts[CallState.WAITING] + counts[CallState.CONNECTING],
            "connected": counts[CallState.CONNECTED],
            "other": counts[CallState.MACHINE] + counts[CallState.AUDITING] + counts[CallState.ABANDONING]
                     + counts[CallState.DELIVERING],
        }

    def agent_counts(self, campaign_id: str) -> dict[str, int]:
        counts = Counter(a.state.value for a in self.d.engine.roster.of_campaign(campaign_id))
        return {s.value: counts[s.value] for s in AgentState if s is not AgentState.LOGGED_OUT}

    def campaign_view(self, campaign_id: str) -> dict[str, Any]:
        camp = self.campaign(campaign_id)
        last = current_decision(camp)
        agents = self.agent_counts(campaign_id)
        calls = self.call_counts(camp)
        return {
            "id": camp.campaign_id,
            "name": self.names.get(camp.campaign_id, ""),
            "status": self.status_of(camp),
            "pacing": knobs_view(camp.pacer.knobs),
            "amd": camp.amd,
            "ring_timeout_s": camp.ring_timeout_s,
            "caller_id_name": camp.caller_id_name,
            "caller_id_number": camp.caller_id_number,
            "wrapup_timeout_s": camp.wrapup_timeout_s,
            "record_calls": camp.record_calls,
            "after_wrapup_timeout": camp.after_wrapup_timeout,
            "late_disposition_s": camp.late_disposition_s,
            "preview_auto_dial_s": camp.preview_auto_dial_s,
            "calls": calls,
            "agents": agents,
            "dial_level": round(dial_level(calls["ringing"] + calls["screening"], agents), 3),
            "last_decision": decision_view(last) if last is not None else None,
            "why": why_now(camp),
            "amd_audit": self.amd_audit_view(camp),
            "overrides": self.overrides_view(camp.campaign_id),
        }

    def amd_audit_view(self, camp: CampaignRuntime) -> dict[str, Any] | None:
        """The campaign's AMD audit: sample, estimate, and the false-positive share pacing uses (and why)."""
        audits = getattr(self.d, "audits", None)
        audit = audits.get(camp.campaign_id) if isinstance(audits, dict) else None
        if audit is None:
            return None
        view: dict[str, Any] = audit.view(camp.pacer.knobs.abandon_cap)
        view["effective_false_positive"] = camp.pacer.knobs.amd_false_positive
        view["blocks_predictive"] = bool(camp.amd_fp_note)
        return view

    def campaigns_view(self) -> list[dict[str, Any]]:
        return [self.campaign_view(cid) for cid in sorted(self.d.engine.campaigns)]

    def pbx_view(self) -> dict[str, Any]:
        """The AMI link: `up` (dialing not held for it), `down` (no connection: the client is reconnecting) or
        `resyncing` (logged in; the calls of the outage, or those an earlier process left, are being looked at
        before dialing); `since` when it was lost (the engine's clock), `why` the hold every campaign shows."""
        link = self.d.engine.ami_link
        # AMIs without a socket to lose (the tests' and harnesses' fakes) are taken as connected
        connected = bool(getattr(self.d.ami, "connected", True))
        state = "down" if not connected else "resyncing" if link.hold else "up"
        return {"link": state, "since": link.lost_at if state != "up" else None, "why": link.hold}

    def agent_view(self, a: Agent, now: float) -> dict[str, Any]:
        return {
            "id": a.agent_id,
            "extension": a.extension,
            "campaign": a.campaign_id,
            "state": a.state.value,
            "since": a.since,
            "in_state_s": round(max(0.0, now - a.since), 3),
            "pause_reason": a.pause_reason,
            "call_id": a.call_id,
            "pending_pause": a.pending_pause,
            "pending_logout": a.pending_logout,
            "calls_taken": a.calls_taken,
        }

    def agents_view(self, campaign_id: str | None = None, state: str | None = None) -> list[dict[str, Any]]:
        if campaign_id is not None:
            self.campaign(campaign_id)
        now = self.now()
        agents: Iterable[Agent] = self.d.engine.roster
        return [
            self.agent_view(a, now)
            for a in sorted(agents, key=lambda a: a.agent_id)
            if (campaign_id is None or a.campaign_id == campaign_id) and (state is None or a.state.value == state)
        ]

    def decisions(self, campaign_id: str, limit: int) -> dict[str, Any]:
        camp = self.campaign(campaign_id)
        recent = list(camp.pacer.decisions)[-limit:] if limit else []
        reasons = Counter(d.reason.value for d in camp.pacer.decisions)
        return {
            "campaign": campaign_id,
            "status": self.status_of(camp),
            "pacing": knobs_view(camp.pacer.knobs),
            "now": self.now(),
            "why": why_now(camp),
            "reasons": dict(reasons.most_common()),
            "decisions": [decision_view(d) for d in reversed(recent)],
        }

    # ----------------------------------------------------------------- moves on campaigns
    async def restored(self) -> None:
        """Wait for the daemon's read-back of the stored overrides (start-up only); Unavailable if it lasts."""
        if self.d.overrides_hold:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.restore_wait_s):
                    await self.d.overrides_ready.wait()
        self._check_restored()

    def _check_restored(self) -> None:
        if self.d.overrides_hold:
            raise Unavailable(f"{self.d.overrides_hold}; nothing changed: try again once Redis answers")

    async def save(self, campaign_id: str) -> bool:
        """Store the campaign's overrides after a move; False (logged) when Redis did not take them."""
        return await self.d.save_overrides(campaign_id)

    def patch_knobs(self, campaign_id: str, changes: dict[str, Any], *, by: str = "") -> tuple[PacingKnobs,
                                                                                                PacingKnobs]:
        """Apply a partial knob change; returns (before, after). Raises Invalid, changing nothing."""
        camp = self.campaign(campaign_id)
        if not changes:
            raise Invalid("nothing to change: give at least one of mode, ratio, target_abandon, max_calls_per_agent, "
                          "min_agents_predictive, max_channels, max_cps, surplus_hangup_after_s")
        self._check_restored()
        before = camp.pacer.knobs
        try:
            after = dataclasses.replace(before, **changes)
        except (ValueError, TypeError) as exc:
            raise Invalid(f"pacing for {campaign_id}: {exc}") from None
        self.d.set_knobs(campaign_id, after)
        view = knobs_view(after)
        self.d.remember_changes(campaign_id, "pacing", {k: view[k] for k in changes}, by)
        return before, after

    def reset_amd_audit(self, campaign_id: str) -> tuple[int, int]:
        """Start the campaign's AMD audit sample afresh (AMD was tuned); returns the (persons, audited) forgotten.
        Raises NotSupported without the daemon's hook, Unavailable before the sample is read back."""
        camp = self.campaign(campaign_id)
        reset = getattr(self.d, "reset_amd_audit", None)
        if reset is None or self.amd_audit_view(camp) is None:
            raise NotSupported("this daemon keeps no AMD audit sample for the campaign")
        try:
            forgotten: tuple[int, int] = reset(campaign_id)
        except ValueError as exc:
            raise Unavailable(f"{exc}; nothing changed") from None
        return forgotten

    def start(self, campaign_id: str, *, by: str = "") -> None:
        self.campaign(campaign_id)
        self._check_restored()
        self.d.set_run_state(campaign_id, RunState.RUNNING)
        self.d.remember_run_state(campaign_id, by)

    def pause(self, campaign_id: str, *, by: str = "") -> None:
        """No new dials (a stopped campaign stays stopped)."""
        self.campaign(campaign_id)
        self._check_restored()
        self.d.set_paused(campaign_id, True)
        self.d.remember_run_state(campaign_id, by)

    def stop(self, campaign_id: str, *, by: str = "") -> list[str]:
        """No new dials, and every agent of the campaign is paused (after their call): the shift on it is over.
        Returns the agents told to pause."""
        self.campaign(campaign_id)
        self._check_restored()
        self.d.set_run_state(campaign_id, RunState.STOPPED)
        self.d.remember_run_state(campaign_id, by)
        told: list[str] = []
        for a in list(self.d.engine.roster.of_campaign(campaign_id)):
            if a.state in (AgentState.READY, AgentState.RESERVED, AgentState.TALKING, AgentState.WRAPUP,
                           AgentState.PREVIEWING, AgentState.DIALING):
                self.d.agent_command(ac.Pause(a.agent_id, "campaign stopped"))
                told.append(a.agent_id)
        return told

    def edit(self, campaign_id: str, changes: dict[str, Any], *, by: str = "") -> dict[str, Any]:
        """Change settings read when they next apply (`overrides.EDITABLE`: AMD, ring timeout, caller ID and
        recording at the next dial; the wrap-up timeout and what follows it at the next wrap-up; the name)."""
        self.campaign(campaign_id)
        if not changes:
            raise Invalid("nothing to change: give at least one campaign setting")
        self._check_restored()
        self.d.edit_campaign(campaign_id, changes)
        self.d.remember_changes(campaign_id, "settings", changes, by)
        return self.campaign_view(campaign_id)

    def revert(self, campaign_id: str, *, run_state: Literal["keep", "config"] = "keep",
               by: str = "") -> dict[str, Any]:
        """Drop the campaign's pacing and settings overrides: its configured knobs and settings apply again at
        once. Its run state is kept, unless `run_state="config"`: then it runs again as a config-file campaign
        starts (a campaign created at run time is paused, as created). Returns the overrides dropped."""
        self.campaign(campaign_id)
        base = self.configs.get(campaign_id)
        if base is None:
            raise Conflict(f"campaign {campaign_id} has no configured settings to go back to")
        self._check_restored()
        before = self.d.forget_changes(campaign_id, keep_run_state=run_state == "keep")
        self.d.edit_campaign(campaign_id, {k: getattr(base, k) for k in ov.EDITABLE})
        self.d.set_knobs(campaign_id, base.pacing.knobs())
        if run_state == "config":
            created = before is not None and before.created is not None
            self.d.set_run_state(campaign_id, RunState.PAUSED if created else RunState.RUNNING)
        return ov.view(before)

    async def create(self, settings: CampaignSettings) -> dict[str, Any]:
        if settings.id in self.d.engine.campaigns:
            raise Conflict(f"campaign {settings.id!r} already exists; edit it with PATCH /api/campaigns/{settings.id}")
        adder = self.d
        if not isinstance(adder, CampaignAdder) or not getattr(adder, "can_add_campaigns", True):
            raise NotSupported("this daemon cannot add campaigns while running (it lacks Daemon.add_campaign); "
                               "add the campaign to the config file and restart")
        self._check_restored()
        try:  # caller ID and jurisdiction from its campaign file where the request is silent
            settings = settle_campaign(settings)
        except ConfigError as exc:
            raise Invalid(str(exc)) from None
        # Everything the creation builds from `settings` is checked first: once the campaign is in the engine
        # there is no taking it out, so a value the pacer or the record kept for restarts refuses afterwards
        # left a campaign that dials but is not re-created at the next start (and a 500)
        try:
            settings.pacing.knobs()
            rec = ov.with_created(settings)  # the record kept for restarts
            ov.dumps(rec)
            CampaignSettings.model_validate(rec.created)  # what the next start re-creates (overrides.plan)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"] if p not in _JSON_TAGS) or "body"
            raise Invalid(f"{where}: {first['msg']}") from None
        except ValueError as exc:  # the pacer's own checks (PacingKnobs)
            raise Invalid(f"pacing: {exc}") from None
        try:
            await adder.add_campaign(settings)
        except ConfigError as exc:
            raise Invalid(str(exc)) from None
        self.d.remember_created(settings)
        if settings.id not in self.d.engine.campaigns:
            raise NotSupported(f"Daemon.add_campaign returned but campaign {settings.id!r} is not in the engine")
        return self.campaign_view(settings.id)

    # ----------------------------------------------------------------- moves on agents
    def force_pause(self, agent_id: str, reason: str) -> dict[str, Any]:
        agent = self.agent(agent_id)
        if agent.state is AgentState.LOGGED_OUT:
            raise Conflict(f"agent {agent_id} is logged out; nothing to pause")
        self.d.agent_command(ac.Pause(agent_id, reason))
        return self.agent_view(agent, self.now())

    def force_logout(self, agent_id: str) -> dict[str, Any]:
        agent = self.agent(agent_id)
        if agent.state is AgentState.LOGGED_OUT:
            raise Conflict(f"agent {agent_id} is already logged out")
        self.d.agent_command(ac.Logout(agent_id))
        return self.agent_view(agent, self.now())
