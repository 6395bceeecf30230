"""extensions.conf leaves the answer marks docs/DIALPLAN_CONTRACT.md describes ("Answer marks"), in the form the
daemon reads them back (`dialer.ami.marks`), and keeps AstDB from growing: run through `astconf_sim.Sim`."""

from __future__ import annotations

import pytest
from astconf_dialplan import Dialplan, Step
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


def days_marked(sim: Sim) -> list[str]:
    return sorted({k.split("/")[2] for k in sim.astdb if k.startswith(f"/{MARK_FAMILY}/")})


def day(at: int) -> str:
    return mark_key("", at).rstrip("/")


def sweeps(sim: Sim) -> int:
    return len([a for a in sim.ran("Gosub") if a[3].startswith("dialer-marks-sweep,")])


def test_the_first_answer_of_a_day_drops_the_marks_of_every_day_before_yesterday(plan):
    sim = Sim(plan)
    at = [EPOCH, EPOCH + DAY, EPOCH + 2 * DAY, EPOCH + 2 * DAY + 60]
    for n, t in enumerate(at):
        sim.scenario.epoch = t
        answer(sim, f"call-{n}")
        if n == 1:
            assert days_marked(sim) == [day(at[0]), day(at[1])]  # yesterday's marks stay
    assert [mark(sim, f"call-{n}", t) is not None for n, t in enumerate(at)] == [False, True, True, True]
    assert sweeps(sim) == 3  # the first answer of each day, not every answer
    assert len(sim.ran("DBdeltree")) == 1


def test_days_without_answers_do_not_leave_old_marks_behind(plan):
    sim = Sim(plan)
    at = [EPOCH, EPOCH + DAY, EPOCH + 9 * DAY, EPOCH + 30 * DAY, EPOCH + 31 * DAY]
    for n, t in enumerate(at):
        sim.scenario.epoch = t
        answer(sim, f"call-{n}")
    assert days_marked(sim) == [day(at[3]), day(at[4])]


def test_marks_never_grow_past_yesterday_and_today(plan):
    sim = Sim(plan)
    for n in range(10):
        sim.scenario.epoch = EPOCH + n * DAY
        answer(sim, f"call-{n}")
    assert days_marked(sim) == [day(EPOCH + 8 * DAY), day(EPOCH + 9 * DAY)]


MIDNIGHT = EPOCH - EPOCH % DAY + DAY  # 2026-11-19 00:00 UTC


def racing_answers(plan: Dialplan, cut_in: int, channels: int) -> Sim:
    """Yesterday and the day before have marks; then `channels` answers at the day's first second, each next
    one run whole when the one before it reaches its `cut_in`-th dialplan step (Asterisk runs each channel in its
    own thread: the first may be anywhere in the sweep when the second reads `last`)."""
    sim = Sim(plan)
    for n, t in enumerate([MIDNIGHT - 2 * DAY + 30, MIDNIGHT - DAY + 30, MIDNIGHT - 1]):
        sim.scenario.epoch = t
        answer(sim, f"before-{n}")
    assert days_marked(sim) == [day(MIDNIGHT - 2 * DAY), day(MIDNIGHT - DAY)]
    sim.scenario.epoch = MIDNIGHT
    legs = [sim.originate({**VARS, "DIALER_CALL_ID": f"race-{n}"}, name=f"Local/1555{n}@dialer-outbound-1;1")
            for n in range(channels)]
    count = dict.fromkeys((leg.name for leg in legs), 0)

    def cut(ch: Channel, context: str, step: Step) -> None:
        if ch.name not in count:
            return
        count[ch.name] += 1
        nxt = legs.index(next(leg for leg in legs if leg.name == ch.name)) + 1
        if count[ch.name] == cut_in and nxt < len(legs):
            started.append(legs[nxt])
            sim.start(legs[nxt], "dialer-connect", "s")

    started = [legs[0]]
    sim.before_step = cut
    sim.start(legs[0], "dialer-connect", "s")
    for leg in legs:  # one that reached Wait() before its `cut_in`-th step let the next run after it
        if leg not in started:
            started.append(leg)
            sim.start(leg, "dialer-connect", "s")
    sim.before_step = None
    return sim


@pytest.mark.parametrize("channels", [2, 3])
@pytest.mark.parametrize("cut_in", range(1, 30))
def test_answers_racing_at_midnight_never_drop_yesterdays_marks(plan, cut_in, channels):
    sim = racing_answers(plan, cut_in, channels)
    assert mark(sim, "before-2", MIDNIGHT - 1) is not None, "a call answered a second before midnight lost its mark"
    assert mark(sim, "before-1", MIDNIGHT - DAY + 30) is not None
    assert [mark(sim, f"race-{n}", MIDNIGHT) is not None for n in range(channels)] == [True] * channels
    assert days_marked(sim) == [day(MIDNIGHT - DAY), day(MIDNIGHT)]  # the day before yesterday is still dropped
    assert sim.astdb["/dialer_marks/last"] == day(MIDNIGHT)
