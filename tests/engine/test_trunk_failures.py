"""A failed dial is classified by the carrier's cause (`UserEvent: DialerTrunkResult`), not by `Reason`.

Asterisk 22's app_dial reports every cause but 16, 17, 19 and 34 as CHANUNAVAIL, and the Local channel
turns what is left into the OriginateResponse's Reason (0 for any `Hangup(<cause>)`) and the Originate's
DialEnd (NOANSWER for cause 1). The event sequences below are what the dialplan of
docs/DIALPLAN_CONTRACT.md makes Asterisk send; the numbers a dial proves dead must reach the contact
policy as dead, and nothing else may.
"""

from __future__ import annotations

from typing import Any

import pytest

from agents import commands as ac
from dialer.ami import events as ev
from dialer.campaigns.models import CampaignConfig
from dialer.campaigns.vocab import Outcome
from dialer.engine.commands import Originate, OriginateAgentFirst, WriteCallRecord
from dialer.engine.core import CampaignRuntime, DialRequest, Engine
from dialer.engine.records import CallRecord
from dialer.hopper import DialTarget
from dialer.hopper_source import HopperLeadSource
from dialer.policy import ContactPolicy, DialResult, LeadView, NumberView
from pacing import Mode, Pacer, PacingKnobs

NUMBERS = ("+12125550142", "+12125550143")
NOON_ET = 1_716_220_800.0  # 2024-05-20 12:00 in New York, a Monday: inside calling hours
ONE = "Local/12125550142@dialer-outbound-0000001b;1"
TWO = "Local/12125550142@dialer-outbound-0000001b;2"


def make_engine(mode: Mode = Mode.POWER) -> Engine:
    ids = iter(f"call-{i}" for i in range(1, 100))
    eng = Engine(id_factory=lambda _c: next(ids))
    eng.add_campaign(CampaignRuntime("camp", Pacer(PacingKnobs(mode=mode, ratio=2.0)), wrapup_timeout_s=60))
    return eng


def target(index: int = 0) -> DialTarget:
    return DialTarget(campaign_id="camp", lead_id="L1", number_e164=NUMBERS[index], number_index=index, attempt=1,
                      fields={})


def records(cmds: list[Any]) -> list[CallRecord]:
    return [c.record for c in cmds if isinstance(c, WriteCallRecord)]


def fail_predictive(eng: Engine, status: ev.DialStatus, cause: int, reason: int) -> CallRecord:
    """One predictive dial refused by the carrier, event by event as Asterisk sends them."""
    [orig] = [c for c in eng.launch("camp", [DialRequest("L1", NUMBERS[0], target=target())], NOON_ET)
              if isinstance(c, Originate)]
    cid = orig.call_id
    one: dict[str, Any] = {"channel": ONE, "uniqueid": cid, "linkedid": cid}
    two: dict[str, Any] = {"channel": TWO, "uniqueid": f"{cid}-2", "linkedid": cid}
    out = eng.on_ami(ev.Newchannel(state=ev.ChannelState.DOWN, **one), NOON_ET)
    out += eng.on_ami(ev.Newchannel(state=ev.ChannelState.RING, **two), NOON_ET)
    out += eng.on_ami(ev.Newstate(state=ev.ChannelState.RINGING, **one), NOON_ET + 1)
    # dialer-outbound: the carrier leg's Dial() returned; the cause first, then the Local channel fails.
    out += eng.on_ami(ev.TrunkResult(call_id=cid, dial_status=status, hangup_cause=cause, **two), NOON_ET + 4)
    local_status = {17: ev.DialStatus.BUSY, 34: ev.DialStatus.CONGESTION}.get(cause, ev.DialStatus.NOANSWER)
    if reason == 8:
        local_status = ev.DialStatus.CONGESTION
    out += eng.on_ami(ev.DialEnd(dest_channel=ONE, dest_uniqueid=cid, dest_linkedid=cid, dial_status=local_status),
                      NOON_ET + 4)
    out += eng.on_ami(ev.Hangup(cause=cause if reason == 0 else 0, **one), NOON_ET + 4)
    out += eng.on_ami(ev.OriginateResponse(action_id=cid, success=False, reason=reason, channel=TWO[:-2],
                                           uniqueid=cid), NOON_ET + 4)
    [rec] = records(out)
    assert eng.on_ami(ev.Hangup(cause=cause, **two), NOON_ET + 7) == []  # after Congestion(3): changes nothing
    return rec


@pytest.mark.parametrize(
    ("status", "cause", "reason", "outcome"),
    [
        (ev.DialStatus.CHANUNAVAIL, 1, 0, "invalid"),  # SIP 404: the number does not exist
        (ev.DialStatus.CHANUNAVAIL, 28, 0, "invalid"),  # SIP 484
        (ev.DialStatus.CHANUNAVAIL, 18, 0, "no_answer"),  # SIP 408: nobody took it
        (ev.DialStatus.NOANSWER, 19, 0, "no_answer"),  # the carrier stopped ringing
        (ev.DialStatus.BUSY, 17, 5, "busy"),
        (ev.DialStatus.CONGESTION, 34, 8, "congestion"),
        (ev.DialStatus.CONGESTION, 0, 8, "congestion"),  # a congestion indication without a cause
        (ev.DialStatus.CHANUNAVAIL, 38, 8, "congestion"),  # network out of order
        (ev.DialStatus.CHANUNAVAIL, 42, 8, "congestion"),  # switching equipment congestion
        (ev.DialStatus.CHANUNAVAIL, 3, 0, "failed"),  # no route: also our own trunk unreachable, not dead
        (ev.DialStatus.CHANUNAVAIL, 21, 0, "failed"),  # call rejected (SIP 403, 603)
    ],
)
def test_a_failed_dial_ends_with_the_carriers_cause(status: ev.DialStatus, cause: int, reason: int,
                                                    outcome: str) -> None:
    rec = fail_predictive(make_engine(), status, cause, reason)
    assert rec.outcome == outcome
    assert rec.abandoned is False


def test_without_a_trunk_result_the_reason_still_decides() -> None:
    # An older dialplan, or a Local channel that never reached dialer-outbound: Reason and the Local legs.
    eng = make_engine()
    [orig] = [c for c in eng.launch("camp", [DialRequest("L1", NUMBERS[0])], NOON_ET) if isinstance(c, Originate)]
    out = eng.on_ami(ev.OriginateResponse(action_id=orig.call_id, success=False, reason=8, channel="x",
                                          uniqueid=orig.call_id), NOON_ET + 3)
    assert [r.outcome for r in records(out)] == ["congestion"]


def test_a_trunk_result_for_an_answered_or_unknown_call_changes_nothing() -> None:
    eng = make_engine()
    [orig] = [c for c in eng.launch("camp", [DialRequest("L1", NUMBERS[0])], NOON_ET) if isinstance(c, Originate)]
    cid = orig.call_id
    two: dict[str, Any] = {"channel": TWO, "uniqueid": f"{cid}-2", "linkedid": cid}
    eng.on_ami(ev.Newstate(state=ev.ChannelState.UP, channel=ONE, uniqueid=cid, linkedid=cid), NOON_ET + 5)
    assert eng.on_ami(ev.TrunkResult(call_id=cid, dial_status=ev.DialStatus.CHANUNAVAIL, hangup_cause=1, **two),
                      NOON_ET + 6) == []
    assert eng.calls[cid].trunk_cause is None
    assert eng.on_ami(ev.TrunkResult(call_id="nobody", dial_status=ev.DialStatus.BUSY, hangup_cause=17, **two),
                      NOON_ET + 6) == []


class _Hopper:
    """The hopper as HopperLeadSource reports to it: each result, as the contact policy will get it."""

    def __init__(self) -> None:
        self.results: list[tuple[DialTarget, DialResult]] = []

    async def record_result(self, t: DialTarget, result: DialResult, now: float) -> None:
        self.results.append((t, result))


async def test_an_unallocated_number_is_marked_dead_and_the_next_number_is_dialed_next() -> None:
    eng = make_engine()
    rec = fail_predictive(eng, ev.DialStatus.CHANUNAVAIL, 1, 0)
    hopper = _Hopper()
    await HopperLeadSource(hopper).record_result(rec, target(), NOON_ET + 5)  # type: ignore[arg-type]
    [(t, result)] = hopper.results
    policy = ContactPolicy(CampaignConfig.model_validate({
        "id": "camp", "kind": "base_upsell", "name": "Test", "caller_id_name": "Acme",
        "caller_id_number": "+12125550100", "jurisdiction": "us"}))
    lead = LeadView(lead_id="L1", numbers=tuple(NumberView(n) for n in NUMBERS), zones=("America/New_York",))
    plan = policy.plan_result(lead, t.number_index, result, NOON_ET + 5)
    assert plan.dead == frozenset({0})
    assert (plan.next, plan.next_index) == ("retry", 1)
    # The same dial seen as congestion (the old dialplan's Congestion() for CHANUNAVAIL) kept it alive.
    congested = policy.plan_result(lead, 0, DialResult(outcome=Outcome.CONGESTION), NOON_ET + 5)
    assert congested.dead == frozenset()


def test_an_agent_first_dial_to_an_unallocated_number_ends_invalid_although_dialend_says_noanswer() -> None:
    eng = make_engine(Mode.PREVIEW)
    eng.on_agent(ac.Login("ann", "1001", "camp"), NOON_ET)
    eng.on_agent(ac.Ready("ann"), NOON_ET)
    cid, out = eng.dial_manual("ann", NUMBERS[0], NOON_ET)
    assert [c for c in out if isinstance(c, OriginateAgentFirst)]
    agent: dict[str, Any] = {"channel": f"Local/1001@dialer-agent-00000001;1 {cid}", "uniqueid": cid, "linkedid": cid}
    eng.on_ami(ev.OriginateResponse(action_id=cid, success=True, reason=4, channel=agent["channel"], uniqueid=cid),
               NOON_ET + 1)
    eng.on_ami(ev.DialBegin(dest_channel=ONE, dest_uniqueid="pbx-1.7", dest_linkedid=cid, **agent), NOON_ET + 1)
    # The customer's ;2 leg inherited DIALER_CALL_ID: its TrunkResult names the call.
    eng.on_ami(ev.TrunkResult(call_id=cid, dial_status=ev.DialStatus.CHANUNAVAIL, hangup_cause=1, channel=TWO,
                              uniqueid="pbx-1.8", linkedid=cid), NOON_ET + 3)
    out = eng.on_ami(ev.DialEnd(dest_channel=ONE, dest_uniqueid="pbx-1.7", dest_linkedid=cid,
                                dial_status=ev.DialStatus.NOANSWER, **agent), NOON_ET + 3)
    [rec] = records(out)
    assert (rec.outcome, rec.kind) == ("invalid", "manual")
