"""The ring timeout runs from the first ring, not from the Originate: Asterisk counts the Originate's `Timeout`
from the channel request, so the carrier's set-up (post-dial delay, seconds on mobile routes) came out of the
15 s the law asks an unanswered call to ring. The daemon now sends the ring timeout plus a set-up allowance
(`actions.SETUP_ALLOWANCE_MS`), and the engine hangs up a dial that has rung its campaign's ring timeout since
its first Newstate Ringing; the record and the pacer see a no-answer, as after Asterisk's own timeout."""

from __future__ import annotations

from test_engine import chan, dial, make_engine, records

from dialer.ami import actions
from dialer.ami import events as ev
from dialer.engine.commands import HangupChannel, Originate
from dialer.engine.core import DialRequest, Engine
from pacing.types import MIN_RING_S, DialObserved


def kw(cid: str) -> dict[str, str]:
    return {"channel": chan(cid), "uniqueid": cid, "linkedid": cid}


def ringing(eng: Engine, cid: str, at: float) -> None:
    eng.on_ami(ev.Newchannel(state=ev.ChannelState.DOWN, **kw(cid)), 0.2)
    eng.on_ami(ev.Newstate(state=ev.ChannelState.RINGING, **kw(cid)), at)


def observed(eng: Engine) -> list[DialObserved]:
    seen: list[DialObserved] = []
    pacer = eng.campaigns["camp"].pacer
    real = pacer.observe

    def observe(obs):
        if isinstance(obs, DialObserved):
            seen.append(obs)
        real(obs)

    pacer.observe = observe
    return seen


def test_a_dial_rings_its_ring_timeout_from_its_first_ring_then_is_hung_up_as_a_no_answer():
    eng = make_engine()  # ring timeout 20 s
    [cid] = dial(eng, now=0.0)
    ringing(eng, cid, 6.0)  # 6 s of set-up before the phone rang (post-dial delay)
    assert eng.next_deadline() == 26.0
    assert [x for x in eng.tick(25.9) if isinstance(x, HangupChannel)] == []  # 19.9 s of ringing only
    assert [x for x in eng.tick(26.0) if isinstance(x, HangupChannel)] == [HangupChannel(cid, chan(cid), 19)]
    assert eng.snapshot("camp", 26.1).ringing_elapsed.tolist() == []  # no longer a dial that may answer
    seen = observed(eng)
    eng.on_ami(ev.Hangup(cause=19, **kw(cid)), 26.05)
    # Asterisk fails the Originate: Reason 1 (hung up) or 0 says only how; it is a no-answer
    [rec] = records(eng.on_ami(ev.OriginateResponse(action_id=cid, success=False, reason=1, channel="x",
                                                    uniqueid=cid), 26.1))
    assert (rec.outcome, rec.abandoned, rec.surplus_hangup) == ("no_answer", False, False)
    # a no-answer at its ring timeout, as after Asterisk's own timeout (not a dial cut short by the pacer)
    assert [(o.outcome, o.hung_up) for o in seen] == [("no_answer", False)]
    assert eng.stats.surplus_hangups == 0


def test_the_same_dial_is_never_cut_before_it_rang_15_s_whatever_its_set_up():
    eng = make_engine()
    [cid] = dial(eng, now=0.0)
    ringing(eng, cid, 9.0)
    cut = [x for t in (10.0, 20.0, 28.9) for x in eng.tick(t) if isinstance(x, HangupChannel)]
    assert cut == []
    assert [x for x in eng.tick(29.0) if isinstance(x, HangupChannel)] == [HangupChannel(cid, chan(cid), 19)]
    assert MIN_RING_S <= 29.0 - 9.0


def test_a_dial_answered_in_time_is_not_cut():
    eng = make_engine()
    [cid] = dial(eng, now=0.0)
    ringing(eng, cid, 6.0)
    eng.on_ami(ev.Newstate(state=ev.ChannelState.UP, **kw(cid)), 20.0)
    assert eng.ring_deadlines == {}
    assert [x for x in eng.tick(30.0) if isinstance(x, HangupChannel)] == []


def test_a_dial_that_never_reports_ringing_ends_by_the_originate_timeout():
    """Some carriers send only 183 (early media): no Newstate Ringing. The Originate's Timeout, the ring
    timeout plus the set-up allowance, ends it (Reason 3), a no-answer."""
    eng = make_engine()
    [cid] = dial(eng, now=0.0)
    eng.on_ami(ev.Newchannel(state=ev.ChannelState.DOWN, **kw(cid)), 0.2)
    assert eng.next_deadline() is None
    assert [x for x in eng.tick(27.0) if isinstance(x, HangupChannel)] == []
    at = 20.0 + actions.SETUP_ALLOWANCE_MS / 1000
    [rec] = records(eng.on_ami(ev.OriginateResponse(action_id=cid, success=False, reason=3, channel="x",
                                                    uniqueid=cid), at))
    assert rec.outcome == "no_answer"


def test_a_dial_the_pacer_cut_as_surplus_is_not_hung_up_again():
    from pacing import Mode
    from pacing.types import Decision, Reason

    eng = make_engine()
    [cid] = dial(eng, now=0.0)
    ringing(eng, cid, 1.0)
    eng.snapshot("camp", 17.0)
    d = Decision(now=17.0, mode=Mode.PREDICTIVE, launch=0, reason=Reason.ENOUGH_IN_FLIGHT, hangup=(0,))
    assert len(eng.hang_up_surplus("camp", d, 17.0)) == 1
    assert [x for x in eng.tick(21.0) if isinstance(x, HangupChannel)] == []


def test_the_originate_carries_the_ring_timeout_and_the_set_up_allowance():
    eng = make_engine()
    [o] = [c for c in eng.launch("camp", [DialRequest("L1", "+15551230001")], 0.0) if isinstance(c, Originate)]
    action = actions.originate(call_id=o.call_id, number=o.number, campaign=o.campaign_id, lead_id=o.lead_id,
                               timeout_ms=int(o.ring_timeout_s * 1000), setup_ms=actions.SETUP_ALLOWANCE_MS,
                               caller_id_name="Acme", caller_id_number="2125550100")
    assert dict(action.headers)["Timeout"] == str(20_000 + actions.SETUP_ALLOWANCE_MS)
    assert (action.timeout_ms, action.wait_ms) == (20_000, 20_000 + actions.SETUP_ALLOWANCE_MS)


def test_an_answer_racing_the_ring_limit_hang_up_is_an_abandon():
    """Answered just as the engine's hang-up went out (Asterisk's own timeout could not race an answer):
    whoever said hello heard the line drop, as after a surplus hang-up."""
    eng = make_engine()
    [cid] = dial(eng, now=0.0)
    ringing(eng, cid, 1.0)
    assert len([x for x in eng.tick(21.0) if isinstance(x, HangupChannel)]) == 1
    eng.on_ami(ev.Newstate(state=ev.ChannelState.UP, **kw(cid)), 21.001)
    [rec] = records(eng.on_ami(ev.Hangup(cause=19, **kw(cid)), 21.01))
    assert (rec.outcome, rec.abandoned, rec.human_at) == ("abandoned", True, 21.001)


def test_in_an_agentless_campaign_such_an_answer_is_no_abandon():
    """Nobody waited for an agent there: the line dropped while AMD listened (and so when such a call's leg is
    found gone after an outage, or at shutdown)."""
    from pacing import Mode, PacingKnobs

    eng = make_engine()
    camp = eng.campaigns["camp"]
    camp.pacer.set_knobs(PacingKnobs(mode=Mode.AGENTLESS, max_channels=10, max_cps=5))
    a, b, c = dial(eng, now=0.0, n=3)
    ringing(eng, a, 1.0)
    eng.tick(21.0)
    eng.on_ami(ev.Newstate(state=ev.ChannelState.UP, **kw(a)), 21.001)
    recs = records(eng.on_ami(ev.Hangup(cause=19, **kw(a)), 21.01))
    for cid in (b, c):
        eng.on_ami(ev.Newstate(state=ev.ChannelState.UP, **kw(cid)), 22.0)
    eng.on_ami(ev.AmiDisconnected("network"), 22.5)
    eng.on_ami(ev.AmiConnected(reconnect=True), 30.0)
    recs += records(eng.resync([ev.ChannelRow(channel=chan(c), uniqueid=c, linkedid=c, state=ev.ChannelState.UP,
                                              context="dialer-connect", application="AMD")], 31.0))
    recs += records(eng.close_all(32.0))
    assert sorted((r.call_id, r.outcome, r.abandoned) for r in recs) == [
        (a, "hung_up_screening", False), (b, "hung_up_screening", False), (c, "hung_up_screening", False)]
    assert camp.pacer.ledger.total_abandons == 0
