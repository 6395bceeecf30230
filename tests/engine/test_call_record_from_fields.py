"""CallRecord.from_fields reads back what to_fields wrote, tolerates older and newer records, and names the
record and field of a malformed value."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dialer.engine.records import CallRecord, RecordError

_text = st.text(max_size=12)
_some = st.text(min_size=1, max_size=12)  # an optional text: "" is written as None is, so None stands for it
_time = st.floats(allow_nan=False)
_opt_time = st.none() | _time


def _record(**kw: object) -> CallRecord:
    base = CallRecord(call_id="c1", campaign_id="camp", lead_id="L1", number="+441632960001", attempt=1,
                      outcome="answered", abandoned=False, created_at=1_700_000_000.0, originated_at=None,
                      answered_at=1_700_000_010.5, human_at=1_700_000_011.0, connected_at=None,
                      ended_at=1_700_000_040.25, agent_id="a1", amd_status="HUMAN", dial_status="ANSWER",
                      hangup_cause=16, wait_s=None, talk_s=29.25)
    return replace(base, **kw)  # type: ignore[arg-type]


records = st.builds(
    CallRecord, call_id=_text, campaign_id=_text, lead_id=_text, number=_text, attempt=st.integers(),
    outcome=_text, abandoned=st.booleans(), created_at=_time, originated_at=_opt_time, answered_at=_opt_time,
    human_at=_opt_time, connected_at=_opt_time, ended_at=_time, agent_id=st.none() | _some,
    amd_status=st.none() | _some, dial_status=st.none() | _some, hangup_cause=st.none() | st.integers(),
    wait_s=_opt_time, talk_s=_opt_time, amd_audit=st.booleans(), kind=_text, transferred_from=st.none() | _some,
    transfer_failures=_text, message=_text, surplus_hangup=st.booleans(), recording=_text,
    callback_at=_opt_time, callback_for=st.none() | _some, zone=st.none() | _some, lead_list=st.none() | _some)


@given(records)
def test_to_fields_then_from_fields_gives_the_same_record(rec: CallRecord) -> None:
    assert CallRecord.from_fields(rec.to_fields()) == rec


def test_a_field_this_version_does_not_know_is_ignored() -> None:
    rec = _record()
    assert CallRecord.from_fields({**rec.to_fields(), "written_by_a_newer_version": "x"}) == rec


def test_a_record_from_before_the_newer_fields_gets_their_defaults() -> None:
    rec = _record()
    old = {k: v for k, v in rec.to_fields().items()
           if k not in ("amd_audit", "kind", "lead_list", "zone", "callback_at", "recording", "hangup_cause")}
    got = CallRecord.from_fields(old)
    assert got == replace(rec, hangup_cause=None)
    assert (got.kind, got.amd_audit, got.lead_list, got.recording) == ("predictive", False, None, "")


@pytest.mark.parametrize(("field", "value", "says"), [
    ("ended_at", "yesterday", "not a number"), ("attempt", "1.5", "not an integer"),
    ("abandoned", "yes", 'not "1" or "0"'), ("talk_s", "nan", "not a number"),
])
def test_a_malformed_value_names_the_record_and_the_field(field: str, value: str, says: str) -> None:
    with pytest.raises(RecordError) as err:
        CallRecord.from_fields({**_record().to_fields(), field: value}, record_id="1700000000000-0")
    assert f"call record 1700000000000-0 (call c1): field {field!r} is {value!r}, which is {says}" == str(err.value)


def test_a_record_without_a_field_every_version_wrote_reads_its_zero() -> None:
    fields = _record().to_fields()
    for name in ("call_id", "ended_at", "attempt", "abandoned"):
        del fields[name]
    got = CallRecord.from_fields(fields)
    assert (got.call_id, got.ended_at, got.attempt, got.abandoned) == ("", 0.0, 0, False)
