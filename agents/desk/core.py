"""The desk's logic, apart from HTTP: sessions, snapshots, commands, presence, the daemon's hooks.

`routes.py` maps these calls to HTTP and their errors to status codes; this module never sees a request.
Every method works for the session's own agent only: the agent id always comes from the verified
session token, never from a URL or a body, which is what keeps one agent out of another's calls.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import phonenumbers
from redis.exceptions import RedisError

from agents.commands import AgentCommand, Disposition, Login, Logout, Pause
from agents.desk.auth import Accounts, Session, SessionSigner
from agents.desk.hooks import BlindTransfer, CallbackList, CallbackMoves, ManualDialing, PreviewDialing
from agents.desk.presence import Presence
from agents.desk.ratelimit import LoginLimiter, Refusal
from agents.dispositions import Choice
from agents.screenpop import ScreenPopRenderer
from agents.state import Agent, AgentState
from dialer.config import DeskSettings
from dialer.daemon import RESTART_REASON
from dialer.engine.agentside import WRAPUP_TIMEOUT
from dialer.engine.calls import Call, CallState
from dialer.errors import DialerError, IllegalTransition

if TYPE_CHECKING:
    from dialer.daemon import Daemon

__all__ = ["DEFAULT_PAUSE_REASONS", "ChooseCampaign", "Desk", "DeskError", "DeskOptions", "LoginThrottled"]

log = logging.getLogger(__name__)

DEFAULT_PAUSE_REASONS: tuple[Choice, ...] = tuple(Choice(r.code, r.label) for r in DeskSettings().pause_reasons)
OFFLINE_REASON = "offline"
# pauses the dialer itself sets (the agent cannot choose them), labelled for the page
SYSTEM_PAUSE_REASONS: tuple[Choice, ...] = (
    Choice(WRAPUP_TIMEOUT, "Wrap-up time ran out"),
    Choice(RESTART_REASON, "The dialer restarted"),
    Choice(OFFLINE_REASON, "Your desktop was offline"),
)
# on a call: an offline agent is paused once it is over (their own dial ringing their phone included)
_BUSY = (AgentState.RESERVED, AgentState.DIALING, AgentState.TALKING, AgentState.WRAPUP)
# paused at once: a lead on a previewing agent's screen goes back to the hopper first (the daemon's Pause)
_IDLE = (AgentState.READY, AgentState.PREVIEWING)


class DeskError(DialerError):
    """The desk refuses a request; `status` is the HTTP status hint (as h11's error_status_hint)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class LoginThrottled(DeskError):
    """Too many failed logins (`agents.desk.ratelimit`): wait `retry_after_s` seconds; the message says which
    count refused it and whether a supervisor can lift it."""

    def __init__(self, agent_id: str, refusal: Refusal) -> None:
        wait = f"try again in {refusal.retry_after_s} s"
        unlock = (f", or a supervisor can lift it now (dialer agents unlock {agent_id}, "
                  f"or POST /api/agents/{agent_id}/login-unlock)")
        message = {
            "agent": f"too many failed logins for {agent_id} from this address; {wait}{unlock}",
            "anywhere": f"too many failed logins for {agent_id} from several addresses, so each attempt waits a "
                        f"little longer; {wait}{unlock}",
            "address": f"too many failed logins from this address, for several agents; {wait} (a supervisor "
                       "cannot lift this one: it is about the address, not an agent)",
        }[refusal.scope]
        super().__init__(429, message)
        self.retry_after_s = refusal.retry_after_s
        self.refusal = refusal


class ChooseCampaign(DeskError):
    """The agent may work several campaigns: the login must name one (asked only after the password)."""

    def __init__(self, campaigns: list[str]) -> None:
        super().__init__(422, f"choose a campaign: one of {', '.join(campaigns)}")
        self.campaigns = campaigns


@dataclass(frozen=True, slots=True)
class DeskOptions:
    pause_reasons: tuple[Choice, ...] = DEFAULT_PAUSE_REASONS
    presence_timeout_s: float = 45.0
    ping_s: float = 15.0
    retry_ms: int = 1500  # how soon a page's EventSource reconnects after a drop
    sweep_every_s: float = 5.0
    max_streams_per_agent: int = 4
    cookie_name: str = "desk_session"
    transfer_to_supervisor: bool = True
    # failed logins in `login_window_s` before 429 (agents.desk.ratelimit): one agent at one client address
    # (a lock a supervisor may lift), and one address for any agents
    login_max_failures_per_agent: int = 5
    login_max_failures_per_address: int = 20
    login_window_s: float = 300.0
    # one agent from any addresses: past this many failures in `login_slow_window_s` each attempt waits a
    # growing delay (1 s, doubled each failure, at most `login_max_delay_s`); None: 4 x the per-agent limit
    login_slow_after_per_agent: int | None = None
    login_slow_window_s: float = 3600.0
    login_max_delay_s: float = 120.0
    # a restarted daemon logs its agents back in from Redis: a snapshot waits this long for that, so a page
    # reloaded meanwhile does not show its agent the login form of an agent the daemon is about to restore
    restore_wait_s: float = 10.0

    @classmethod
    def from_settings(cls, s: DeskSettings) -> DeskOptions:
        """The options the `[desk]` section of the config file sets; the rest keep their defaults."""
        return cls(pause_reasons=tuple(Choice(r.code, r.label) for r in s.pause_reasons),
                   presence_timeout_s=s.presence_timeout_s, transfer_to_supervisor=s.transfer_to_supervisor,
                   login_max_failures_per_agent=s.login_max_failures_per_agent,
                   login_max_failures_per_address=s.login_max_failures_per_address, login_window_s=s.login_window_s,
                   login_slow_after_per_agent=s.login_slow_after_per_agent, login_slow_window_s=s.login_slow_window_s,
                   login_max_delay_s=s.login_max_delay_s)


class Desk:
    def __init__(self, daemon: Daemon, *, options: DeskOptions, renderer: ScreenPopRenderer,
                 signer: SessionSigner, accounts: Accounts, presence: Presence,
                 limiter: LoginLimiter | None = None) -> None:
        self.daemon = daemon
        self.options = options
        self.renderer = renderer
        self.signer = signer
        self.accounts = accounts
        self.presence = presence
        self.limiter = limiter or LoginLimiter(max_per_agent_address=options.login_max_failures_per_agent,
                                               max_per_address=options.login_max_failures_per_address,
                                               window_s=options.login_window_s,
                                               slow_after=options.login_slow_after_per_agent,
                                               agent_window_s=options.login_slow_window_s,
                                               max_delay_s=options.login_max_delay_s,
                                               accounts=lambda a: self.accounts.get(a) is not None,
                                               now=presence.now)
        self._pause_codes = {c.code for c in options.pause_reasons}
        self._last_sweep = presence.now()
        self._login_lock = asyncio.Lock()

    # ------------------------------------------------------------------ sessions
    async def login(self, agent_id: str, password: str, campaign_id: str | None, address: str = "") -> Session:
        self._throttle(agent_id, address)
        # A hashed password is verified in a worker thread (`check_off_loop`), so the loop pacing calls goes
        # on meanwhile, and one login at a time: attempts made at once meet the limiter one after another,
        # as they did when the check did not wait, and a flood of them costs one verification at a time
        async with self._login_lock:
            self._throttle(agent_id, address)
            account = await self.accounts.check_off_loop(agent_id, password)
            if account is None:
                locked = self.limiter.failed(agent_id, address)
                log.warning("desk login refused", extra={"agent_id": agent_id[:64], "client": address[:64]})
                if locked is not None:
                    log.warning("desk login locked", extra={"agent_id": agent_id[:64], "client": address[:64],
                                                            "scope": locked.scope, "for_s": locked.retry_after_s})
                raise DeskError(401, "unknown agent or wrong password")
            self.limiter.succeeded(agent_id, address)
        campaigns = self.daemon.engine.campaigns
        if account.campaign is not None and campaign_id not in (None, account.campaign):
            raise DeskError(403, f"agent {agent_id} works campaign {account.campaign}, not {campaign_id}")
        chosen = campaign_id or account.campaign or (next(iter(campaigns)) if len(campaigns) == 1 else None)
        if chosen is None or chosen not in campaigns:
            raise ChooseCampaign(sorted(campaigns))
        agent = self.agent(agent_id)
        if agent is None or agent.state is AgentState.LOGGED_OUT:
            self.daemon.agent_command(Login(agent_id, account.extension, chosen))
        elif agent.campaign_id != chosen:
            raise DeskError(409, f"already logged in to campaign {agent.campaign_id}; log out first")
        self._seen(agent_id)
        log.info("desk login", extra={"agent_id": agent_id, "campaign_id": chosen})
        return self.signer.issue(agent_id)

    def _throttle(self, agent_id: str, address: str) -> None:
        refusal = self.limiter.check(agent_id, address)
        if refusal is not None:
            log.warning("desk login throttled", extra={"agent_id": agent_id[:64], "client": address[:64],
                                                       "scope": refusal.scope, "for_s": refusal.retry_after_s})
            raise LoginThrottled(agent_id[:64], refusal)

    def unlock_login(self, agent_id: str, *, by: str) -> bool:
        """A supervisor lifts the agent's login lock and slow-down, at every address (not an address's own
        lock); whether one was on. Raises DeskError 404 for an agent with no desk account."""
        if self.accounts.get(agent_id) is None:
            raise DeskError(404, f"no agent {agent_id!r} may log in to the desk (see [[agents]] in the config)")
        was = self.limiter.unlock(agent_id)
        log.warning("desk login unlocked", extra={"agent_id": agent_id[:64], "by": by[:64], "was_locked": was})
        return was

    def logout(self, session: Session) -> bool:
        """Log the agent out; True when done now, False when it waits for the current call's wrap-up: the
        session then goes on until the agent is logged out (`session`, `settle_logouts` end it)."""
        agent = self.agent(session.agent_id)
        if agent is not None and agent.state is not AgentState.LOGGED_OUT:
            self.daemon.agent_command(Logout(session.agent_id))
            if self._state(session.agent_id) is not AgentState.LOGGED_OUT:
                self.signer.logouts.end_after_wrapup(session)
                return False
        self.signer.revoke(session)
        self._gone(session.agent_id)
        return True

    def _gone(self, agent_id: str) -> None:
        self.presence.forget(agent_id)
        self.daemon.store.set_agent(agent_id, {"presence": "offline"})

    async def session(self, token: str) -> Session:
        """The session of a token, checked as on every request: signature, expiry and logouts (this
        daemon's, and those in Redis: another daemon's, or this one's before a restart). A session whose
        logout waited for the wrap-up ends as soon as the agent is no longer waiting to log out. Raises
        SessionInvalid."""
        self.settle_logouts()
        return await self.signer.check(token, wait_over=self._logout_over)

    def _logout_over(self, session: Session) -> bool:
        """The session's logout no longer waits: the agent is logged out (or logged in again since)."""
        agent = self.agent(session.agent_id)
        return agent is None or not agent.pending_logout

    def settle_logouts(self) -> list[Session]:
        """End this daemon's sessions whose logout waited for a wrap-up that is over (every request and
        the sweep call this, so the logout reaches Redis even if the page never asks again); returns them."""
        over = [s for s in self.signer.logouts.waiting() if self._logout_over(s)]
        for s in over:
            self.signer.revoke(s)
            if self._state(s.agent_id) is AgentState.LOGGED_OUT:
                self._gone(s.agent_id)
        return over

    def agent(self, agent_id: str) -> Agent | None:
        return self.daemon.engine.roster.get(agent_id)

    def _state(self, agent_id: str) -> AgentState:
        agent = self.agent(agent_id)
        return agent.state if agent is not None else AgentState.LOGGED_OUT

    # ------------------------------------------------------------------ what the page shows
    def _campaign_of(self, agent_id: str) -> str | None:
        """The campaign the agent is logged in to, else the one their account is tied to (None: not tied)."""
        agent = self.agent(agent_id)
        if agent is not None:
            return agent.campaign_id
        account = self.accounts.get(agent_id)
        return account.campaign if account is not None else None

    def snapshot(self, session: Session) -> dict[str, Any]:
        """Everything the page needs to redraw from nothing, consistent with `seq` (no await in here)."""
        agent_id = session.agent_id
        account = self.accounts.get(agent_id)
        agent = self.agent(agent_id)
        d = self.daemon
        campaign_id = self._campaign_of(agent_id)
        camp = d.engine.campaigns.get(campaign_id or "")
        call: dict[str, Any] | None = None
        call_live = False
        late = d.engine.undisposed.get(agent_id)
        late_json: dict[str, Any] | None = None
        if agent is not None and agent.call_id is not None:
            call = self._current_pop(agent_id, agent.call_id)
            c = d.engine.calls.get(agent.call_id)
            call_live = c is not None and c.state is not CallState.ENDED and c.agent_id == agent_id
        elif late is not None and late.until > d.clock.now():  # the wrap-up ran out; it may still be disposed
            call = self._current_pop(agent_id, late.call_id)
            late_json = {"call_id": late.call_id, "until": late.until}
        return {
            "seq": d.feed.last_seq(agent_id),
            "server_now": d.clock.now(),
            "clock_scale": d.clock.scale,
            "agent": {
                "id": agent_id,
                "name": account.name if account is not None and account.name else agent_id,
                "extension": account.extension if account is not None else "",
                "campaign_id": campaign_id,
                "state": agent.state.value if agent is not None else AgentState.LOGGED_OUT.value,
                "since": agent.since if agent is not None else None,
                "reason": agent.pause_reason if agent is not None else None,
                "pending_pause": agent.pending_pause if agent is not None else None,
                "pending_logout": agent.pending_logout if agent is not None else False,
                "call_id": agent.call_id if agent is not None else None,
                "calls_taken": agent.calls_taken if agent is not None else 0,
                # when the dialer ends the wrap-up under way (None outside one): the page counts down to it
                "wrapup_deadline": d.engine.wrapup_deadlines.get(agent_id)
                if agent is not None and agent.state is AgentState.WRAPUP else None,
            },
            "wrapup_timeout_s": camp.wrapup_timeout_s if camp is not None else None,
            "call": call,
            "call_live": call_live,
            "late": late_json,
            "preview": self._current_preview(agent_id) if agent is not None and agent.state is AgentState.PREVIEWING
            else None,
            "presence": self.presence.to_json(agent_id),
            "pause_reasons": [c.to_json() for c in self.options.pause_reasons],
            "system_pause_reasons": [c.to_json() for c in SYSTEM_PAUSE_REASONS],
            "dispositions": self.renderer.dispositions_for(campaign_id or "").to_json(),
            "features": self.features(),
            "session": {"expires_at": session.expires_at},
        }

    def features(self) -> dict[str, bool]:
        d = self.daemon
        return {"preview": isinstance(d, PreviewDialing), "manual_dial": isinstance(d, ManualDialing),
                "transfer": isinstance(d, BlindTransfer), "callbacks": isinstance(d, CallbackList),
                "callback_moves": isinstance(d, CallbackMoves)}

    def _current_preview(self, agent_id: str) -> dict[str, Any] | None:
        held = self.daemon.engine.previews.get(agent_id)
        for msg in reversed(self.daemon.feed.since(agent_id, 0) or []):
            if msg.get("kind") == "preview" and held is not None and msg.get("lead_id") == held[1].lead_id:
                return {k: v for k, v in msg.items() if k not in ("seq", "kind")}
        return None

    def _current_pop(self, agent_id: str, call_id: str) -> dict[str, Any]:
        pop = self.renderer.current(agent_id)
        if pop is not None and pop.get("call_id") == call_id:
            return pop
        found = self.daemon.sent_pop(agent_id, call_id)
        return dict(found) if found is not None else {"call_id": call_id}

    # ------------------------------------------------------------------ commands
    def command(self, session: Session, cmd: AgentCommand, command_id: str | None = None) -> dict[str, Any]:
        """Apply a ready / pause / disposition command of the session's agent (once per `command_id`:
        a request sent again answers the current state)."""
        self._seen(session.agent_id)
        if isinstance(cmd, Login | Logout):
            raise DeskError(422, f"use /api/desk/{type(cmd).__name__.lower()} for {type(cmd).__name__.lower()}")
        if isinstance(cmd, Pause) and cmd.reason not in self._pause_codes:
            raise DeskError(422, f"pause reason {cmd.reason!r} is not one of {', '.join(sorted(self._pause_codes))}")
        # The daemon validates dispositions against its engine's renderer; only a desk with a renderer of
        # its own checks here too (validating twice would re-read already-normalised fields).
        own = isinstance(cmd, Disposition) and self.renderer is not self.daemon.engine.screenpop
        if own and isinstance(cmd, Disposition):
            # a late disposition against the codes of its call's campaign: the agent may be in another by now
            late = self.daemon.late_disposed(cmd)
            agent = self.agent(session.agent_id)
            campaign_id = late.campaign_id if late is not None else agent.campaign_id if agent is not None else ""
            cmd = self.renderer.validate_disposition(cmd, campaign_id or "", self.daemon.clock.now())
        applied = self.daemon.agent_command(cmd, command_id=command_id)
        if applied and own and isinstance(cmd, Disposition):
            self.renderer.note_disposition(cmd)
        return self.state_of(session.agent_id)

    def state_of(self, agent_id: str) -> dict[str, Any]:
        agent = self.agent(agent_id)
        if agent is None:
            return {"state": AgentState.LOGGED_OUT.value, "seq": self.daemon.feed.last_seq(agent_id)}
        return {"state": agent.state.value, "since": agent.since, "reason": agent.pause_reason,
                "pending_pause": agent.pending_pause, "pending_logout": agent.pending_logout,
                "seq": self.daemon.feed.last_seq(agent_id)}

    async def request_dnc(self, session: Session, call_id: str, notes: str) -> dict[str, Any]:
        """Apply the customer's do-not-call request at once (before the disposition, which the agent may
        never send): the daemon puts the person on the do-not-call lists every campaign's hopper checks
        before each dial, and journals it in `<prefix>:dnc_requests`."""
        self._seen(session.agent_id)
        call = self._own_call(session.agent_id, call_id)
        try:
            async with asyncio.timeout(5.0):
                await self.daemon.request_dnc(call.call_id, session.agent_id, notes)
        except (DialerError, RedisError, OSError, TimeoutError) as exc:  # the agent must know it failed
            log.error("DNC request not recorded", extra={"call_id": call_id, "error": repr(exc)})
            raise DeskError(503, "the do-not-call request could not be recorded; choose the 'dnc' disposition "
                                 "and tell your supervisor") from exc
        log.info("DNC requested", extra={"call_id": call_id, "agent_id": session.agent_id})
        return {"recorded": True, "call_id": call_id}

    def _own_call(self, agent_id: str, call_id: str) -> Call:
        call = self.daemon.engine.calls.get(call_id)
        agent = self.agent(agent_id)
        if call is None or agent is None or (call.agent_id != agent_id and agent.call_id != call_id):
            raise DeskError(404, f"call {call_id} is not yours")
        return call

    # ------------------------------------------------------------------ the daemon's missing hooks
    def transfer_targets(self, session: Session) -> dict[str, Any]:
        agent = self.agent(session.agent_id)
        campaign_id = agent.campaign_id if agent is not None else None
        others = [{"id": a.agent_id, "name": (acc.name if (acc := self.accounts.get(a.agent_id)) and acc.name
                                              else a.agent_id), "state": a.state.value}
                  for a in self.daemon.engine.roster.of_campaign(campaign_id or "")
                  if a.agent_id != session.agent_id and a.state is not AgentState.LOGGED_OUT]
        return {"agents": others, "supervisor": self.options.transfer_to_supervisor}

    def transfer(self, session: Session, call_id: str, target: str) -> dict[str, Any]:
        self._seen(session.agent_id)
        self._own_call(session.agent_id, call_id)
        valid = {a["id"] for a in self.transfer_targets(session)["agents"]}
        if self.options.transfer_to_supervisor:
            valid.add("supervisor")
        if target not in valid:
            raise DeskError(422, f"target {target!r} is not a logged-in agent of your campaign"
                                 f"{' or supervisor' if self.options.transfer_to_supervisor else ''}")
        if not isinstance(self.daemon, BlindTransfer):
            raise DeskError(501, "blind transfer needs the daemon hook "
                                 "blind_transfer(agent_id, call_id, target); see docs/AGENT_DESKTOP.md")
        self.daemon.blind_transfer(session.agent_id, call_id, target)
        return {"transferred": True, "target": target}

    async def preview_dial(self, session: Session, lead_id: str, number_index: int) -> dict[str, Any]:
        self._seen(session.agent_id)
        if not isinstance(self.daemon, PreviewDialing):
            raise DeskError(501, "preview dialing needs the daemon hooks preview_dial(agent_id, lead_id, "
                                 "number_index) and preview_skip(agent_id, lead_id, reason)")
        return {"call_id": await self.daemon.preview_dial(session.agent_id, lead_id, number_index)}

    async def preview_skip(self, session: Session, lead_id: str, reason: str) -> dict[str, Any]:
        self._seen(session.agent_id)
        if not isinstance(self.daemon, PreviewDialing):
            raise DeskError(501, "preview dialing needs the daemon hooks preview_dial(agent_id, lead_id, "
                                 "number_index) and preview_skip(agent_id, lead_id, reason)")
        await self.daemon.preview_skip(session.agent_id, lead_id, reason)
        return {"skipped": lead_id}

    async def callbacks(self, session: Session) -> dict[str, Any]:
        """The callbacks the agent kept for themselves in their campaign (the one logged in to, else their
        account's), earliest first."""
        agent_id = session.agent_id
        campaign_id = self._campaign_of(agent_id)
        if not isinstance(self.daemon, CallbackList):
            raise DeskError(501, "the callback list needs the daemon hook own_callbacks(agent_id, campaign_id)")
        if campaign_id is None or campaign_id not in self.daemon.engine.campaigns:
            return {"campaign_id": campaign_id, "callbacks": []}  # log in to a campaign to see its callbacks
        return {"campaign_id": campaign_id, "callbacks": await self.daemon.own_callbacks(agent_id, campaign_id)}

    async def move_callback(self, session: Session, lead_id: str, at: str | None, owner: str) -> dict[str, Any]:
        """Move one of the agent's own callbacks (in their campaign) to `at` (None: same time), kept for them
        (`owner` "mine") or handed to any agent ("anyone")."""
        self._seen(session.agent_id)
        agent_id = session.agent_id
        if not isinstance(self.daemon, CallbackMoves):
            raise DeskError(501, "changing a callback needs the daemon hook move_callback(campaign_id, lead_id, at, "
                                 "keep_for, agent_id=)")
        campaign_id = self._campaign_of(agent_id)
        if campaign_id is None or campaign_id not in self.daemon.engine.campaigns:
            raise DeskError(409, "log in to a campaign to change its callbacks")
        return await self.daemon.move_callback(campaign_id, lead_id, at, agent_id if owner == "mine" else None,
                                               agent_id=agent_id)

    async def manual_dial(self, session: Session, number: str) -> dict[str, Any]:
        self._seen(session.agent_id)
        try:
            parsed = phonenumbers.parse(number, None)
        except phonenumbers.NumberParseException:
            raise DeskError(422, f"{number!r} is not a phone number in international form (+ and digits)") from None
        if not phonenumbers.is_valid_number(parsed):
            raise DeskError(422, f"{number!r} is not a valid phone number")
        e164 = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
        if not isinstance(self.daemon, ManualDialing):
            raise DeskError(501, "manual dialing needs the daemon hook manual_dial(agent_id, number)")
        return {"call_id": await self.daemon.manual_dial(session.agent_id, e164), "number": e164}

    # ------------------------------------------------------------------ presence
    def _seen(self, agent_id: str) -> None:
        if self.presence.seen(agent_id):
            self.daemon.store.set_agent(agent_id, {"presence": "online"})

    def stream_opened(self, agent_id: str) -> None:
        if self.presence.stream_opened(agent_id):
            self.daemon.store.set_agent(agent_id, {"presence": "online"})

    async def restored(self) -> None:
        """Return once the daemon has logged back in the agents it had before a restart (at most
        `restore_wait_s`: a slow Redis then shows the state as it is, and the stream corrects it)."""
        done = self.daemon.agents_restored
        if not done.is_set():
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.options.restore_wait_s):
                    await done.wait()

    def heartbeat(self, session: Session) -> None:
        self._seen(session.agent_id)

    def maybe_sweep(self) -> None:
        """Sweep when `sweep_every_s` has passed. The event streams call this on every wake-up, so
        presence stays current even where the lifespan task does not run (a server with lifespan off)."""
        if self.presence.now() - self._last_sweep >= self.options.sweep_every_s:
            self.sweep_presence()

    def sweep_presence(self) -> list[str]:
        """Agents whose page stopped answering go offline; a ready one is paused (after the current call
        when busy), so the dialer stops sending calls to an empty chair. Ends the sessions whose logout
        waited for a wrap-up that is over first (`settle_logouts`)."""
        self._last_sweep = self.presence.now()
        self.settle_logouts()
        gone = self.presence.sweep()
        for agent_id in gone:
            self.daemon.store.set_agent(agent_id, {"presence": "offline"})
            agent = self.agent(agent_id)
            paused = False
            if agent is not None and (agent.state in _IDLE or
                                      (agent.state in _BUSY and agent.pending_pause is None)):
                try:
                    self.daemon.agent_command(Pause(agent_id, OFFLINE_REASON, after_call=agent.state in _BUSY))
                    paused = True
                except IllegalTransition:
                    pass
            self.daemon.feed.publish(agent_id, "presence", {"online": False, "paused": paused})
            log.warning("agent desk went offline", extra={"agent_id": agent_id})
        return gone
