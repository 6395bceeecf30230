"""extensions.conf leaves the answer marks docs/DIALPLAN_CONTRACT.md describes ("Answer marks"), in the form the
daemon reads them back (`dialer.ami.marks`), and keeps AstDB from growing: run through `astconf_sim.Sim`."""

from __future__ import annotations

import pytest
from astconf_dialplan import Dialplan
from astconf_files import load
from astconf_sim import Channel, Scenario, Sim

from dialer.ami.events import AmdStatus
from dialer.ami.marks import MARK_FAMILY, AnswerMark, mark_key, parse_mark

CALL_ID = "c-upsell-42-x7Kq"
VARS = {"DIALER_CALL_ID": CALL_ID, "DIALER_CAMPAIGN": "upsell", "DIALER_LEAD": "L1001"}
EPOCH = 1_795_000_000  # 2026-11-18 UTC
DAY = 86_400


@pytest.fixture(scope="module")
def plan() -> Dialplan:
    return Dialplan.load(load("extensions.conf"))


def answer(sim: Sim, call_id: str = CALL_ID, amd: str = "1") -> tuple[Channel, str]:
    leg = sim.originate({**VARS, "DIALER_CALL_ID": call_id, "DIALER_AMD": amd})
    return leg, sim.start(leg, "dialer-connect", "s")


def mark(sim: Sim, call_id: str = CALL_ID, at: int = EPOCH) -> AnswerMark | None:
    """The mark as the daemon's DBGet (family `MARK_FAMILY`, key `mark_key`) would read it."""
    value = sim.astdb.get(f"/{MARK_FAMILY}/{mark_key(call_id, at)}")
    return None if value is None else parse_mark(call_id, value)


@pytest.mark.parametrize(("amd", "dialer_amd", "verdict"), [
    (("HUMAN", "HUMAN-800-800"), "1", AmdStatus.HUMAN),
    (("NOTSURE", "TOOLONG-5000"), "1", AmdStatus.NOTSURE),
    (("MACHINE", "MAXWORDS-4-3"), "1", AmdStatus.MACHINE),
    (("", ""), "1", AmdStatus.NOTSURE),  # AMD() could not start: reported a person
    (("HUMAN", "HUMAN-800-800"), "0", AmdStatus.SKIPPED),
])
def test_an_answer_is_marked_with_its_time_and_then_its_verdict(plan, amd, dialer_amd, verdict):
    sim = Sim(plan, Scenario(amd=amd, epoch=EPOCH))
    _, state = answer(sim, amd=dialer_amd)
    assert state == "waiting"
    assert mark(sim) == AnswerMark(CALL_ID, float(EPOCH), verdict)
    sets = [i for i, a in enumerate(sim.apps) if a[2] == "Set" and a[3].startswith(f"DB({MARK_FAMILY}/")]
    [amd_event] = [i for i, a in enumerate(sim.apps) if a[2] == "UserEvent" and a[3].startswith("DialerAMD,")]
    assert len(sets) == 2
    assert sets[-1] < amd_event, "the verdict is marked before it is sent: an outage may take the event"


def test_a_hang_up_during_amd_leaves_the_answer_marked_without_a_verdict(plan):
    sim = Sim(plan, Scenario(amd=None, epoch=EPOCH))
    _, state = answer(sim)
    assert state == "hungup"
    assert mark(sim) == AnswerMark(CALL_ID, float(EPOCH), None)


def test_the_mark_outlives_the_leg(plan):
    sim = Sim(plan, Scenario(epoch=EPOCH))
    leg, _ = answer(sim)
    sim.hangup(leg)  # the person hangs up in Wait(600)'s silence
    assert mark(sim) == AnswerMark(CALL_ID, float(EPOCH), AmdStatus.HUMAN)


def test_the_first_answer_of_a_day_drops_the_marks_of_the_day_before_the_last_day_marked(plan):
    sim = Sim(plan)
    days = [EPOCH, EPOCH + DAY, EPOCH + 5 * DAY, EPOCH + 5 * DAY + 60]  # a gap of days without answers
    for n, at in enumerate(days):
        sim.scenario.epoch = at
        answer(sim, f"call-{n}")
    assert mark(sim, "call-0", days[0]) is None  # dropped at the first answer of days[2]
    assert [mark(sim, f"call-{n}", at) is not None for n, at in enumerate(days)] == [False, True, True, True]
    assert len([k for k in sim.astdb if k.startswith(f"/{MARK_FAMILY}/")]) == 3
    assert len(sim.ran("DBdeltree")) == 1  # once a day at most, not at every answer


def test_marks_never_grow_past_three_days(plan):
    sim = Sim(plan)
    for n in range(10):
        sim.scenario.epoch = EPOCH + n * DAY
        answer(sim, f"call-{n}")
    days = {k.split("/")[2] for k in sim.astdb if k.startswith(f"/{MARK_FAMILY}/")}
    assert len(days) == 2  # the last day marked before today, and today
