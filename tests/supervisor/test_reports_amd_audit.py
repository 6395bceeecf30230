"""An AMD audit call (a machine verdict handed to a spare agent to check) reached an agent but is not a contact:
the wallboard's tally leaves it out, and so does every report (they counted it as one)."""

from __future__ import annotations

from dataclasses import replace

import httpx
from sup_fakes import AUTH, Rig, record

from dialer.engine.records import CallRecord
from dialer.supervisor import reports as rp

T = 1_800_000_000.0


def audit_call(cid: str, ended_at: float, **kw: object):
    """What the engine records for an audit: a machine verdict, connected to an agent who listened."""
    return replace(record(cid, ended_at=ended_at, live=False, **kw), outcome="connected", connected_at=ended_at - 40,
                   agent_id="a1", amd_audit=True, amd_status="MACHINE", talk_s=20.0)


def test_no_report_counts_an_audit_call_as_a_contact():
    recs = [CallRecord.from_fields(replace(r, lead_list="nov", zone="America/New_York").to_fields())
            for r in (record("c1", ended_at=T), audit_call("c2", T + 60))]
    assert (recs[1].amd_audit, recs[1].connected_at is not None) == (True, True)  # as stored
    disps = {"c1": rp.Disp("c1", "a1", "sale", T + 30, {})}
    [shift] = rp.agent_shifts(recs, disps, None, until=T + 120)
    assert shift["contacts"] == 1
    [lst] = rp.list_results(recs, disps)
    assert (lst["dials"], lst["contacts"], lst["conversion"]) == (2, 1, 1.0)
    assert sum(h["contacts"] for h in rp.local_hours(recs)["hours"]) == 1
    assert rp.cost_report(recs, disps, 3600.0, rp.Costs())["contacts"] == 1
    assert [s["count"] for s in rp.funnel(recs, disps) if s["stage"] == "right_person"] == [1]
    assert [r["contacts"] for r in rp.reason_breakdown(recs, disps, {})["cancel_reasons"]] == [1]


async def test_the_agents_report_agrees_with_the_wallboard(rig: Rig, client: httpx.AsyncClient):
    now = rig.clock.now()
    rig.login("a1", "1001")
    rig.record(record("c1", ended_at=now - 600, agent="a1", lead="L1"))
    rig.record(audit_call("c2", now - 300, lead="L2"))
    await rig.flush()
    board = (await client.get("/api/wallboard", headers=AUTH["read-only"])).json()
    rep = (await client.get("/api/reports/agents", headers=AUTH["read-only"],
                            params={"since": now - 3600, "until": now + 1})).json()
    [tile] = [a for a in board["agents"] if a["id"] == "a1"]
    [row] = [r for r in rep["report"] if r["agent"] == "a1"]
    assert (tile["contacts_today"], row["contacts"]) == (1, 1)
