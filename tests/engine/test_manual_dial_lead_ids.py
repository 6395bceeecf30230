"""A manual call's lead id is never built from the number: lead ids travel in call records, reports and logs
where numbers are masked (read-only supervisors see lead ids only as pseudonyms; supervisors and logs see them).
It is the lead the campaign's lead source made and took for the call (the hopper's own opaque id: the call's
result is written there), else `manual-` and the call's id."""

from __future__ import annotations

from types import MappingProxyType

from agents import commands as ac
from dialer.engine.calls import CallKind
from dialer.engine.commands import OriginateAgentFirst, ScreenPop
from dialer.engine.core import CampaignRuntime, DialRequest, Engine
from pacing import Mode, Pacer, PacingKnobs

NUMBER = "+12125550177"


def _engine() -> Engine:
    ids = iter(f"prev-{i}" for i in range(1, 100))
    eng = Engine(id_factory=lambda _c: next(ids))
    eng.add_campaign(CampaignRuntime("prev", Pacer(PacingKnobs(mode=Mode.PREVIEW))))
    eng.on_agent(ac.Login("ann", "1001", "prev"), 0.0)
    eng.on_agent(ac.Ready("ann"), 0.0)
    return eng


def test_without_a_lead_from_the_source_the_lead_id_is_the_call_s_not_the_number_s() -> None:
    eng = _engine()
    cid, out = eng.dial_manual("ann", NUMBER, 1.0)
    call = eng.calls[cid]
    assert call.lead_id == f"manual-{cid}"
    assert "5550177" not in call.lead_id
    assert "2125550177" not in cid
    [orig] = [c for c in out if isinstance(c, OriginateAgentFirst)]
    assert (orig.lead_id, orig.number) == (call.lead_id, NUMBER)
    assert (call.kind, call.zone, call.target) == (CallKind.MANUAL, "America/New_York", None)


def test_the_lead_the_source_made_for_the_call_is_the_call_s() -> None:
    eng = _engine()
    target = object()  # the hopper's take (a DialTarget): the call's record and disposition are written on it
    lead = DialRequest("manual-3f9c0a71d2e4b658", NUMBER, zone="America/New_York", lead_list="(manual dial)",
                       fields=MappingProxyType({}), target=target)
    cid, out = eng.dial_manual("ann", NUMBER, 1.0, lead=lead)
    call = eng.calls[cid]
    assert (call.lead_id, call.target, call.kind, call.lead_list) == ("manual-3f9c0a71d2e4b658", target,
                                                                      CallKind.MANUAL, "(manual dial)")
    assert [c.lead_id for c in out if isinstance(c, OriginateAgentFirst)] == ["manual-3f9c0a71d2e4b658"]
    assert [c.agent_id for c in out if isinstance(c, ScreenPop)] == ["ann"]
