"""The agents report takes each agent's talk time from the state journal when it has `talking`.

A transferred call's record names the agent who took it over and the whole call's talk time: the report
credited all of it to them (more talk than they were on the phone, their day summing past their logged-in
time) and none to the agent who talked first.
"""

from __future__ import annotations

from dataclasses import replace

import pytest
from sup_fakes import bare_record

from dialer.supervisor import reports as rp
from dialer.supervisor.reports import JournalEntry as J

T = 1_709_650_000.0  # 2024-03-05, afternoon: one local day whatever the zone


def _journal() -> list[J]:
    return [
        J("ann", "ready", T + 0), J("bob", "ready", T + 0),
        J("ann", "reserved", T + 6), J("ann", "talking", T + 6.3),
        J("ann", "wrapup", T + 30),  # ann transfers to bob after 23.7 s of talk
        J("bob", "reserved", T + 30), J("bob", "talking", T + 30.4),
        J("ann", "ready", T + 40),
        J("bob", "wrapup", T + 90), J("bob", "ready", T + 100),
    ]


TRANSFERRED = bare_record(call_id="c1", campaign_id="up", agent_id="bob", transferred_from="ann",
                          connected_at=T + 6.3, ended_at=T + 90, talk_s=83.7, abandoned=False)


def test_each_agent_is_credited_their_own_talk_on_a_transferred_call():
    rows = {r["agent"]: r for r in rp.agent_shifts([TRANSFERRED], {}, _journal(), until=T + 120)}
    ann, bob = rows["ann"], rows["bob"]
    assert ann["talk_s"] == pytest.approx(23.7)
    assert bob["talk_s"] == pytest.approx(59.6)
    for row in (ann, bob):  # every second of the day is in exactly one state
        parts = row["talk_s"] + row["wait_s"] + row["wrap_s"] + row["pause_s"]
        assert parts == pytest.approx(row["logged_in_s"]) == pytest.approx(120.0)
    assert (ann["wait_s"], bob["wait_s"]) == (pytest.approx(86.3), pytest.approx(50.4))


def test_a_journal_without_talking_still_takes_talk_from_the_records():
    # written before the daemon journaled `talking`: talk sits in "ready", the records give it
    journal = [J("bob", "ready", T), J("bob", "wrapup", T + 90), J("bob", "ready", T + 100)]
    rec = replace(TRANSFERRED, transferred_from=None)
    [bob] = rp.agent_shifts([rec], {}, journal, until=T + 120)
    assert bob["talk_s"] == pytest.approx(83.7)
    assert bob["wait_s"] == pytest.approx(110.0 - 83.7)
