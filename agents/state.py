"""The agent lifecycle as a state machine: a transition table, and `Agent`, changed only through it.

    LOGGED_OUT --login--> PAUSED --ready--> READY --reserve--> RESERVED --connect--> TALKING
    TALKING --hangup--> WRAPUP --dispose / wrapup_timeout--> READY (or PAUSED, LOGGED_OUT: see below)
    READY --pause--> PAUSED;  RESERVED --release--> READY;  READY|PAUSED --logout--> LOGGED_OUT

Agent-started calls (preview and manual dialing) and blind transfers:

    READY --preview--> PREVIEWING (a lead is reserved for this agent) --skip--> READY
    PREVIEWING|READY|PAUSED --dial--> DIALING (the agent's phone rings, then the customer's)
    DIALING --connect--> TALKING;  DIALING --release--> READY (the customer did not answer)
    TALKING --transfer--> WRAPUP (blind transfer: the customer went to someone else)
    WRAPUP --take_back--> RESERVED (the transfer failed: the customer is redirected back to this agent)
    RESERVED --take_back_failed--> WRAPUP (this agent's phone did not take it back either)

RESERVED exists because connecting a call takes a round trip to Asterisk: from the moment the dialer
picks an agent until the bridge is up, nobody else may pick that agent, yet the agent is not talking.
An agent in WRAPUP is not free: pacing counts it busy and forecasts when wrap-up ends.

Like h11's `_state.py`, transitions are data. Every change to an `Agent`'s lifecycle fields goes through
one of its operations, which check the move and raise `IllegalTransition`, changing nothing, when it is
not allowed; its fields are read-only. The operations:

- `apply(event, now, *, call_id=, reason=)`: a move along the table. The event carries its data:
  `reserve` and `dial` the call's id; `pause` its reason; `dial` the pause to go back to after the call
  (an agent who dials while paused is paused again when the call is over); `wrapup_timeout` the pause
  the wrap-up ends in (None: READY). Any other data is refused.
- `pause_after_call(reason)`, `logout_after_call()`: asked for during a call ("pause after this call"),
  kept as pending and carried out when the call ends (dispose, wrap-up timeout, or a release of a
  RESERVED or DIALING agent): a logout wins (LOGGED_OUT), else the pause (PAUSED). Only legal during a
  call: an agent not on one pauses or logs out at once with `apply`.

What the operations keep true, after every accepted one (`Agent.invariant_errors` lists any breach):

- `call_id` is set exactly in the states with a call: RESERVED, DIALING, TALKING, WRAPUP (`CALL_STATES`);
  it stays the same through them (a take-back and its failure included) and is cleared when the call ends;
- `pending_pause` and `pending_logout` are only set during a call;
- `pause_reason` is only set while PAUSED (a login pauses without a reason).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from dialer.errors import IllegalTransition

__all__ = ["CALL_STATES", "TRANSITIONS", "Agent", "AgentEvent", "AgentState"]


class AgentState(StrEnum):
    LOGGED_OUT = "logged_out"
    PAUSED = "paused"
    READY = "ready"
    RESERVED = "reserved"
    PREVIEWING = "previewing"
    DIALING = "dialing"
    TALKING = "talking"
    WRAPUP = "wrapup"


class AgentEvent(StrEnum):
    LOGIN = "login"
    READY = "ready"
    PAUSE = "pause"
    RESERVE = "reserve"
    RELEASE = "release"
    CONNECT = "connect"
    HANGUP = "hangup"
    DISPOSE = "dispose"
    WRAPUP_TIMEOUT = "wrapup_timeout"
    LOGOUT = "logout"
    PREVIEW = "preview"
    SKIP = "skip"
    DIAL = "dial"
    TRANSFER = "transfer"
    TAKE_BACK = "take_back"
    TAKE_BACK_FAILED = "take_back_failed"


S, E = AgentState, AgentEvent
TRANSITIONS: dict[tuple[AgentState, AgentEvent], AgentState] = {
    (S.LOGGED_OUT, E.LOGIN): S.PAUSED,
    (S.PAUSED, E.READY): S.READY,
    (S.PAUSED, E.PAUSE): S.PAUSED,
    (S.READY, E.PAUSE): S.PAUSED,
    (S.READY, E.RESERVE): S.RESERVED,
    (S.RESERVED, E.RELEASE): S.READY,
    (S.RESERVED, E.CONNECT): S.TALKING,
    (S.TALKING, E.HANGUP): S.WRAPUP,
    (S.WRAPUP, E.DISPOSE): S.READY,
    (S.WRAPUP, E.WRAPUP_TIMEOUT): S.READY,
    (S.READY, E.LOGOUT): S.LOGGED_OUT,
    (S.PAUSED, E.LOGOUT): S.LOGGED_OUT,
    (S.READY, E.PREVIEW): S.PREVIEWING,
    (S.PREVIEWING, E.SKIP): S.READY,
    (S.PREVIEWING, E.DIAL): S.DIALING,
    (S.READY, E.DIAL): S.DIALING,
    (S.PAUSED, E.DIAL): S.DIALING,
    (S.DIALING, E.CONNECT): S.TALKING,
    (S.DIALING, E.RELEASE): S.READY,
    (S.TALKING, E.TRANSFER): S.WRAPUP,
    (S.WRAPUP, E.TAKE_BACK): S.RESERVED,
    (S.RESERVED, E.TAKE_BACK_FAILED): S.WRAPUP,
}


CALL_STATES = frozenset({S.RESERVED, S.DIALING, S.TALKING, S.WRAPUP})  # the states in which the agent has a call
_STARTS_CALL = frozenset({E.RESERVE, E.DIAL})  # the events that carry a call's id
_TAKES_REASON = frozenset({E.PAUSE, E.DIAL, E.WRAPUP_TIMEOUT})  # the events that carry a pause reason
_ENDS_CALL = frozenset({E.DISPOSE, E.WRAPUP_TIMEOUT, E.RELEASE})  # out of CALL_STATES: what was pending applies


@dataclass(slots=True)
class Agent:
    """One agent's live state. Its lifecycle fields are read-only: they change only through `apply`,
    `pause_after_call` and `logout_after_call` (see the module docstring)."""

    agent_id: str
    extension: str
    campaign_id: str | None = None
    calls_taken: int = 0
    _state: AgentState = field(default=AgentState.LOGGED_OUT, init=False)
    _since: float = field(default=0.0, init=False)
    _pause_reason: str | None = field(default=None, init=False)
    _call_id: str | None = field(default=None, init=False)
    _pending_pause: str | None = field(default=None, init=False)
    _pending_logout: bool = field(default=False, init=False)

    @property
    def state(self) -> AgentState:
        return self._state

    @property
    def since(self) -> float:
        """When the state last changed (or the pause was renewed)."""
        return self._since

    @property
    def pause_reason(self) -> str | None:
        """Why the agent is PAUSED (None: paused by the login, or not paused)."""
        return self._pause_reason

    @property
    def call_id(self) -> str | None:
        """The call the agent is on; set exactly in `CALL_STATES`."""
        return self._call_id

    @property
    def pending_pause(self) -> str | None:
        """The reason of a pause asked for during the current call, applied when it ends."""
        return self._pending_pause

    @property
    def pending_logout(self) -> bool:
        """A logout was asked for during the current call; applied when it ends."""
        return self._pending_logout

    def can(self, event: AgentEvent) -> bool:
        return (self._state, event) in TRANSITIONS

    def check(self, event: AgentEvent) -> None:
        """Raise `IllegalTransition` unless the table allows `event` now (before anything is spent on it)."""
        if not self.can(event):
            raise self._refused(event.value)

    def apply(self, event: AgentEvent, now: float, *, call_id: str | None = None,
              reason: str | None = None) -> AgentState:
        """Move along the table; return the new state. Raises `IllegalTransition` and changes nothing.

        `call_id`: the call a `reserve` or `dial` starts (required for them, refused for the others).
        `reason`: a `pause`'s reason; for `dial`, the pause to go back to after the call; for
        `wrapup_timeout`, the pause the wrap-up ends in unless one was pending (refused for the others)."""
        nxt = TRANSITIONS.get((self._state, event))
        if nxt is None:
            raise self._refused(event.value)
        if (call_id is not None) != (event in _STARTS_CALL):
            raise self._refused(f"{event.value} with call {call_id}" if call_id is not None
                                else f"{event.value} without a call id")
        if reason is not None and event not in _TAKES_REASON:
            raise self._refused(f"{event.value} with reason {reason}")
        pause_reason = reason if event is E.PAUSE else None
        if event in _ENDS_CALL and self._state in CALL_STATES:
            # the call is over for the agent (disposed, wrap-up timed out, their dial failed, or the person
            # they were reserved for left before the bridge): what they asked for "after this call" applies
            pause = self._pending_pause or (reason if event is E.WRAPUP_TIMEOUT else None)
            if self._pending_logout:
                nxt = S.LOGGED_OUT
            elif pause is not None:
                nxt, pause_reason = S.PAUSED, pause
        if nxt is not self._state or event is E.PAUSE:
            self._since = now
        self._state = nxt
        self._pause_reason = pause_reason if nxt is S.PAUSED else None
        if nxt not in CALL_STATES:
            self._call_id = None
            self._pending_pause, self._pending_logout = None, False
        elif call_id is not None:
            self._call_id = call_id
            self._pending_pause = reason  # dial: the pause to go back to; a new call has nothing else pending
            self._pending_logout = False
        return nxt

    def pause_after_call(self, reason: str) -> None:
        """Pause when the current call ends (replacing a pause asked for before). Only during a call."""
        if self._state not in CALL_STATES:
            raise self._refused(f"pause after the call ({reason})")
        self._pending_pause = reason

    def logout_after_call(self) -> None:
        """Log out when the current call ends. Only during a call."""
        if self._state not in CALL_STATES:
            raise self._refused("log out after the call")
        self._pending_logout = True

    def invariant_errors(self) -> list[str]:
        """What is wrong with the lifecycle fields (nothing, unless they were changed behind the operations)."""
        errors: list[str] = []
        in_call = self._state in CALL_STATES
        if (self._call_id is not None) != in_call:
            errors.append(f"call_id {self._call_id!r} while {self._state.value}")
        if not in_call and (self._pending_pause is not None or self._pending_logout):
            errors.append(f"pending pause {self._pending_pause!r} / logout {self._pending_logout} while "
                          f"{self._state.value}")
        if self._pause_reason is not None and self._state is not S.PAUSED:
            errors.append(f"pause_reason {self._pause_reason!r} while {self._state.value}")
        return errors

    def _refused(self, what: str) -> IllegalTransition:
        return IllegalTransition("agent", self.agent_id, self._state.value, what)
