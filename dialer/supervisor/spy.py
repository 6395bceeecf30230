"""Listen, whisper, barge: ring the supervisor's phone and run Asterisk's ChanSpy on the agent's leg.

One AMI `Originate` (Async, as every Originate) whose `Channel` is the supervisor's own PJSIP endpoint
and whose `Application` is `ChanSpy` with the agent's channel prefix. Agents' legs are
`PJSIP/<extension>-<id>` (the `dialer-agent` context dials `PJSIP/<ext>`), so the prefix ends with
'-': `PJSIP/10` must not also spy on `PJSIP/101-...`. Options: `q` no beep, `b` only bridged channels,
`E` leave when the spied call ends, then `w` whisper (only the agent hears the supervisor) or `B` barge
(both hear). The AMI user needs only the `originate` write class it already has; ChanSpy is not one of
the applications that Asterisk reserves for the `system` class.

The audit entry is written before the Originate: no audit, no listening. The outcome is audited after
it, and it is the OriginateResponse that tells it, not the first answer: an Async Originate is answered
"Originate successfully queued" at once, and `Response: Failure` only once the supervisor's phone did not
answer (Reason 3), was busy (5) or could not be reached (0).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from agents.state import AgentState
from dialer.ami import events as ev
from dialer.ami.actions import AmiAction
from dialer.ami.client import AmiResponse
from dialer.ami.parse import parse_event
from dialer.errors import AmiError
from dialer.supervisor.audit import AuditLog
from dialer.supervisor.auth import Principal
from dialer.supervisor.errors import Conflict, Invalid, NotFound

if TYPE_CHECKING:
    from dialer.daemon import Daemon

__all__ = ["SPY_OPTIONS", "SpyMode", "spy_action", "spy_outcome", "start_spy"]

SpyMode = Literal["listen", "whisper", "barge"]
SPY_OPTIONS: dict[str, str] = {"listen": "qbE", "whisper": "qbEw", "barge": "qbEB"}
_SAFE = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-")


@dataclass(frozen=True, slots=True)
class SpyPlan:
    action: AmiAction
    action_id: str
    agent_id: str
    call_id: str
    campaign_id: str


def _check(what: str, value: str) -> str:
    if not value or not _SAFE.issuperset(value) or len(value) > 32:
        raise Invalid(f"{what} {value!r} must be 1-32 letters, digits, '_' or '-'")
    return value


def spy_action(
    *, supervisor_ext: str, agent_ext: str, mode: SpyMode, action_id: str, ring_timeout_s: float = 30.0,
    call_id: str = "", agent_id: str = "",
) -> AmiAction:
    """The Originate that rings `supervisor_ext` and spies on `agent_ext`'s live leg."""
    _check("supervisor extension", supervisor_ext)
    _check("agent extension", agent_ext)
    if mode not in SPY_OPTIONS:
        raise Invalid(f"spy mode {mode!r} must be listen, whisper or barge")
    variables = f"DIALER_SPY_MODE={mode},DIALER_SPY_AGENT={agent_id or agent_ext},DIALER_SPY_CALL={call_id or '-'}"
    return AmiAction(
        "Originate",
        (
            ("ActionID", action_id),
            ("Channel", f"PJSIP/{supervisor_ext}"),
            ("Application", "ChanSpy"),
            ("Data", f"PJSIP/{agent_ext}-,{SPY_OPTIONS[mode]}"),
            ("CallerID", f'"{mode} {agent_ext}" <{agent_ext}>'),
            ("Timeout", str(int(ring_timeout_s * 1000))),
            ("Async", "true"),
            ("Variable", variables),
        ),
    )


def spy_outcome(reply: object) -> tuple[bool, str]:
    """Whether the supervisor's phone was rung into the call, and why not.

    `reply` is what the AMI port answered (an `AmiResponse`): the first message (`ok`, `message`) and the ones
    that followed it (`events`: for an Async Originate, the OriginateResponse last). A reply with no follow-up
    (an immediate Error, or a port that resolves on the first answer) is judged by its first message. Anything
    else (None, a port that answered nothing readable) is a failure: a listen-in is never assumed.
    """
    if not isinstance(reply, AmiResponse):
        return False, f"no answer to read from Asterisk (got {type(reply).__name__})"
    ok = reply.ok
    message = reply.message
    events = reply.events
    if not ok or not events:
        return ok, message
    final = parse_event(dict(events[-1]))
    if not isinstance(final, ev.OriginateResponse):
        problem = final.problem if isinstance(final, ev.MalformedEvent) else type(final).__name__
        return False, f"no readable OriginateResponse after {message!r} ({problem})"
    if final.success:
        return True, message
    reason = final.reason_enum
    why = reason.name.lower().replace("_", " ") if reason is not None else "unknown reason"
    return False, f"the phone did not take the call (OriginateResponse Failure, Reason {final.reason}: {why})"


async def start_spy(
    daemon: Daemon, audit: AuditLog, who: Principal, agent_id: str, mode: SpyMode, supervisor_ext: str,
    *, ring_timeout_s: float = 30.0,
) -> dict[str, Any]:
    """Audit, then ring the supervisor into the agent's call. Raises NotFound/Conflict/Invalid before
    anything is sent; Unavailable (via StateStoreError) when the audit entry cannot be written."""
    agent = daemon.engine.roster.get(agent_id)
    if agent is None:
        raise NotFound(f"no agent {agent_id!r} has logged in since the daemon started")
    if agent.state not in (AgentState.TALKING, AgentState.RESERVED) or agent.call_id is None:
        raise Conflict(f"agent {agent_id} is not on a call (state {agent.state.value}); try again when talking")
    call = daemon.engine.calls.get(agent.call_id)
    campaign = call.campaign_id if call is not None else (agent.campaign_id or "")
    action_id = f"spy-{secrets.token_hex(6)}"
    action = spy_action(supervisor_ext=supervisor_ext, agent_ext=agent.extension, mode=mode, action_id=action_id,
                        ring_timeout_s=ring_timeout_s, call_id=agent.call_id, agent_id=agent_id)
    details = {"mode": mode, "supervisor_extension": supervisor_ext, "call_id": agent.call_id,
               "campaign": campaign, "action_id": action_id}
    await audit.write(who, f"spy.{mode}", agent_id, **details)
    try:
        reply = await daemon.ami.send(action, timeout=ring_timeout_s + 5.0)
    except AmiError as exc:
        await audit.record(who, f"spy.{mode}.failed", agent_id, error=str(exc), **details)
        raise
    queued = isinstance(reply, AmiResponse) and reply.ok
    ok, message = spy_outcome(reply)
    outcome = "started" if ok else "failed" if queued else "refused"
    await audit.record(who, f"spy.{mode}.{outcome}", agent_id, message=message, **details)
    if not queued:
        raise Conflict(f"Asterisk refused to ring {supervisor_ext} into agent {agent_id}'s call: {message}")
    if not ok:
        raise Conflict(f"{supervisor_ext} was not connected to agent {agent_id}'s call: {message}")
    daemon.metrics.spy_sessions.labels(campaign).inc()
    return {"ok": True, "mode": mode, "agent": agent_id, "call_id": agent.call_id, "action_id": action_id,
            "detail": f"ringing {supervisor_ext}: {mode} on agent {agent_id}'s call"}
