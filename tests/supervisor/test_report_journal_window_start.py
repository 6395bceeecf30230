"""The agent and pause reports start each agent in the state the journal last gave them before `since`: an agent
ready since 08:55 is ready from 09:00 in a 09:00-10:00 report, and a lunch pause begun at 11:50 counts from 12:00
in a 12:00-13:00 one. An agent logged out at `since`, or in another campaign, brings nothing."""

from __future__ import annotations

from sup_fakes import AUTH, record

from dialer.supervisor.tally import local_midnight

RO = AUTH["read-only"]


async def journal(rig, rows) -> None:
    s = rig.store
    for agent, state, at, reason, *campaign in rows:
        await s.r.xadd(s.key("agent_states"), {"agent_id": agent, "campaign": campaign[0] if campaign else "upsell",
                                               "state": state, "at": str(at), "reason": reason})


async def get(client, kind: str, since: float, until: float) -> object:
    r = await client.get(f"/api/reports/{kind}", headers=RO,
                         params={"campaign": "upsell", "since": since, "until": until})
    assert r.status_code == 200, r.text
    return r.json()["report"]


async def test_the_state_at_since_counts_from_since(rig, client):
    nine = local_midnight(rig.clock.now()) - 86400 + 9 * 3600  # yesterday, a finished day
    await journal(rig, [("a1", "paused", nine - 900, ""), ("a1", "ready", nine - 300, ""),
                        ("a1", "talking", nine + 1200, ""), ("a1", "wrapup", nine + 1500, ""),
                        ("a1", "ready", nine + 1560, ""), ("a1", "logged_out", nine + 3600, ""),
                        ("a2", "ready", nine - 600, ""), ("a2", "logged_out", nine - 60, ""),  # gone before 9
                        ("a3", "ready", nine - 600, "", "other")])  # in another campaign
    rig.record(record("c1", ended_at=nine + 1500, agent="a1", talk=300.0))
    await rig.flush()
    [a1] = await get(client, "agents", nine, nine + 3600)
    assert (a1["agent"], a1["time_source"]) == ("a1", "journal")
    assert a1["logged_in_s"] == 3600.0  # ready the whole hour but for 5 minutes of talk and 1 of wrap-up
    assert a1["wait_s"] == 3600.0 - 300.0 - 60.0
    assert a1["pause_s"] == 0.0  # the pause before 08:55 is not in the window


async def test_a_pause_under_way_at_since_is_counted_from_since(rig, client):
    noon = local_midnight(rig.clock.now()) - 86400 + 12 * 3600
    await journal(rig, [("a1", "ready", noon - 3600, ""), ("a1", "paused", noon - 600, "lunch"),
                        ("a1", "ready", noon + 2400, ""), ("a1", "paused", noon + 3000, "lunch"),
                        ("a1", "logged_out", noon + 3300, "")])
    await rig.flush()
    rep = await get(client, "pauses", noon, noon + 3600)
    [lunch] = rep["by_reason"]
    assert (lunch["reason"], lunch["pauses"], lunch["pause_s"]) == ("lunch", 2, 2400.0 + 300.0)
    [a1] = await get(client, "agents", noon, noon + 3600)
    assert (a1["logged_in_s"], a1["pause_s"], a1["wait_s"]) == (3300.0, 2700.0, 600.0)


async def test_a_window_before_any_entry_has_no_journal(rig, client):
    nine = local_midnight(rig.clock.now()) - 86400 + 9 * 3600
    await journal(rig, [("a1", "ready", nine + 7200, "")])
    rig.record(record("c1", ended_at=nine + 1500, agent="a1", talk=300.0))
    await rig.flush()
    [a1] = await get(client, "agents", nine, nine + 3600)
    assert a1["time_source"] == "calls"
