"""`dialer.ami.marks`: the keys an answer's mark may have, its value, and Asterisk's answers to DBGet."""

from __future__ import annotations

import calendar

import pytest

from dialer.ami import actions
from dialer.ami.client import AmiResponse
from dialer.ami.events import AmdStatus
from dialer.ami.marks import AnswerMark, mark_key, mark_keys, mark_of_reply, parse_mark
from dialer.errors import AmiError

MIDNIGHT = float(calendar.timegm((2026, 11, 26, 0, 0, 0)))


def test_keys_are_the_utc_days_the_answer_may_fall_on():
    assert mark_key("c-1", MIDNIGHT - 1) == "20261125/c-1"
    assert mark_keys("c-1", MIDNIGHT - 7200, MIDNIGHT - 3600) == ["20261125/c-1"]
    # an outage across midnight, and a few seconds of clock difference with Asterisk either side of it
    assert mark_keys("c-1", MIDNIGHT - 30, MIDNIGHT - 10) == ["20261125/c-1", "20261126/c-1"]
    assert mark_keys("c-1", MIDNIGHT + 10, MIDNIGHT + 30) == ["20261125/c-1", "20261126/c-1"]
    assert mark_keys("c-1", MIDNIGHT - 3 * 86_400, MIDNIGHT) == [
        "20261122/c-1", "20261123/c-1", "20261124/c-1", "20261125/c-1", "20261126/c-1"]


def test_values_as_the_dialplan_writes_them():
    assert parse_mark("c-1", "1795000000:ANSWERED") == AnswerMark("c-1", 1_795_000_000.0, None)
    assert parse_mark("c-1", "1795000000:MACHINE") == AnswerMark("c-1", 1_795_000_000.0, AmdStatus.MACHINE)
    with pytest.raises(AmiError, match="expected <epoch>:<status>"):
        parse_mark("c-1", ":HUMAN")  # ${EPOCH} empty: not our dialplan
    with pytest.raises(AmiError, match="unknown status 'MAYBE'"):
        parse_mark("c-1", "1795000000:MAYBE")


def test_dbget_answers():
    found = AmiResponse(ok=True, response="Success", message="Result will follow",
                        events=((("event", "DBGetResponse"), ("family", "dialer_ans"), ("key", "20261125/c-1"),
                                 ("val", "1795000000:HUMAN")),
                                (("event", "DBGetComplete"), ("eventlist", "Complete"), ("listitems", "1"))))
    assert mark_of_reply("c-1", found) == AnswerMark("c-1", 1_795_000_000.0, AmdStatus.HUMAN)
    missing = AmiResponse(ok=False, response="Error", message="Database entry not found")
    assert mark_of_reply("c-1", missing) is None
    denied = AmiResponse(ok=False, response="Error", message="Permission denied")
    with pytest.raises(AmiError, match=r"Permission denied.*write=reporting"):
        mark_of_reply("c-1", denied)


def test_the_dbget_action():
    assert actions.db_get("dialer_ans", "20261125/c-1").as_dict() == {
        "Action": "DBGet", "Family": "dialer_ans", "Key": "20261125/c-1"}
    with pytest.raises(AmiError):
        actions.db_get("dialer/ans", "x")
    with pytest.raises(AmiError):
        actions.db_get("dialer_ans", "x\r\nAction: Originate")
