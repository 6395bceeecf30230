"""A read-only token (the wallboard TV's) sees no personal data the agents collected or the call carries: not the
disposition's fields (addresses, contact phones, notes), not the subscriber id, not the recording's file name
(a dialplan may name it by the number), nor any field of the stored call it does not know to be operational.
A supervisor sees all of it. Every read-only route that answers with call records or what the agents noted is
asked: the call, the call list (filtered or not), every report in JSON and CSV, the wallboard's snapshot (the
stream sends the same snapshots)."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import get_args

import httpx
import pytest
from sup_fakes import AUTH, Rig, record

from dialer.engine.commands import DispositionMade
from dialer.supervisor.routes_data import ReportKind

SUP, RO = AUTH["supervisor"], AUTH["read-only"]

NUMBER = "+15551234567"
FIELDS = {"delivery_address": "12 Elm St, Springfield", "contact_phone": "+15559876543",
          "notes": "customer's wife Jane, acct 99887766", "reason": "price"}
SUBSCRIBER = "SUB-4711"
RECORDING = f"/var/spool/asterisk/monitor/dialer/{NUMBER}-c1.wav"
UNKNOWN = ("customer_name", "Jane Roe")  # a field a later version might store beside the record
# what must not appear anywhere in a read-only answer
SECRETS = (NUMBER, NUMBER[1:], "12 Elm St", "+15559876543", "Jane", "99887766", SUBSCRIBER, RECORDING)


async def _call_with_disposition(rig: Rig) -> None:
    """Call c1, recorded, disposed with personal fields and the subscriber's id (as the desk stores them)."""
    rec = replace(record("c1", ended_at=rig.clock.now() - 60, number=NUMBER, lead="L1"), recording=RECORDING)
    rig.record(rec)
    await rig.store.flush()
    await rig.store.r.hset(rig.store.key("call", "c1"), mapping={**rec.to_fields(), UNKNOWN[0]: UNKNOWN[1]})
    rig.store.add_disposition(DispositionMade(
        call_id="c1", agent_id="a1", code="sale", at=rig.clock.now() - 30, script_path=("opening", "offer"),
        fields=FIELDS, subscriber_id=SUBSCRIBER))
    await rig.store.flush()


def _leaks(text: str) -> list[str]:
    return [s for s in SECRETS if s in text]


async def test_one_call_read_only_sees_no_lead_data_supervisor_sees_all(client: httpx.AsyncClient, rig: Rig) -> None:
    await _call_with_disposition(rig)
    ro = await client.get("/api/calls/c1", headers=RO)
    assert ro.status_code == 200
    got = ro.json()
    assert _leaks(ro.text) == []
    for key in ("disposition_fields", "subscriber_id", "recording", UNKNOWN[0]):
        assert key not in got
    # what the call was and how it went stays readable
    assert got["number"] == "+15*******67"
    assert (got["call_id"], got["lead_id"], got["agent_id"], got["outcome"]) == ("c1", "L1", "a1", "connected")
    assert (got["disposition"], got["script_path"]) == ("sale", ["opening", "offer"])
    assert got["disposed_at"] == pytest.approx(rig.clock.now() - 30)
    assert got["talk_s"] == 120.0

    sup = (await client.get("/api/calls/c1", headers=SUP)).json()
    assert sup["number"] == NUMBER
    assert sup["disposition_fields"] == FIELDS
    assert sup["subscriber_id"] == SUBSCRIBER
    assert sup["recording"] == RECORDING
    assert sup[UNKNOWN[0]] == UNKNOWN[1]
    assert (sup["disposition"], sup["script_path"]) == ("sale", ["opening", "offer"])


@pytest.mark.parametrize("query", ["", "?lead=L1", "?agent=a1", "?outcome=connected"])
async def test_call_list_read_only_sees_no_lead_data_supervisor_sees_all(client: httpx.AsyncClient, rig: Rig,
                                                                         query: str) -> None:
    await _call_with_disposition(rig)
    ro = await client.get(f"/api/calls{query}", headers=RO)
    assert ro.status_code == 200
    [row] = ro.json()["calls"]
    assert _leaks(ro.text) == []
    assert "recording" not in row
    assert (row["call_id"], row["number"]) == ("c1", "+15*******67")

    [full] = (await client.get(f"/api/calls{query}", headers=SUP)).json()["calls"]
    assert (full["number"], full["recording"]) == (NUMBER, RECORDING)


@pytest.mark.parametrize("kind", get_args(ReportKind))
@pytest.mark.parametrize("fmt", ["json", "csv"])
async def test_reports_carry_no_lead_data(client: httpx.AsyncClient, rig: Rig, kind: str, fmt: str) -> None:
    await _call_with_disposition(rig)
    ro = await client.get(f"/api/reports/{kind}?format={fmt}", headers=RO)
    assert ro.status_code == 200
    assert _leaks(ro.text) == []


async def test_wallboard_carries_no_lead_data(client: httpx.AsyncClient, rig: Rig) -> None:
    await _call_with_disposition(rig)
    rig.login("a1", "1001")
    ro = await client.get("/api/wallboard", headers=RO)
    assert ro.status_code == 200
    assert _leaks(json.dumps(ro.json())) == []

