"""An agentless call whose Redirect to the message was refused ends `abandoned` with its `message`: nobody waited
for an agent, so it is neither a live answer nor an abandon in the ledger and the compliance report, and the
wallboard's tally (with dialer_abandon_ratio_*) and the `hours` and `lists` reports leave it out of their abandons
too: every abandon rate is over the same calls."""

from __future__ import annotations

from dataclasses import replace

from sup_fakes import AUTH, record

from dialer.supervisor import reports as rp
from dialer.supervisor.context import Ctx
from dialer.supervisor.tally import local_midnight

RO = AUTH["read-only"]


def agentless_abandon(call_id: str, t: float):
    rec = record(call_id, ended_at=t, outcome="abandoned", abandoned=True, agent=None, talk=None, lead="LX")
    return replace(rec, message="dialer-message.wav", zone="America/New_York", lead_list="base")


async def a_day(rig) -> float:
    now = rig.clock.now()
    t0 = max(local_midnight(now), now - 3 * 3600) + 60
    for i in range(19):  # 19 live answers connected, and one abandoned waiting for an agent
        rig.record(replace(record(f"c{i}", ended_at=t0 + 60 * i, lead=f"L{i}"), zone="America/New_York",
                           lead_list="base"))
    rig.record(replace(record("ab", ended_at=t0 + 1200, outcome="abandoned", abandoned=True, talk=None, lead="LA"),
                       zone="America/New_York", lead_list="base"))
    rig.record(agentless_abandon("x1", t0 + 30))
    rig.record(agentless_abandon("x2", t0 + 90))
    await rig.flush()
    return t0


async def test_the_wallboard_counts_the_abandons_the_compliance_report_counts(rig, client):
    await a_day(rig)
    comp = (await client.get("/api/reports/compliance", headers=RO, params={"campaign": "upsell"})).json()["report"]
    [row] = comp
    assert (row["live"], row["abandoned"], row["rate"]) == (20, 1, 0.05)
    up = (await Ctx.build(rig.daemon).board.snapshot())["campaigns"][0]
    assert (up["today"]["dialed"], up["today"]["live"], up["today"]["abandoned"]) == (22, 20, 1)
    assert up["abandon"]["today"] == up["abandon"]["24h"] == row["rate"], up["abandon"]


async def test_hours_and_lists_rate_their_abandons_over_the_persons_offered_to_agents(rig, client):
    await a_day(rig)
    hours = (await client.get("/api/reports/hours", headers=RO, params={"campaign": "upsell"})).json()["report"]
    lists = (await client.get("/api/reports/lists", headers=RO, params={"campaign": "upsell"})).json()["report"]
    assert sum(h["dials"] for h in hours["hours"]) == 22
    assert sum(h["abandoned"] for h in hours["hours"]) == 1
    assert sum(h["persons"] for h in hours["hours"]) == 20
    [base] = [x for x in lists if x["list"] == "base"]
    assert (base["dials"], base["persons"], base["abandoned"], base["abandon_rate"]) == (22, 20, 1, 0.05)


def test_an_abandon_counts_only_when_offered_to_agents():
    plain = record("a", ended_at=1000.0, outcome="abandoned", abandoned=True, talk=None)
    x = agentless_abandon("x", 1000.0)
    assert rp._abandon(plain)
    assert not rp._abandon(x)
    [row] = rp.list_results([x], {})
    assert (row["dials"], row["persons"], row["abandoned"], row["abandon_rate"]) == (1, 0, 0, None)
