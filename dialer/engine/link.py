"""The AMI link as the engine sees it: no dials while it is down, and the resync once it is back.

Pure functions over the `Engine`'s state, like `agentless` and `transfers`; the daemon feeds the client's
`AmiDisconnected` and `AmiConnected` to `Engine.on_ami` like any other event.

Asterisk keeps its calls while our AMI connection is gone (a reload, a restart of the connection, a
network blip; reconnect backoff reaches 30 s), but the events of that time are lost. Hence:

    AmiDisconnected          hold dialing; remember the calls open now (only they can have missed events)
    AmiConnected             held (the first connect too): the daemon asks `CoreShowChannels`, and takes over
                             the calls an earlier process left in Asterisk (`dialer.engine.orphans`)
    marks_wanted(rows)       which of those calls the daemon must look up in the dialplan's answer marks
                             (`dialer.ami.marks`, DBGet) before the resync: gone with no answer or verdict seen
    resync(rows)             those remembered calls Asterisk no longer has are ended (by their mark, if any);
                             the others are kept, and what their channel row shows happened meanwhile is
                             caught up; a Redirect or Hangup whose answer the loss took is settled by where
                             its leg is (`dialer.engine.unsure`); hold lifted
    resync_failed            hold lifted; the calls stay as they are (their next events, or `sweep_stuck`)

A call gone by the resync whose answer was not seen (ringing at the loss, or answered with its verdict unseen)
may have been answered by a person who waited in `Wait(600)`'s silence and hung up: its channel row is gone with
it. The dialplan's answer mark in AstDB tells (`_end_marked`): a person who waited for nobody, an abandon
(counted, number locked); a machine; an answer with no verdict, an abandon (the safe side); no mark, lost as before (the
lead retried as a no-answer). The daemon reads the marks it is told to (`marks_wanted`) into `AmiLink.marks`.

Why a remembered set and not every open call: an Async Originate is acknowledged first and its channels
are created later, and `CoreShowChannels` lists only the channels that exist when it runs. A call
originated after the loss went out on the new connection (an agent's manual or preview dial: the pacer
is held) and its events come as usual; ended for lack of a row it would be recorded lost, its later
events ignored, and a person answering it left in `Wait(600)`.

While held, `Engine.decide` launches nothing and says why (`Reason.PBX_LINK_DOWN`, the hold in the
detail). An Originate the client could not write at all (`OriginateFailed(sent=False)`) is withdrawn:
the call is forgotten and its lead handed back with `ReturnLead`, so an outage costs no attempts.

What a channel row can tell (the customer `;1` leg, `Uniqueid == call_id`): before the answer it sits in
the Local channel's context (`dialer-outbound`); answered, it runs `dialer-connect`: `AMD`, then
`Wait(600)` once the verdict was sent. A call answered during the outage is caught up as if its
`Newstate Up` had arrived; one found in `Wait` missed its verdict too, and is taken for a person
(`NOTSURE`: human or machine cannot be told from the row) whose greeting ended when the link was lost,
the earliest it can have: it goes to an agent or to the abandon message, and counts abandoned when
connected later than 2 s after that. A call being put through to an agent (or to a transfer's phone) whose
customer leg is found in that phone's bridge lost its BridgeEnter: it is connected at the resync, the
latest the bridge can have come, so the legal wait runs to then. Calls in other states keep their
pre-outage state, but for a Redirect or Hangup whose answer the loss took (`dialer.engine.unsure`; see
docs/ARCHITECTURE.md, "Failure handling at the edge").
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from dialer.ami import events as ev
from dialer.ami.marks import AnswerMark
from dialer.engine import agentless, transfers
from dialer.engine.calls import TRANSFER_STATES, Call, CallOutcome, CallState
from dialer.engine.commands import AGENT_CONTEXT, Command, HangupChannel, ReturnLead
from pacing import Decision, Reason

if TYPE_CHECKING:
    from dialer.engine.core import CampaignRuntime, Engine

__all__ = ["CONNECT_CONTEXT", "STUCK_LOOK_S", "AmiLink", "connected", "end_gone", "held_decision", "lost",
           "marks_wanted", "outcome_when_gone", "resync", "resync_failed", "settle_stuck", "stuck", "withdraw"]

CONNECT_CONTEXT = "dialer-connect"  # where an answered customer leg runs AMD, then waits for us
PARKED_APP = "Wait"  # `dialer-connect` after the verdict: the person waits to be moved
MISSED_VERDICT = "verdict missed during an AMI outage"
STUCK_LOOK_S = 10.0  # how long a stuck call waits for the look it asked for before it is given up as lost


@dataclass(slots=True)
class AmiLink:
    """Whether dialing is held for the AMI link, and what the resync must look at."""

    hold: str = ""  # why no new dials now ("": the link is up and resynced)
    lost_at: float | None = None  # when the link was lost (the engine's `now`)
    suspects: set[str] | None = None  # the calls open when it was lost: the only ones to resync
    # the answer marks the daemon read for the resync (`marks_wanted`), by call id
    marks: dict[str, AnswerMark] = field(default_factory=dict)

    def clear(self) -> None:
        self.hold, self.lost_at, self.suspects = "", None, None
        self.marks = {}


def _open_calls(engine: Engine) -> set[str]:
    return {cid for cid, c in engine.calls.items() if c.state is not CallState.ENDED}


def lost(engine: Engine, e: ev.AmiDisconnected, now: float) -> list[Command]:
    """Hold dialing, and remember the calls that may miss events from now on."""
    link = engine.ami_link
    link.hold = f"AMI connection lost ({e.reason}): no new dials until it is back and live calls are resynced"
    link.lost_at = now if link.lost_at is None else link.lost_at
    link.suspects = _open_calls(engine) | (link.suspects or set())
    engine.unsure.looked_at = None  # a look asked for on the lost connection tells nothing: look after the resync
    return []


def connected(engine: Engine, e: ev.AmiConnected, now: float) -> list[Command]:
    """Connected, the first time or back after a loss: held until `resync` (or `resync_failed`). The first
    time, the look is for the calls an earlier process left in Asterisk (`dialer.engine.orphans`)."""
    link = engine.ami_link
    if not e.reconnect:
        link.hold = ("AMI connected: looking at Asterisk's channels (CoreShowChannels) for calls an earlier "
                     "daemon process left, before dialing")
    else:
        link.hold = "AMI connection back: resyncing live calls with CoreShowChannels before dialing again"
    if link.suspects is None:  # no loss was seen: every open call may have missed events
        link.suspects = _open_calls(engine)
    return []


def resync_failed(engine: Engine) -> list[Command]:
    """CoreShowChannels failed: dial again; calls stay as they are until their events or `sweep_stuck`."""
    engine.ami_link.clear()
    return []


def _by_uid(live: Iterable[ev.ChannelRow | str]) -> dict[str, ev.ChannelRow | None]:
    return {item if isinstance(item, str) else item.uniqueid: None if isinstance(item, str) else item
            for item in live}


def _gone(c: Call, rows: Mapping[str, object]) -> bool:
    return c.call_id not in rows and (c.customer_uid is None or c.customer_uid not in rows)


def _may_be_marked(c: Call) -> bool:
    """Whether an answer mark can tell how `c` ended: a predictive call that went through `dialer-connect`
    unseen (ringing at the loss), or whose verdict was not seen (answered at the loss)."""
    return not c.agent_first and (c.is_pre_answer or c.state is CallState.SCREENING)


def marks_wanted(engine: Engine, live: Iterable[ev.ChannelRow | str], now: float) -> dict[str, tuple[float, float]]:
    """The calls whose answer mark (`dialer.ami.marks`) the resync with `live` needs, each with the span its
    answer may lie in: those it would end for want of a channel row before their answer or verdict was seen."""
    rows = _by_uid(live)
    suspects = engine.ami_link.suspects if engine.ami_link.suspects is not None else _open_calls(engine)
    return {cid: (c.dialed_at, now) for cid, c in engine.calls.items()
            if cid in suspects and c.state is not CallState.ENDED and _may_be_marked(c) and _gone(c, rows)}


def resync(engine: Engine, live: Iterable[ev.ChannelRow | str], now: float,
           asked_at: float | None = None) -> list[Command]:
    """End the remembered calls Asterisk no longer has; catch up the others from their channel rows; settle
    the actions whose answer was lost (`dialer.engine.unsure`) that were reported before `asked_at`, when
    CoreShowChannels was sent (None: all of them).

    `live` is CoreShowChannels' rows, or bare Uniqueids (nothing is then known but that they exist).
    """
    from dialer.engine import unsure  # here: `unsure` imports this module

    rows = _by_uid(live)
    suspects = engine.ami_link.suspects if engine.ami_link.suspects is not None else _open_calls(engine)
    since, marks = engine.ami_link.lost_at, engine.ami_link.marks
    engine.ami_link.clear()
    out: list[Command] = []
    for cid in [cid for cid in engine.calls if cid in suspects]:
        c = engine.calls[cid]
        if c.state is CallState.ENDED:
            continue
        if _gone(c, rows):
            out += end_gone(engine, c, now, marks.get(cid))
            continue
        row = rows.get(cid)
        if row is not None and not c.agent_first:
            out += _catch_up(engine, c, row, since, now)
        leg = rows.get(c.customer_uniqueid or cid)
        if leg is not None and leg.bridge_id:
            out += _bridged_meanwhile(engine, c, leg, now)
    return out + unsure.settle(engine, rows, asked_at, now)


def outcome_when_gone(c: Call) -> CallOutcome:
    """How a call ends whose customer leg Asterisk no longer has (it hung up while we could not see it)."""
    if c.state is CallState.CONNECTED or c.state in TRANSFER_STATES:
        return CallOutcome.CONNECTED
    if c.state is CallState.DELIVERING:  # the message was under way when contact was lost
        return agentless.outcome_of(c)
    if c.state is CallState.MACHINE or c.state is CallState.AUDITING:  # as their Hangup ends them
        return CallOutcome.MACHINE
    # A person who answered and had no agent yet (waiting, or being put through with no bridge seen) is
    # an abandon, whoever hung up, counted once and their number locked: the ledger must never count
    # fewer than happened (if the bridge came during the outage, this counts one too many, the safe side).
    if c.state is CallState.ABANDONING:  # already counted when the hold ran out
        return CallOutcome.ABANDONED
    if c.state in (CallState.WAITING, CallState.CONNECTING) and c.human_at is not None:
        return CallOutcome.HUNG_UP_WAITING
    # Answered, AMD's verdict not seen: whoever said hello may have waited in `dialer-connect`'s silence
    # with nobody coming, and nothing proves an agent reached them within 2 s. An abandon, as `close_all`
    # and a surplus hang-up that met an answer count it (a machine or a hang-up during AMD is counted too:
    # one too many, the safe side); in an agentless campaign nobody waited for an agent (`end_gone`).
    if c.state is CallState.SCREENING:
        return CallOutcome.ABANDONED
    return CallOutcome.LOST


def end_gone(engine: Engine, c: Call, now: float, mark: AnswerMark | None = None) -> list[Command]:
    """End `c`, whose customer leg Asterisk no longer has, as `outcome_when_gone` says; an answer whose verdict
    was not seen as `Engine.unverified_answer` says (a live answer abandoned from its answer; in an agentless
    campaign, hung up while AMD listened). With the call's answer `mark`, as `_end_marked` says."""
    if mark is not None and _may_be_marked(c):
        return _end_marked(engine, c, mark, now)
    if c.state is CallState.SCREENING:
        return engine.end_call(c, engine.unverified_answer(c, now), now)
    return engine.end_call(c, outcome_when_gone(c), now)


def _end_marked(engine: Engine, c: Call, mark: AnswerMark, now: float) -> list[Command]:
    """End `c`, gone, whose answer the dialplan marked while we could not see it (ringing, or answered with
    the verdict unseen, at the loss). Its answer is caught up at the mark's time; then a machine (AMD said so)
    ends `machine`; a person (HUMAN, NOTSURE, or AMD off) waited in `Wait(600)`'s silence with nobody coming
    and hung up: `abandoned` (counted, number locked), their wait running from the answer, the earliest the
    greeting can have ended (not `hung_up_waiting`, which says they hung up within the 2 s: when they hung up
    is not known, and the wait recorded runs to the resync); in an agentless campaign nobody waited for an
    agent: `hung_up_before_message`. No verdict (AMD still listening, or the line dropped during it, when the
    dialplan stops before it can update the mark): as an unverified answer, an abandon (the safe side)."""
    out: list[Command] = []
    if c.is_pre_answer:
        out += engine.answered(c, min(max(mark.answered_at, c.dialed_at), now))
    if mark.verdict is ev.AmdStatus.MACHINE:
        return out + engine.end_call(c, CallOutcome.MACHINE, now)
    if mark.verdict is None or mark.verdict is ev.AmdStatus.HANGUP:
        return out + engine.end_call(c, engine.unverified_answer(c, now), now)
    c.human_at = c.answered_at if c.answered_at is not None else now
    if agentless.is_agentless(engine, c):
        c.message = engine.campaigns[c.campaign_id].agentless.label  # what it was to get, as when parked
        return out + engine.end_call(c, CallOutcome.HUNG_UP_BEFORE_MESSAGE, now)
    return out + engine.end_call(c, CallOutcome.ABANDONED, now)


def stuck(engine: Engine, c: Call, now: float) -> bool:
    """A predictive dial past its ring timeout (plus the engine's margin) that never resolved: whether to look
    at the channels before giving it up (True, once, when the link is up: `settle_stuck` decides from its row),
    or to give it up now (False: the look was asked for `STUCK_LOOK_S` ago and never came)."""
    if c.stuck_at is None:
        c.stuck_at = now
        return True
    return now - c.stuck_at < STUCK_LOOK_S


def settle_stuck(engine: Engine, rows: Mapping[str, ev.ChannelRow], asked_at: float, now: float) -> list[Command]:
    """The stuck dials (`stuck`) that asked for the look whose `rows` came (asked at `asked_at`), by their row.

    No row: gone, and nothing was seen of an answer: `lost` (the lead retried as a no-answer). Up: answered
    while we did not see it (its events lost); it is answered now, and when parked past AMD (its verdict lost
    too) it is a person whose greeting ended at the dial at the earliest: connected to nobody within 2 s,
    so the information message (or an agent, late) and an abandon counted, as the resync does after an
    outage. Not up: still ringing past the Originate's timeout: hung up, a no-answer."""
    out: list[Command] = []
    for c in [c for c in engine.calls.values() if c.stuck_at is not None and c.stuck_at <= asked_at]:
        if not c.is_pre_answer or c.agent_first:
            c.stuck_at = None
            continue
        c.stuck_at = None
        row = rows.get(c.call_id)
        if row is None:
            out += engine.end_call(c, CallOutcome.LOST, now)
        elif row.state is ev.ChannelState.UP:
            out += _catch_up(engine, c, row, c.dialed_at, now, answered=True)
        else:
            c.channel = c.channel or row.channel
            c.cut_at = now
            out += [HangupChannel(c.call_id, row.channel, 19), *engine.end_call(c, CallOutcome.NO_ANSWER, now)]
    return out


def _catch_up(engine: Engine, c: Call, row: ev.ChannelRow, since: float | None, now: float, *,
              answered: bool = False) -> list[Command]:
    """Replay what the predictive call's channel row shows happened while the link was down (or while its
    events were lost: `answered`, the row is up wherever it is)."""
    if c.channel is None:  # its Newchannel came during the outage: learn it, so it can be hung up
        c.channel = row.channel
    if row.state is not ev.ChannelState.UP or (row.context != CONNECT_CONTEXT and not answered):
        return []
    out: list[Command] = []
    if c.is_pre_answer:  # answered meanwhile
        out += engine.on_ami(ev.Newstate(channel=row.channel, uniqueid=c.call_id, linkedid=row.linkedid,
                                         state=ev.ChannelState.UP), now)
    if c.state is CallState.SCREENING and row.application == PARKED_APP:
        verdict = ev.AmdResult(call_id=c.call_id, status=ev.AmdStatus.NOTSURE, channel=row.channel,
                               uniqueid=c.call_id, linkedid=row.linkedid, cause=MISSED_VERDICT)
        out += engine.on_ami(verdict, now)
        if since is not None and c.human_at is not None and c.state in (CallState.WAITING, CallState.CONNECTING):
            # The greeting ended at the loss at the earliest: measure the legal wait from there.
            shift = c.human_at - since
            c.human_at = since
            if c.abandon_deadline is not None:
                c.abandon_deadline -= shift
    return out


def _bridged_meanwhile(engine: Engine, c: Call, row: ev.ChannelRow, now: float) -> list[Command]:
    """The customer leg is in the bridge of the phone it was sent to, and its BridgeEnter was lost with the
    link: connected, at the resync at the latest (the legal wait runs to then: the safe side). Without this
    the agent would stay reserved through the conversation and the call end as an abandon."""
    if c.state in (CallState.CONNECTING, CallState.AUDITING):
        agent = engine.roster.get(c.agent_id or "")
        sent_to = (AGENT_CONTEXT, agent.extension if agent is not None else None)
    elif c.state in TRANSFER_STATES:
        sent_to = (transfers.CONTEXT, transfers.rung_extension(engine, c))
    else:
        return []
    if (row.context, row.exten) != sent_to:  # in another bridge (a transfer's Redirect not carried out)
        return []
    return engine.on_ami(ev.BridgeEnter(channel=row.channel, uniqueid=row.uniqueid, linkedid=row.linkedid,
                                        bridge_uniqueid=row.bridge_id), now)


def withdraw(engine: Engine, c: Call, why: str) -> list[Command]:
    """Forget a predictive call whose Originate was never written, and hand its lead back uncounted."""
    from dialer.engine.core import DialRequest

    engine.campaigns[c.campaign_id].active.discard(c.call_id)
    del engine.calls[c.call_id]
    engine.stats.placed -= 1
    request = DialRequest(lead_id=c.lead_id, number=c.number, attempt=c.attempt, number_index=c.number_index,
                          fields=dict(c.fields), callback_agent=c.callback_agent, callback_at=c.callback_at,
                          zone=c.zone, lead_list=c.lead_list, target=c.target)
    return [ReturnLead(c.campaign_id, c.call_id, request, why)]


def held_decision(engine: Engine, camp: CampaignRuntime, now: float, hopper_depth: int, hold: str = "",
                  reason: Reason = Reason.PAUSED) -> Decision:
    """The decision while the link (or the daemon's `hold`, for `reason`) holds dialing: the pacer's own for a
    paused campaign (so its books see no launch), saying why."""
    snap = engine.snapshot(camp.campaign_id, now, hopper_depth)
    d = camp.pacer.decide(replace(snap, paused=True))
    link_down = bool(engine.ami_link.hold) and not camp.paused
    detail = "; ".join(h for h in (hold, engine.ami_link.hold) if h)
    d = replace(d, reason=Reason.PBX_LINK_DOWN if link_down else reason, detail=detail)
    camp.pacer.decisions[-1] = d
    return d
