"""The screen-pop renderer as the engine's `screenpop` callable: lead, script, local time, history."""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest

from agents import commands as ac
from agents.screenpop import Contact, ContactHistory, ScreenPopRenderer, local_time
from agents.scripts import load_scripts
from agents.state import Agent
from dialer.ami import events as ev
from dialer.engine.calls import Call
from dialer.engine.commands import DispositionMade, ScreenPop
from dialer.engine.core import CampaignRuntime, DialRequest, Engine
from dialer.engine.records import CallRecord
from dialer.store import RedisStore, connect_redis
from pacing import Mode, Pacer, PacingKnobs

SCRIPTS = load_scripts(Path(__file__).resolve().parents[2] / "examples" / "scripts")
T0 = 1_746_525_600.0  # 2025-05-06 10:00 UTC
LEAD = {"first_name": "Marek", "last_name": "Dvorak", "cancel_reason": "moved", "cancelled_at": "2025-01-14",
        "former_tariff": "Fiber 300", "months_since_cancel": "4", "address": "12 Elm St", "subscriber_id": "S-77"}


def engine_with(renderer: ScreenPopRenderer) -> Engine:
    ids = iter(f"call-{i}" for i in range(1, 100))
    eng = Engine(screenpop=renderer, id_factory=lambda _c: next(ids))
    eng.add_campaign(CampaignRuntime("winback", Pacer(PacingKnobs(mode=Mode.PROGRESSIVE))))
    eng.on_agent(ac.Login("ann", "1001", "winback"), T0)
    eng.on_agent(ac.Ready("ann"), T0)
    return eng


def call_through(eng: Engine, number: str, now: float, fields: dict[str, str] = LEAD) -> tuple[str, dict]:
    [orig] = eng.launch("winback", [DialRequest("L1", number, attempt=3, fields=fields)], now)
    cid = orig.call_id
    kw = {"channel": f"Local/{cid};1", "uniqueid": cid, "linkedid": cid}
    eng.on_ami(ev.Newstate(state=ev.ChannelState.UP, **kw), now + 5)
    out = eng.on_ami(ev.AmdResult(call_id=cid, status=ev.AmdStatus.HUMAN, **kw), now + 6)
    [pop] = [c for c in out if isinstance(c, ScreenPop)]
    return cid, pop.payload


def test_the_engine_pops_lead_script_dispositions_and_local_time():
    r = ScreenPopRenderer(SCRIPTS, agent_names={"ann": "Ann Smith"})
    eng = engine_with(r)
    cid, p = call_through(eng, "+12125550123", T0)
    assert (p["call_id"], p["campaign_id"], p["lead_id"], p["attempt"]) == (cid, "winback", "L1", 3)
    assert p["campaign_title"] == "Win-back: come back to Northwind Fiber"
    assert p["lead"]["cancel_reason"] == "moved"
    assert p["local_time"] == {"zone": "America/New_York", "zones": ["America/New_York"], "offset_s": -4 * 3600,
                               "at": T0 + 6}
    steps = p["script"]["steps"]
    assert steps["opening"]["next"] == ["offer_moved", "not_now"]
    assert "Ann Smith" in steps["opening"]["text"]
    assert p["dispositions"]["codes"][1]["follow_up"] == "confirmation"
    assert p["history"] == []
    assert r.current("ann") is p


def test_previous_contacts_and_their_dispositions_appear_on_the_next_pop():
    r = ScreenPopRenderer(SCRIPTS)
    eng = engine_with(r)
    first, _ = call_through(eng, "+12125550123", T0)
    kw = {"channel": f"Local/{first};1", "uniqueid": first, "linkedid": first}
    eng.on_ami(ev.BridgeEnter(bridge_uniqueid="b", **kw), T0 + 7)
    eng.on_ami(ev.Hangup(cause=16, **kw), T0 + 60)
    cmd = ac.Disposition("ann", first, "callback", {"notes": "call after 6pm", "callback_at": "x"})
    [made] = [c for c in eng.on_agent(cmd, T0 + 70) if isinstance(c, DispositionMade)]
    r.note_disposition(cmd)
    # Same person (subscriber id) on another number: the history follows the person.
    _, p = call_through(eng, "+12125550999", T0 + 3600)
    assert p["history"] == [{"at": T0 + 6, "call_id": first, "campaign_id": "winback", "agent_id": "ann",
                             "disposition": "callback", "notes": "call after 6pm"}]
    assert made.code == "callback"


def test_local_time_prefers_the_lead_timezone_field_and_copes_with_unknown_numbers():
    assert local_time("+12125550123", {"timezone": "Europe/Prague"}, T0)["zone"] == "Europe/Prague"
    assert local_time("+12125550123", {"timezone": " Europe/Prague "}, T0)["zone"] == "Europe/Prague"
    assert local_time("12345", {}, T0) is None
    assert local_time("+999", {}, T0) is None
    assert local_time("+447911123456", {}, T0)["zones"] == ["Europe/Guernsey", "Europe/Isle_of_Man", "Europe/London"]
    assert local_time("(212) 555-0123", {}, T0) is None  # not E.164 and no region: unknown, not a crash


@pytest.mark.parametrize("bad", ["America/New York", "GMT+1", "Mars/Olympus", "../../etc/passwd", "America",
                                 "Europe/London\x00"])
def test_a_timezone_field_naming_no_zone_falls_back_to_the_numbers_zones_and_is_logged_once(bad, caplog):
    # a typo in the lead's column must not cost the agent the customer's clock (and its outside-hours warning)
    want = local_time("+12125550100", {}, T0)
    assert want is not None
    assert want["zone"] == "America/New_York"
    for _ in range(3):
        assert local_time("+12125550100", {"timezone": bad}, T0) == want
    assert [r.getMessage() for r in caplog.records].count(
        f"lead timezone field {bad!r} is not a time zone (IANA name such as America/New_York); "
        "the number's zone is shown instead") == 1
    # with no zone of its own for the number either, there is no local time
    assert local_time("+999", {"timezone": bad}, T0) is None


def test_a_campaign_without_a_script_still_pops_with_the_default_dispositions():
    r = ScreenPopRenderer({})
    c = Call("c1", "cold", "L9", "+12125550123", fields={"first_name": "Eva"}, created_at=T0)
    p = r(c, Agent("ann", "1001", "cold"))
    assert p["script"] is None
    assert [x["code"] for x in p["dispositions"]["codes"]][:3] == ["sale", "agreed", "refused"]


def test_the_renderer_never_raises_inside_the_hand_off():
    class Broken:
        title = "broken"
        dispositions = SCRIPTS["winback"].dispositions

        def render(self, *_a, **_k):
            raise RuntimeError("boom")

    r = ScreenPopRenderer({"winback": Broken()})  # type: ignore[dict-item]
    p = r(Call("c1", "winback", "L1", "+12125550123", fields=LEAD, created_at=T0), Agent("ann", "1001"))
    assert p["error"] == "the screen-pop could not be fully rendered"
    assert p["lead"] == LEAD
    assert p["call_id"] == "c1"


def test_history_is_bounded_per_person_and_in_people():
    h = ContactHistory(per_person=2, max_people=3)
    for i in range(5):
        h.note_contact(("n:+1",), Contact(float(i), f"c{i}", "x", "a"))
    assert [c.call_id for c in h.recent(("n:+1",))] == ["c4", "c3"]
    for n in range(2, 6):
        h.note_contact((f"n:+{n}",), Contact(0.0, f"d{n}", "x", "a"))
    assert len(h) == 3
    assert h.recent(("n:+1",)) == []
    h.note_disposition("unknown-call", "sale", {})  # a disposition for a call it never saw is ignored


@pytest.mark.usefixtures("redis_url")
async def test_history_is_warmed_from_the_stores_dispositions_after_a_restart(redis_url):
    store = RedisStore(connect_redis(redis_url), prefix=f"t-warm-{secrets.token_hex(4)}")
    rec = CallRecord("c1", "winback", "L1", "+12125550123", 1, "connected", False, T0, T0, T0 + 5, T0 + 6, T0 + 7,
                     T0 + 60, "ann", "HUMAN", "ANSWER", 16, 1.0, 53.0)
    store.append_call_record(rec)
    store.add_disposition(DispositionMade("c1", "ann", "refused", {"reason": "no_need"}, ("opening",), T0 + 70))
    await store.flush()
    h = ContactHistory()
    assert await h.warm(store) == 1
    assert [c.to_json() for c in h.recent(ContactHistory.keys_for("+12125550123", {}))] == [
        {"at": T0 + 7, "call_id": "c1", "campaign_id": "winback", "agent_id": "ann", "disposition": "refused",
         "reason": "no_need"}]
    assert await ContactHistory().warm(RedisStore(store.r, prefix=f"t-empty-{secrets.token_hex(4)}")) == 0
    await store.r.aclose()
