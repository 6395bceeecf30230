"""The simulator's dialplan leaves the answer marks of docs/DIALPLAN_CONTRACT.md in its AstDB, and answers
DBGet and DBGetTree as Asterisk 22's main/db.c does: the daemon reads the marks after an AMI outage."""

from __future__ import annotations

import time

from pbxsim_client import AmiTestClient, originate, people, running

from dialer.ami.client import AmiClient
from dialer.ami.events import AmdStatus
from dialer.ami.marks import AnswerMark, answer_marks
from dialer.clock import ScaledClock
from dialer.pbxsim import FarEndOptions
from pacing.traffic import AmdSpec, LognormalSpec


def _day(at: float) -> str:
    return time.strftime("%Y%m%d", time.gmtime(int(at)))


async def test_dbget_answers_a_mark_and_its_absence_as_asterisk_words_them():
    async with running(people(p_live=1.0, patience=LognormalSpec(2.0, 0.0))) as sim:
        client = await AmiTestClient.connect(sim.port)
        await client.login(events="call,user")
        await client.action(originate("mk-1", "5552100"))
        record = await sim.wait_call_ended("mk-1")  # parked, nobody came, hung up: the mark stays
        assert record.answered_at is not None
        day = _day(record.answered_at)
        ack = await client.action({"Action": "DBGet", "ActionID": "g-1", "Family": "dialer_ans", "Key": f"{day}/mk-1"})
        assert (ack.get("Response"), ack.get("EventList"), ack.get("Message")) == ("Success", "start",
                                                                                  "Result will follow")
        got = await client.wait_event("DBGetResponse")
        assert (got.get("Family"), got.get("Key"), got.get("ActionID")) == ("dialer_ans", f"{day}/mk-1", "g-1")
        assert got.get("Val") == f"{int(record.answered_at)}:HUMAN"
        assert got.get("Privilege") is None  # astman_append: no Privilege, no Timestamp
        done = await client.wait_event("DBGetComplete")
        assert (done.get("EventList"), done.get("ListItems"), done.get("ActionID")) == ("Complete", "1", "g-1")
        missing = await client.action({"Action": "DBGet", "ActionID": "g-2", "Family": "dialer_ans",
                                       "Key": f"{day}/nobody"})
        assert (missing.get("Response"), missing.get("Message")) == ("Error", "Database entry not found")
        no_key = await client.action({"Action": "DBGet", "ActionID": "g-3", "Family": "dialer_ans"})
        assert no_key.get("Message") == "No key specified."
        await client.action({"Action": "DBGetTree", "ActionID": "t-1", "Family": "dialer_ans"})
        row = await client.wait_event("DBGetTreeResponse")
        assert (row.get("Key"), row.get("Val")) == (f"/dialer_ans/{day}/mk-1", f"{int(record.answered_at)}:HUMAN")
        assert (await client.wait_event("DBGetTreeComplete")).get("ListItems") == "1"
        await client.close()


async def test_the_daemons_client_reads_a_machine_and_no_answer():
    far = FarEndOptions(machine_greeting_s=(1.0, 1.0), early_hangup_share=0.0)
    traffic = people(p_machine=1.0, amd=AmdSpec(machine_delay_s=(0.5, 0.5), false_positive=0.0, false_negative=0.0))
    clock = ScaledClock(200.0)
    async with running(traffic, far_end=far) as sim:
        client = await AmiTestClient.connect(sim.port)
        await client.login(events="call,user")
        await client.action(originate("mk-m", "5552101"))
        machine = await sim.wait_call_ended("mk-m")
        assert machine.answered_at is not None
        async with AmiClient(host="127.0.0.1", port=sim.port, username="dialer", secret="change-me",
                             clock=clock) as ami:
            span = (machine.answered_at - 5, machine.answered_at + 5)
            marks = await answer_marks(ami, {"mk-m": span, "never-dialed": span})
        assert marks == {"mk-m": AnswerMark("mk-m", float(int(machine.answered_at)), AmdStatus.MACHINE)}
        await client.close()


async def test_a_hang_up_during_amd_leaves_the_answer_without_a_verdict():
    far = FarEndOptions(early_hangup_share=1.0)
    async with running(people(p_live=1.0), far_end=far) as sim:
        client = await AmiTestClient.connect(sim.port)
        await client.login(events="call,user")
        await client.action(originate("mk-e", "5552102"))
        record = await sim.wait_call_ended("mk-e")
        assert record.answered_at is not None
        assert not record.amd_status  # no DialerAMD: the line dropped while AMD listened
        value = sim.pbx.astdb[f"/dialer_ans/{_day(record.answered_at)}/mk-e"]
        assert value == f"{int(record.answered_at)}:ANSWERED"
        await client.close()


def test_the_sweep_drops_the_marks_of_every_day_before_yesterday_as_the_dialplan_does():
    from types import SimpleNamespace
    from typing import cast

    from dialer.pbxsim.dialplan import _sweep_marks
    from dialer.pbxsim.pbx import Pbx

    now = 1_795_000_000
    days = {_day(now - n * 86_400): n for n in (0, 1, 2, 9)}
    pbx = SimpleNamespace(astdb={f"/dialer_ans/{d}/c{n}": f"{now}:HUMAN" for d, n in days.items()})
    pbx.astdb["/dialer_marks/last"] = _day(now - 9 * 86_400)
    _sweep_marks(cast(Pbx, pbx), now)
    assert pbx.astdb == {f"/dialer_ans/{_day(now)}/c0": f"{now}:HUMAN",
                         f"/dialer_ans/{_day(now - 86_400)}/c1": f"{now}:HUMAN",  # yesterday's stay
                         "/dialer_marks/last": _day(now)}
