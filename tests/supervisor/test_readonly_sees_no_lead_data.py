"""A read-only token (the wallboard TV's) sees no personal data the agents collected or the call carries: not the
disposition's fields (addresses, contact phones, notes), not the subscriber id, not the recording's file name
(a dialplan may name it by the number), nor any field of the stored call it does not know to be operational.
A supervisor sees all of it. Every read-only route that answers with call records or what the agents noted is
asked: the call, the call list (filtered or not), every report in JSON and CSV, the scheduled callbacks, the
wallboard's snapshot (the stream sends the same snapshots).

A lead's id is personal data too when an import gave it (a row without an id: n<the number's E.164 digits> or
s-<subscriber id>, dialer/leads/rows.py): read-only sees every lead id as a pseudonym, the same for the same lead,
and filters the call records by it; a real id in its `?lead=` finds nothing (no test of a guessed number)."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import get_args

import httpx
import pytest
from sup_fakes import AUTH, Rig, record

from dialer.engine.commands import DispositionMade
from dialer.supervisor.records import lead_pseudonym
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
# a lead id of the lead file's own, and the two an import gives a lead without one (dialer/leads/rows.py)
LEADS = ("L1", "n" + NUMBER[1:], f"s-{SUBSCRIBER}")


async def _call_with_disposition(rig: Rig, lead: str = "L1") -> None:
    """Call c1, recorded, disposed with personal fields and the subscriber's id (as the desk stores them)."""
    rec = replace(record("c1", ended_at=rig.clock.now() - 60, number=NUMBER, lead=lead), recording=RECORDING)
    rig.record(rec)
    await rig.store.flush()
    await rig.store.r.hset(rig.store.key("call", "c1"), mapping={**rec.to_fields(), UNKNOWN[0]: UNKNOWN[1]})
    rig.store.add_disposition(DispositionMade(
        call_id="c1", agent_id="a1", code="sale", at=rig.clock.now() - 30, script_path=("opening", "offer"),
        fields=FIELDS, subscriber_id=SUBSCRIBER))
    await rig.store.flush()


def _leaks(text: str) -> list[str]:
    return [s for s in SECRETS if s in text]


@pytest.mark.parametrize("lead", LEADS)
async def test_one_call_read_only_sees_no_lead_data_supervisor_sees_all(client: httpx.AsyncClient, rig: Rig,
                                                                        lead: str) -> None:
    await _call_with_disposition(rig, lead)
    ro = await client.get("/api/calls/c1", headers=RO)
    assert ro.status_code == 200
    got = ro.json()
    assert _leaks(ro.text) == []
    for key in ("disposition_fields", "subscriber_id", "recording", UNKNOWN[0]):
        assert key not in got
    # what the call was and how it went stays readable
    assert got["number"] == "+15*******67"
    assert (got["call_id"], got["lead_id"], got["agent_id"], got["outcome"]) == ("c1", lead_pseudonym(lead), "a1",
                                                                                  "connected")
    assert got["lead_id"].startswith("anon-")
    assert lead not in ro.text
    assert (got["disposition"], got["script_path"]) == ("sale", ["opening", "offer"])
    assert got["disposed_at"] == pytest.approx(rig.clock.now() - 30)
    assert got["talk_s"] == 120.0

    sup = (await client.get("/api/calls/c1", headers=SUP)).json()
    assert (sup["number"], sup["lead_id"]) == (NUMBER, lead)
    assert sup["disposition_fields"] == FIELDS
    assert sup["subscriber_id"] == SUBSCRIBER
    assert sup["recording"] == RECORDING
    assert sup[UNKNOWN[0]] == UNKNOWN[1]
    assert (sup["disposition"], sup["script_path"]) == ("sale", ["opening", "offer"])


@pytest.mark.parametrize("lead", LEADS)
@pytest.mark.parametrize("query", ["", "?lead={anon}", "?agent=a1", "?outcome=connected"])
async def test_call_list_read_only_sees_no_lead_data_supervisor_sees_all(client: httpx.AsyncClient, rig: Rig,
                                                                         query: str, lead: str) -> None:
    await _call_with_disposition(rig, lead)
    ro = await client.get(f"/api/calls{query.format(anon=lead_pseudonym(lead))}", headers=RO)
    assert ro.status_code == 200
    [row] = ro.json()["calls"]
    assert _leaks(ro.text) == []
    assert "recording" not in row
    assert (row["call_id"], row["number"], row["lead_id"]) == ("c1", "+15*******67", lead_pseudonym(lead))
    assert lead not in ro.text

    [full] = (await client.get(f"/api/calls{query.format(anon=lead)}", headers=SUP)).json()["calls"]
    assert (full["number"], full["recording"], full["lead_id"]) == (NUMBER, RECORDING, lead)


@pytest.mark.parametrize("lead", LEADS)
async def test_read_only_cannot_ask_whether_a_lead_id_was_called(client: httpx.AsyncClient, rig: Rig,
                                                                 lead: str) -> None:
    """n<digits> is a guessed number's id: read-only's ?lead= is a pseudonym, and a real id finds nothing."""
    await _call_with_disposition(rig, lead)
    ro = await client.get("/api/calls", params={"lead": lead}, headers=RO)
    assert (ro.status_code, ro.json()["calls"]) == (200, [])
    [full] = (await client.get("/api/calls", params={"lead": lead}, headers=SUP)).json()["calls"]
    assert full["call_id"] == "c1"


@pytest.mark.parametrize("lead", LEADS)
@pytest.mark.parametrize("kind", get_args(ReportKind))
@pytest.mark.parametrize("fmt", ["json", "csv"])
async def test_reports_carry_no_lead_data(client: httpx.AsyncClient, rig: Rig, kind: str, fmt: str,
                                          lead: str) -> None:
    await _call_with_disposition(rig, lead)
    rig.record(record("c2", ended_at=rig.clock.now() - 20, number=NUMBER, lead=lead, outcome="no_answer", live=False))
    await rig.store.flush()
    ro = await client.get(f"/api/reports/{kind}?format={fmt}&flag_over=1", headers=RO)
    assert ro.status_code == 200
    assert _leaks(ro.text) == []
    assert lead not in ro.text


@pytest.mark.parametrize("lead", LEADS)
async def test_a_flagged_lead_read_only_finds_by_its_pseudonym_in_the_call_records(client: httpx.AsyncClient,
                                                                                  rig: Rig, lead: str) -> None:
    """The attempts report's flagged lead, as read-only sees it, lists that lead's calls (and only them)."""
    await _call_with_disposition(rig, lead)
    rig.record(record("c2", ended_at=rig.clock.now() - 20, number=NUMBER, lead=lead, outcome="no_answer", live=False))
    rig.record(record("c3", ended_at=rig.clock.now() - 10, number="+15550000000", lead="L9"))
    await rig.store.flush()
    ro = (await client.get("/api/reports/attempts?flag_over=1", headers=RO)).json()["report"]
    assert ro["flagged"] == [{"campaign_id": "upsell", "lead_id": lead_pseudonym(lead), "attempts": 2}]
    calls = (await client.get("/api/calls", params={"lead": ro["flagged"][0]["lead_id"]}, headers=RO)).json()
    assert [c["call_id"] for c in calls["calls"]] == ["c2", "c1"]
    sup = (await client.get("/api/reports/attempts?flag_over=1", headers=SUP)).json()["report"]
    assert sup["flagged"] == [{"campaign_id": "upsell", "lead_id": lead, "attempts": 2}]


@pytest.mark.parametrize("lead", LEADS)
@pytest.mark.parametrize("agent", [None, "ann"])
async def test_scheduled_callbacks_carry_no_lead_data(client: httpx.AsyncClient, rig: Rig, lead: str,
                                                      agent: str | None) -> None:
    listed = {"lead_id": lead, "at": rig.clock.now() + 3600, "number": NUMBER,
              "lead": {"first_name": "Jane", "account": "99887766"}}

    async def own(agent_id: str, campaign_id: str, limit: int = 50) -> list[dict[str, object]]:
        return [listed]

    async def scheduled(campaign_id: str, limit: int = 50) -> list[dict[str, object]]:
        return [{**listed, "kept_for": "ann"}]

    rig.daemon.own_callbacks = own  # type: ignore[method-assign]
    rig.daemon.scheduled_callbacks = scheduled  # type: ignore[method-assign]
    params = {"agent": agent} if agent else {}
    ro = await client.get("/api/campaigns/upsell/callbacks", params=params, headers=RO)
    assert ro.status_code == 200
    assert _leaks(ro.text) == []
    assert lead not in ro.text
    [got] = ro.json()["callbacks"]
    assert (got["lead_id"], got["number"], got["lead"]) == (lead_pseudonym(lead), "+15*******67", {})
    [full] = (await client.get("/api/campaigns/upsell/callbacks", params=params, headers=SUP)).json()["callbacks"]
    assert (full["lead_id"], full["number"]) == (lead, NUMBER)


async def test_wallboard_carries_no_lead_data(client: httpx.AsyncClient, rig: Rig) -> None:
    await _call_with_disposition(rig)
    rig.login("a1", "1001")
    ro = await client.get("/api/wallboard", headers=RO)
    assert ro.status_code == 200
    assert _leaks(json.dumps(ro.json())) == []

