"""Agents' commands, for the engine: log in, ready, pause, log out, dispose; what a freed agent takes.

Pure functions over the `Engine`'s state, like `audits`, `agentcalls` and `transfers`; the engine's
`on_agent`, `after_wrapup` and `state_notice` call them. A pause or a logout asked for while the agent
is on a call waits for it to end (`Agent.pause_after_call`, `Agent.logout_after_call`); an agent who is the target of
a blind transfer in progress leaves it first, and the transfer falls back (`transfers.target_leaves`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from agents import commands as ac
from agents.state import CALL_STATES, Agent, AgentEvent, AgentState
from dialer.amd_audit import is_person
from dialer.engine import transfers
from dialer.engine.commands import AgentNotice, Command, DispositionMade, ForgetUndisposed, KeepUndisposed
from dialer.engine.records import Undisposed
from dialer.errors import IllegalTransition
from pacing import ContactClassified, WrapupObserved

if TYPE_CHECKING:
    from dialer.engine.calls import Call
    from dialer.engine.core import CampaignRuntime, Engine

__all__ = ["NO_DISPOSITION", "WRAPUP_TIMEOUT", "after_wrapup", "command", "dispose",
           "end_wrapup_undisposed", "freed", "state_notice"]

NO_DISPOSITION = "no_disposition"  # the code of a call whose wrap-up ended without the agent's disposition
WRAPUP_TIMEOUT = "wrapup_timeout"  # why such a wrap-up ended (or "shutdown"), and the pause reason it leaves


def command(engine: Engine, cmd: ac.AgentCommand, now: float) -> list[Command]:
    """Apply an agent's command. Raises IllegalTransition for a move the agent cannot make now."""
    if isinstance(cmd, ac.Login):
        if cmd.campaign_id not in engine.campaigns:
            raise IllegalTransition("agent", cmd.agent_id, "login", f"join unknown campaign {cmd.campaign_id}")
        known = engine.roster.get(cmd.agent_id)
        if known is not None and known.state is not AgentState.LOGGED_OUT and known.campaign_id == cmd.campaign_id:
            # already logged in there: a desktop reloaded, a command delivered twice, an agent a restarted
            # daemon logged back in (paused) logging in again; nothing changes
            return [engine.state_notice(known)]
        if known is not None and not known.can(AgentEvent.LOGIN):  # refused before anything moves
            raise IllegalTransition("agent", cmd.agent_id, known.state.value,
                                    f"login to {cmd.campaign_id} (log out of {known.campaign_id} first)")
        joined = known if known is not None else engine.roster.add(Agent(cmd.agent_id, cmd.extension))
        joined.extension = cmd.extension
        engine.roster.set_campaign(joined.agent_id, cmd.campaign_id)
        engine.roster.apply(joined.agent_id, AgentEvent.LOGIN, now)
        return [engine.state_notice(joined)]
    found = engine.roster.get(cmd.agent_id)
    if found is None:
        raise IllegalTransition("agent", cmd.agent_id, "unknown", "act before login")
    agent = found
    if isinstance(cmd, ac.Ready):
        if agent.state is AgentState.READY:
            return []
        engine.roster.apply(agent.agent_id, AgentEvent.READY, now)
        return [engine.state_notice(agent), *freed(engine, agent, now)]
    if isinstance(cmd, ac.Pause):
        left = transfers.target_leaves(engine, agent.agent_id, f"paused ({cmd.reason})", now)
        if left:
            return left + command(engine, cmd, now)
        if agent.state in CALL_STATES:
            agent.pause_after_call(cmd.reason)
            return [AgentNotice(agent.agent_id, "pause_pending", {"reason": cmd.reason})]
        engine.roster.apply(agent.agent_id, AgentEvent.PAUSE, now, reason=cmd.reason)
        return [engine.state_notice(agent)]
    if isinstance(cmd, ac.Logout):
        left = transfers.target_leaves(engine, agent.agent_id, "logged out", now)
        if left:
            return left + command(engine, cmd, now)
        if agent.state in CALL_STATES:
            agent.logout_after_call()
            return [AgentNotice(agent.agent_id, "logout_pending")]
        engine.roster.apply(agent.agent_id, AgentEvent.LOGOUT, now)
        return [engine.state_notice(agent)]
    return dispose(engine, agent, cmd, now)


def dispose(engine: Engine, agent: Agent, cmd: ac.Disposition, now: float) -> list[Command]:
    if agent.state is not AgentState.WRAPUP or agent.call_id != cmd.call_id:
        late = engine.undisposed.get(agent.agent_id)
        if late is not None and late.call_id == cmd.call_id:
            return _dispose_late(engine, agent, late, cmd, now)
        raise IllegalTransition("agent", agent.agent_id, agent.state.value, f"dispose call {cmd.call_id}")
    call = engine.calls.get(cmd.call_id)
    wrap = now - agent.since
    engine.wrapup_deadlines.pop(agent.agent_id, None)
    camp = engine.campaigns.get(agent.campaign_id or "")
    audited = call is not None and call.amd_audit
    final = transfers.is_final_disposition(call, agent.agent_id)
    out: list[Command] = []
    if camp is not None and not audited:
        camp.pacer.observe(WrapupObserved(at=now, wrap_s=wrap))
        if final and call is not None and call.live_counted_at is not None:
            out += _strict_count(engine, camp, cmd.code, call.live_counted_at, now)
    engine.roster.apply(agent.agent_id, AgentEvent.DISPOSE, now)
    out.append(_made(agent, cmd.call_id, call, cmd.code, dict(cmd.fields), cmd.script_path, now,
                     audited=audited, final=final))
    return out + after_wrapup(engine, agent, now)


def _dispose_late(engine: Engine, agent: Agent, late: Undisposed, cmd: ac.Disposition, now: float) -> list[Command]:
    """The agent's disposition of a call whose wrap-up ended without one (timeout or shutdown): it
    replaces `no_disposition` (the lead's result is corrected, a sale or a callback is not lost). Once
    per call, within the campaign's `late_disposition_s`. The agent's state does not change; the
    wrap-up's time is not observed (it ran out). A person it names joins the ledger's strict count, as
    at any disposition."""
    del engine.undisposed[agent.agent_id]
    if now > late.until:
        raise IllegalTransition("agent", agent.agent_id, agent.state.value,
                                f"dispose call {cmd.call_id}: its wrap-up ended without a disposition and the "
                                f"time to dispose it late ended {now - late.until:.0f} s ago (the call stays "
                                f"{NO_DISPOSITION})")
    camp = engine.campaigns.get(late.campaign_id)
    out: list[Command] = [ForgetUndisposed(agent.agent_id, late.call_id)]
    if camp is not None and late.live_counted_at is not None and not late.amd_audit:
        out += _strict_count(engine, camp, cmd.code, late.live_counted_at, now)
    out.append(_made(agent, cmd.call_id, late, cmd.code, dict(cmd.fields), cmd.script_path, now,
                     audited=False, final=True, amends=NO_DISPOSITION, late=late))
    out.append(AgentNotice(agent.agent_id, "late_disposition", {"call_id": cmd.call_id, "code": cmd.code}))
    return out


def _strict_count(engine: Engine, camp: CampaignRuntime, code: str, connected_at: float,
                  now: float) -> list[Command]:
    """The ledger's strict count of a connected call: a person, or a machine that AMD let through (or AMD
    was off), as the disposition says."""
    person = is_person(code, engine.dispositions_for(camp.campaign_id))
    return engine.observe(camp, ContactClassified(at=now, connected_at=connected_at, person=person))


def _made(agent: Agent, call_id: str, of: Call | Undisposed | None, code: str, fields: dict[str, str],
          script_path: tuple[str, ...], now: float, *, audited: bool, final: bool,
          amends: str | None = None, late: Undisposed | None = None) -> DispositionMade:
    """The call's disposition, for the daemon (stored, handed to the lead source, counted in audits);
    `of` is the call, or what a late disposition keeps of it (`late`, carried for a `dnc` code)."""
    return DispositionMade(
        call_id=call_id,
        agent_id=agent.agent_id,
        code=code,
        fields=fields,
        script_path=script_path,
        at=now,
        target=of.target if of is not None else None,
        campaign_id=of.campaign_id if of is not None else (agent.campaign_id or ""),
        amd_audit=audited,
        final=final,
        amends=amends,
        late=late,
        subscriber_id=of.subscriber_id if isinstance(of, Undisposed) else
        of.fields.get("subscriber_id", "") if of is not None else "",
    )


def end_wrapup_undisposed(engine: Engine, agent: Agent, why: str, now: float) -> list[Command]:
    """The agent's wrap-up ends without a disposition: its time ran out (`why` WRAPUP_TIMEOUT), or the
    daemon is stopping ("shutdown").

    A person talked to the agent, so the call still gets a disposition, `no_disposition` (fields
    `auto`: why), and its lead a result: a contact whose result is unknown (the contact policy's
    `other`). Without it the lead would stay in flight until the hopper recovered it as a lost attempt
    and dialed the person again, contact caps and the base-contact rule uncounted. An AMD audit call
    disposed so says nothing about AMD, and is not counted as an audit.

    After a timeout the agent is paused (reason WRAPUP_TIMEOUT) unless the campaign's
    `after_wrapup_timeout` is "ready": an agent who let the time run out is away from the desk or still
    busy with the last customer, and a call sent now would meet an empty chair. Either way the agent may
    still dispose the call for the campaign's `late_disposition_s` (`_dispose_late`); `KeepUndisposed`
    asks the daemon to keep that chance in Redis, so that it outlives the restart a shutdown leads to."""
    call_id = agent.call_id
    call = engine.calls.get(call_id) if call_id is not None else None
    engine.wrapup_deadlines.pop(agent.agent_id, None)
    camp = engine.campaigns.get(agent.campaign_id or "")
    final = transfers.is_final_disposition(call, agent.agent_id)
    notice: dict[str, object] = {"call_id": call_id or "", "why": why}
    paused = camp is not None and camp.after_wrapup_timeout == "pause"
    out: list[Command] = []
    if camp is not None and call_id is not None and final and camp.late_disposition_s > 0:
        late = Undisposed.of(call_id, call, camp.campaign_id, now + camp.late_disposition_s)
        engine.undisposed[agent.agent_id] = late
        notice["late_until"] = late.until
        out.append(KeepUndisposed(agent.agent_id, late))
    # paused (unless the agent asked for a pause or a logout after the call: that applies instead)
    engine.roster.apply(agent.agent_id, AgentEvent.WRAPUP_TIMEOUT, now,
                        reason=WRAPUP_TIMEOUT if why == WRAPUP_TIMEOUT and paused else None)
    out.append(AgentNotice(agent.agent_id, "wrapup_timeout", notice))
    if call_id is not None:
        out.append(_made(agent, call_id, call, NO_DISPOSITION, {"auto": why}, (), now, audited=False, final=final))
    return out + after_wrapup(engine, agent, now)


def after_wrapup(engine: Engine, agent: Agent, now: float) -> list[Command]:
    """The agent's call is over (paused or logged out if they asked to be after it): a READY one takes the
    oldest person waiting."""
    out: list[Command] = [engine.state_notice(agent)]
    if agent.state is AgentState.READY:
        out += freed(engine, agent, now)
    return out


def freed(engine: Engine, agent: Agent, now: float) -> list[Command]:
    """A ready agent takes the oldest call still waiting in its campaign, if any."""
    camp = engine.campaigns.get(agent.campaign_id or "")
    if camp is None:
        return []
    c = engine.oldest_waiting(camp)
    if c is None:
        return []
    camp.waiting.popleft()
    return engine.assign(c, agent, now)


def state_notice(agent: Agent, wrapup_deadline: float | None = None) -> AgentNotice:
    """The agent's `state` message; in the wrap-up it carries `wrapup_deadline`, when the engine ends it (the
    engine's `wrapup_deadlines`, through `Engine.state_notice`): the desk counts down to that, not to the
    campaign's `wrapup_timeout_s` as the page last read it, which a supervisor may have changed since."""
    payload: dict[str, object] = {"state": agent.state.value, "since": agent.since, "reason": agent.pause_reason}
    if agent.state is AgentState.WRAPUP and wrapup_deadline is not None:
        payload["wrapup_deadline"] = wrapup_deadline
    return AgentNotice(agent.agent_id, "state", payload)
