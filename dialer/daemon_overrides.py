"""The daemon's side of the supervisor's overrides (`dialer.overrides`), as a mixin of `dialer.daemon.Daemon`.

    _restore_overrides   at start-up: read every campaign's stored record, check it against the config
                         file (the config file wins, `dialer.overrides.plan`), apply it, lift the hold
    edit_campaign        dial settings and name: the supervisor's edit, and its restore
    set_run_state        running, paused or stopped
    remember_*, forget_changes
                         a supervisor move recorded in the campaign's record (in memory)
    save_overrides       the record written to Redis (awaited by the API; queued for retry when Redis fails)

Until the records are read back no campaign dials, in any mode: a stop made before the restart must hold
from the first decision. Each decision meanwhile launches nothing and says why (`OVERRIDES_HOLD`), and
the supervisor's moves wait for the read, which would otherwise undo them (or they would overwrite what
it has not read yet). A record that cannot be read at all leaves its campaign paused, for the same reason.

Kept apart so that `daemon.py` stays about the TaskGroup and the pacing loop; the pure parts live in
`dialer.overrides`, the Redis side in `dialer.overrides_store`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from pydantic import JsonValue

from dialer.config import CampaignSettings
from dialer.errors import ConfigError, StateStoreError
from dialer.overrides import (
    CampaignOverrides,
    RunState,
    Section,
    cleared,
    describe,
    is_empty,
    loads,
    plan,
    with_changes,
    with_created,
    with_run_state,
)
from dialer.overrides_store import OverrideStore

if TYPE_CHECKING:
    from dialer.clock import Clock
    from dialer.config import DialerSettings
    from dialer.engine.core import Engine
    from dialer.store import RedisStore
    from pacing import PacingKnobs

__all__ = ["OVERRIDES_HOLD", "Overrides"]

log = logging.getLogger("dialer.daemon")

OVERRIDES_HOLD = ("supervisor changes (stops, pauses, pacing, edits) not read back from Redis yet: no dials until "
                  "they are")


class Overrides:
    """Mixin of `Daemon`: the supervisor's changes kept across restarts (see the module docstring)."""

    if TYPE_CHECKING:
        settings: DialerSettings
        clock: Clock
        engine: Engine
        store: RedisStore
        _dirty: dict[str, asyncio.Event]
        ledger_warn_after_s: float

        def set_knobs(self, campaign_id: str, knobs: PacingKnobs) -> None: ...

        def set_paused(self, campaign_id: str, paused: bool) -> None: ...

        async def add_campaign(self, settings: CampaignSettings) -> None: ...

    def _init_overrides(self) -> None:
        # each campaign's settings without overrides: the config file's, or those it was created with
        self.configs: dict[str, CampaignSettings] = {cs.id: cs for cs in self.settings.campaigns}
        self.names: dict[str, str] = {cs.id: cs.name for cs in self.settings.campaigns}
        self.stopped: set[str] = set()
        self.overrides: dict[str, CampaignOverrides] = {}  # in force now; what Redis holds once saved
        self.override_notes: dict[str, list[str]] = {}  # what the start-up dropped or could not read, per campaign
        self.overrides_unsaved: set[str] = set()  # campaigns whose record Redis has not taken yet
        self.overrides_hold = ""  # OVERRIDES_HOLD while the read-back runs
        self.overrides_ready = asyncio.Event()  # set once it is done, and what it dropped is gone from Redis too
        self.override_store = OverrideStore(self.store)

    # ------------------------------------------------------------------ run state and settings
    def run_state(self, campaign_id: str) -> RunState:
        if campaign_id in self.stopped:
            return RunState.STOPPED
        return RunState.PAUSED if self.engine.campaigns[campaign_id].paused else RunState.RUNNING

    def set_run_state(self, campaign_id: str, state: RunState) -> None:
        """Running, paused (no new dials) or stopped (paused, and shown so; the supervisor's `stop` also
        pauses the campaign's agents)."""
        if state is RunState.STOPPED:
            self.stopped.add(campaign_id)
        else:
            self.stopped.discard(campaign_id)
        self.set_paused(campaign_id, state is not RunState.RUNNING)

    def edit_campaign(self, campaign_id: str, changes: Mapping[str, Any]) -> None:
        """Change settings the engine reads when they apply (`overrides.EDITABLE`) or the name."""
        camp = self.engine.campaigns[campaign_id]
        for key, value in changes.items():
            if key == "name":
                self.names[campaign_id] = value
            elif value is None and key in CampaignSettings.PLACEHOLDER_CALLER_ID:  # reverted to a file-less unset
                setattr(camp, key, CampaignSettings.PLACEHOLDER_CALLER_ID[key])
            else:
                setattr(camp, key, value)
        self._dirty[campaign_id].set()

    # ------------------------------------------------------------------ recording supervisor moves
    def remember_changes(self, campaign_id: str, section: Section, values: Mapping[str, JsonValue], by: str) -> None:
        """Record changed knobs (`pacing`) or dial settings (`settings`) against the configured values."""
        base = self.configs.get(campaign_id)
        configured: dict[str, Any] = {}
        if base is not None:
            configured = base.pacing.model_dump(mode="json") if section == "pacing" else base.model_dump(mode="json")
        rec = with_changes(self.overrides.get(campaign_id), section, values, configured, by=by, at=self.clock.now())
        self._remember(campaign_id, rec)

    def remember_run_state(self, campaign_id: str, by: str) -> None:
        rec = self.overrides.get(campaign_id)
        default = RunState.PAUSED if rec is not None and rec.created is not None else RunState.RUNNING
        self._remember(campaign_id, with_run_state(rec, self.run_state(campaign_id), default, by=by,
                                                   at=self.clock.now()))

    def remember_created(self, settings: CampaignSettings) -> None:
        self._adopt(settings)
        self._remember(settings.id, with_created(settings))

    def _adopt(self, settings: CampaignSettings) -> None:
        """A campaign created at run time: the settings it was created with are its "config file"."""
        self.configs[settings.id] = settings
        self.names[settings.id] = settings.name

    def forget_changes(self, campaign_id: str, *, keep_run_state: bool) -> CampaignOverrides | None:
        """Drop the campaign's pacing and settings overrides (and its run state unless kept); returns the
        record as it was. The caller puts the configured values back."""
        before = self.overrides.get(campaign_id)
        self._remember(campaign_id, cleared(before, keep_run_state=keep_run_state))
        self.override_notes.pop(campaign_id, None)
        return before

    def _remember(self, campaign_id: str, rec: CampaignOverrides) -> None:
        if is_empty(rec):
            self.overrides.pop(campaign_id, None)
        else:
            self.overrides[campaign_id] = rec

    async def save_overrides(self, campaign_id: str) -> bool:
        """Write the campaign's record to Redis now. False when Redis did not take it: the change applies
        but would not survive a restart, so the write is queued and retried until Redis takes it."""

        def current() -> CampaignOverrides | None:
            return self.overrides.get(campaign_id)

        try:
            await self.override_store.write(campaign_id, current)
        except StateStoreError as exc:
            self.overrides_unsaved.add(campaign_id)
            log.error("supervisor change NOT stored in Redis: it applies now, but a restart before Redis takes it "
                      "(retried in the background) goes back to the config file",
                      extra={"campaign_id": campaign_id, "error": str(exc)})
            self.override_store.write_later(campaign_id, current, lambda: self.overrides_unsaved.discard(campaign_id))
            return False
        self.overrides_unsaved.discard(campaign_id)
        return True

    # ------------------------------------------------------------------ start-up
    async def _restore_overrides(self) -> None:
        """Read every campaign's stored record back, apply what still holds, and lift the hold on dialing."""
        pending = self.override_store.read_all()
        done, _ = await asyncio.wait({pending}, timeout=self.ledger_warn_after_s)
        if not done:
            log.warning("cannot read the supervisor's stored changes from Redis yet; no campaign dials until it can: "
                        "check Redis")
        got = await pending
        records: dict[str, CampaignOverrides] = {}
        unreadable: dict[str, str] = {}
        if isinstance(got, str):
            unreadable = {cid: f"{got}: the supervisor's stored changes cannot be read; fix or delete that key"
                          for cid in self.engine.campaigns}
        else:
            for cid, text in got.items():
                try:
                    records[cid] = loads(cid, text)
                except ValueError as exc:
                    unreadable[cid] = str(exc)
        configured = {cs.id: cs for cs in self.settings.campaigns}
        rewrite: list[str] = []
        for cid in sorted(set(self.engine.campaigns) | set(records) | set(unreadable)):
            if cid in unreadable:
                self._unreadable(cid, unreadable[cid])
            elif await self._restore_campaign(cid, records.get(cid), configured.get(cid)):
                rewrite.append(cid)
        self.overrides_hold = ""  # campaigns may dial from here, and supervisors move them
        for dirty in self._dirty.values():
            dirty.set()
        for cid in rewrite:  # what was dropped stays dropped (reverting the config file must not bring it back)
            await self.save_overrides(cid)
        self.overrides_ready.set()

    def _unreadable(self, campaign_id: str, problem: str) -> None:
        """A record that cannot be read may hide a stop: the campaign starts paused rather than dial."""
        if campaign_id not in self.engine.campaigns:
            log.error(f"{problem}; the campaign is not in the config file, nothing is restored",
                      extra={"campaign_id": campaign_id})
            return
        self.set_run_state(campaign_id, RunState.PAUSED)
        note = (f"{problem}; the campaign starts paused, since it may have been stopped: check it, then start it "
                "(which stores a fresh record)")
        self.override_notes[campaign_id] = [note]
        log.error(note, extra={"campaign_id": campaign_id})

    async def _restore_campaign(self, campaign_id: str, rec: CampaignOverrides | None,
                                config: CampaignSettings | None) -> bool:
        """Apply one campaign's record; True when Redis must be rewritten (something was dropped)."""
        if rec is None:
            log.info("no supervisor changes to restore: the config file's settings apply",
                     extra={"campaign_id": campaign_id})
            return False
        r = plan(campaign_id, rec, config)
        for why in r.dropped:
            log.warning(why, extra={"campaign_id": campaign_id})
        if r.dropped:
            self.override_notes[campaign_id] = list(r.dropped)
        if r.create is not None:
            try:
                await self.add_campaign(r.create)  # paused, as created
            except ConfigError as exc:
                log.error(f"campaign {campaign_id} was created at run time but cannot be re-created now ({exc}); its "
                          "stored record is kept for the next start", extra={"campaign_id": campaign_id})
                return False
            self._adopt(r.create)
        if campaign_id not in self.engine.campaigns:  # not configured and not created: dropped above
            return r.rewrite
        try:
            if r.settings:
                self.edit_campaign(campaign_id, r.settings)
            if r.pacing is not None:
                self.set_knobs(campaign_id, r.pacing.knobs())  # keeps the AMD audit's false-positive share
            if r.run_state is not None:
                self.set_run_state(campaign_id, r.run_state)
        except Exception as exc:  # a value no check foresaw must not stop the daemon, nor let the campaign dial
            log.exception("supervisor changes could not be restored", extra={"campaign_id": campaign_id})
            if campaign_id in self.engine.campaigns:
                self._unreadable(campaign_id, f"stored supervisor changes of campaign {campaign_id} could not be "
                                              f"applied ({exc!r})")
            return False  # kept in Redis as it is, for a look
        if r.record is not None:
            self.overrides[campaign_id] = r.record
        log.info(f"supervisor changes restored: {describe(r.record) or 'none still apply'}",
                 extra={"campaign_id": campaign_id})
        return r.rewrite
