"""Redirects and Hangups whose answer never came, for the engine: Asterisk may have carried them out.

Pure functions over the `Engine`'s state, like `link` and `transfers`. The daemon tells the engine how an
action it asked for failed (`Engine.on_action_failed`), as one of two values:

- `Refused`: Asterisk answered `Response: Error`, with its message. Nothing moved, and the engine acts at
  once: the agent released and the person offered again, the next transfer fallback, the information
  message instead of the agentless one, a leg hung up (docs/ARCHITECTURE.md, "The path of one call").
- `Unanswered`: no answer came. The AMI connection was lost with the action in flight (or before it was
  written), or Asterisk took longer than the daemon waits (the client's `AmiConnectionError`). A Redirect
  written just before the connection dropped may well have been carried out: the customer may already be in
  the agent's bridge, or hearing a message. Acting as on a refusal would Redirect the same channel again
  (pulling the customer out of the agent's bridge), play the abandon message to a connected call, and count
  an abandon that did not happen. So the call is left as it is, nothing is sent for it (a ringing
  transfer's time-out waits too), and where its customer leg is decides:

    its events           BridgeEnter (connected, as usual), DialerConnectAgent, DialerAbandonPlayed (it was
                         carried out); the leg's Hangup ends the call as usual
    CoreShowChannels     the resync after the reconnect (`link.resync`), or, while the link is up, a look the
                         engine asks for (`CheckChannels`, answered through `Engine.verify`): at once, then
                         every `RECHECK_S` while something is still unsure and the link up

What the customer leg's row says, by the Redirect's purpose (the leg was parked in `dialer-connect`
when it was sent, but for a transfer, which moves it out of an agent's bridge):

    agent, agentless     still parked in `dialer-connect`: not carried out; the call goes on as after a
                         refusal (an agent for the person, else held, else the abandon message: the 2-second
                         rule as always; the information message for an agentless person)
    agent                in a bridge: connected; the bridge's time is unknown, so the legal wait runs to
                         the look (the safe side: late, it counts abandoned). Anywhere else (`dialer-to-agent`
                         ringing the agent, the dialplan's own move on to the message): carried out, and the
                         call's events go on
    abandon              not in `dialer-abandon`: sent again (the person must hear the message; the abandon
                         was counted with the first); there: nothing to do
    transfer             at `dialer-transfer,<the extension rung>`: carried out (in a bridge: the phone took
                         it); elsewhere: the next fallback, as after a refusal
    hangup               the channel still listed: hung up again; not listed: done
    any Redirect         the customer leg not listed: gone; the call ends as the resync ends such calls

Only rows asked for once the failure was reported settle it (`Unsure.since`): the action had been written
by then, if ever, and Asterisk answers one connection's actions in order, so the rows show its effect.
Rows that are bare Uniqueids (`Engine.resync` accepts them) say nothing about where a leg is: such a call
stays unsure until a look at the rows.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from dialer.ami import events as ev
from dialer.engine import agentless, link, transfers
from dialer.engine.calls import TRANSFER_STATES, Call, CallState
from dialer.engine.commands import ABANDON_CONTEXT, CheckChannels, Command, HangupChannel, Redirect

if TYPE_CHECKING:
    from dialer.engine.core import Engine

__all__ = ["RECHECK_S", "ActionFailure", "Refused", "Unanswered", "Unsure", "UnsureActions", "due",
           "on_event", "pending", "settle", "unanswered"]

RECHECK_S = 5.0  # seconds between looks at the channels while an action's outcome is unknown and the link up

# A Hangup, Redirect or Bridge racing the far end's own hang-up: Hangup answers "No such channel",
# Redirect "Channel does not exist: <name>" (or Channel2), or "Redirect failed, channel not up." while the
# channel is being hung up, Bridge "Channel1 does not exist: <name>".
_CHANNEL_GONE = re.compile(r"No such channel|Channel[12]? does not exist|channel not up")


@dataclass(frozen=True, slots=True)
class Refused:
    """Asterisk answered the action with `Response: Error` (`message`, as the client reports it): not done."""

    message: str

    @property
    def channel_gone(self) -> bool:
        """Asterisk refused because the channel no longer exists or is hanging up (the far end left)."""
        return _CHANNEL_GONE.search(self.message) is not None


@dataclass(frozen=True, slots=True)
class Unanswered:
    """No answer came (`error` says why: the connection lost, or no answer in time): it may have been done."""

    error: str


ActionFailure = Refused | Unanswered


@dataclass(frozen=True, slots=True)
class Unsure:
    """An action whose outcome is unknown, and when its failure was reported (the engine's `now`)."""

    action: Redirect | HangupChannel
    since: float


@dataclass(slots=True)
class UnsureActions:
    """What is unsure now: Redirects by call id, Hangups by channel; and when the channels were last looked at."""

    moves: dict[str, Unsure] = field(default_factory=dict)
    hangups: dict[str, Unsure] = field(default_factory=dict)
    looked_at: float | None = None

    def __bool__(self) -> bool:
        return bool(self.moves or self.hangups)


def pending(engine: Engine, call_id: str) -> bool:
    """Whether the call has a Redirect whose outcome is unknown (nothing else is sent for it meanwhile)."""
    return call_id in engine.unsure.moves


def unanswered(engine: Engine, action: Redirect | HangupChannel, now: float) -> list[Command]:
    """The action got no answer: note it, and look at the channels now if the link is up."""
    unsure = engine.unsure
    if isinstance(action, HangupChannel):
        unsure.hangups[action.channel] = Unsure(action, now)
    else:
        c = engine.call_of(action.call_id)
        if c is None or not _still_for(c, action):
            return []  # the call moved on or ended meanwhile: its events say the Redirect was carried out
        unsure.moves[c.call_id] = Unsure(action, now)
    unsure.looked_at = None
    return due(engine, now)


def due(engine: Engine, now: float) -> list[Command]:
    """`CheckChannels` when something is unsure, the link is up (else the resync looks), and it is time."""
    unsure = engine.unsure
    if not unsure or engine.ami_link.hold:
        return []
    if unsure.looked_at is not None and now < unsure.looked_at + RECHECK_S:
        return []
    unsure.looked_at = now
    return [CheckChannels(asked_at=now)]


def next_look(engine: Engine) -> float | None:
    """When `due` would ask for the channels next (for `Engine.next_deadline`)."""
    unsure = engine.unsure
    if not unsure or engine.ami_link.hold:
        return None
    return unsure.looked_at + RECHECK_S if unsure.looked_at is not None else 0.0


def on_event(engine: Engine, c: Call, e: ev.ConnectAgent | ev.AbandonPlayed) -> None:
    """The customer leg reached where a Redirect whose answer was lost sent it: it was carried out."""
    u = engine.unsure.moves.get(c.call_id)
    if u is None or not isinstance(u.action, Redirect):
        return
    if isinstance(e, ev.ConnectAgent):
        done = u.action.purpose in ("agent", "transfer") and u.action.exten == e.agent
    else:
        done = u.action.context == ABANDON_CONTEXT
    if done:
        del engine.unsure.moves[c.call_id]


def settle(engine: Engine, rows: Mapping[str, ev.ChannelRow | None], asked_at: float | None,
           now: float) -> list[Command]:
    """Settle what was unsure before `asked_at` (None: all of it) from CoreShowChannels' rows by Uniqueid
    (None: the channel exists, nothing more known)."""
    unsure = engine.unsure
    out: list[Command] = []
    channels = {row.channel for row in rows.values() if row is not None}
    known = all(row is not None for row in rows.values())
    for channel, u in list(unsure.hangups.items()):
        if asked_at is not None and u.since > asked_at:
            continue
        if channel in channels:
            del unsure.hangups[channel]
            out.append(u.action)  # not done: hang it up again
        elif known:
            del unsure.hangups[channel]  # gone
    for call_id, u in list(unsure.moves.items()):
        if asked_at is not None and u.since > asked_at:
            continue
        c = engine.call_of(call_id)
        if c is None:
            del unsure.moves[call_id]
            continue
        uid = c.customer_uniqueid or call_id
        if uid in rows and rows[uid] is None:
            continue  # there, but where is not known: the next look says
        del unsure.moves[call_id]
        row = rows.get(uid)
        if row is None:
            out += link.end_gone(engine, c, now)
        elif isinstance(u.action, Redirect) and _still_for(c, u.action):
            out += _where(engine, c, u.action, row, now)
    return out


def _still_for(c: Call, r: Redirect) -> bool:
    """Whether the call is still where the Redirect `r` left it (no event, nor a later move, since)."""
    if r.purpose == "agent":
        return c.state in (CallState.CONNECTING, CallState.AUDITING) and c.agent_id == r.agent_id
    if r.purpose == "transfer":
        return c.state in TRANSFER_STATES and c.agent_id == r.agent_id
    if r.purpose == "abandon":
        return c.state is CallState.ABANDONING
    if r.purpose == agentless.PURPOSE:
        return c.state is CallState.DELIVERING
    return False


def _where(engine: Engine, c: Call, r: Redirect, row: ev.ChannelRow, now: float) -> list[Command]:
    """Carry on from where the row shows the customer leg of `c`, whose Redirect `r` got no answer."""
    parked = row.context == link.CONNECT_CONTEXT
    if r.purpose == "agent":
        if parked:
            return engine.redirect_refused(c, now, refused_for=None)
        if row.bridge_id:  # its BridgeEnter was lost: connected by the look at the latest
            return engine.on_ami(_bridge_enter(c, row), now)
        return []
    if r.purpose == "transfer":
        if (row.context, row.exten) != (r.context, r.exten):
            return transfers.leg_failed(engine, c, "the PBX did not take the transfer", now)
        return engine.on_ami(_bridge_enter(c, row), now) if row.bridge_id else []
    if r.purpose == "abandon":
        return [] if row.context == ABANDON_CONTEXT else [r]
    if parked:  # agentless
        return agentless.redirect_failed(engine, c, now)
    return []


def _bridge_enter(c: Call, row: ev.ChannelRow) -> ev.BridgeEnter:
    return ev.BridgeEnter(channel=row.channel, uniqueid=row.uniqueid, linkedid=row.linkedid,
                          bridge_uniqueid=row.bridge_id)
