"""The agent lifecycle as a transition table.

    LOGGED_OUT --login--> PAUSED --ready--> READY --reserve--> RESERVED --connect--> TALKING
    TALKING --hangup--> WRAPUP --dispose / wrapup_timeout--> READY (or PAUSED when a pause is pending)
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

Like h11's `_state.py`, transitions are data; an illegal one raises `IllegalTransition` and changes
nothing. A pause asked for while TALKING or WRAPUP ("pause after this call") is kept as pending and
applied when wrap-up ends; a logout likewise.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from dialer.errors import IllegalTransition

__all__ = ["TRANSITIONS", "Agent", "AgentEvent", "AgentState"]


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


@dataclass(slots=True)
class Agent:
    """One agent's live state. Mutated only through `apply`."""

    agent_id: str
    extension: str
    campaign_id: str | None = None
    state: AgentState = AgentState.LOGGED_OUT
    since: float = 0.0
    pause_reason: str | None = None
    call_id: str | None = None
    pending_pause: str | None = None
    pending_logout: bool = False
    calls_taken: int = 0

    def can(self, event: AgentEvent) -> bool:
        return (self.state, event) in TRANSITIONS

    def apply(self, event: AgentEvent, now: float) -> AgentState:
        """Move along the table; return the new state. Raises `IllegalTransition` and changes nothing."""
        nxt = TRANSITIONS.get((self.state, event))
        if nxt is None:
            raise IllegalTransition("agent", self.agent_id, self.state.value, event.value)
        # a release ends the call for the agent too: their dial failed, or the person they were reserved
        # for left before the bridge; a pause or logout they asked for "after this call" applies now
        ends_call = event in (E.DISPOSE, E.WRAPUP_TIMEOUT) or (event is E.RELEASE and self.state in (S.DIALING,
                                                                                                       S.RESERVED))
        if ends_call and (self.pending_pause or self.pending_logout):
            nxt = S.PAUSED
            self.pause_reason = self.pending_pause or "logout pending"
            self.pending_pause = None
        if nxt is not self.state or event is E.PAUSE:
            self.since = now
        self.state = nxt
        if nxt in (S.READY, S.LOGGED_OUT):
            self.pause_reason = None
        if nxt in (S.READY, S.PAUSED, S.LOGGED_OUT):
            self.call_id = None
        return nxt
