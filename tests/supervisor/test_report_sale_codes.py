"""A sale is what the campaign's disposition set says: a code of kind `sale` or `agreed` (`agreed`, the person
agreed and a confirmation call follows, counts as a sale: dialer.campaigns.vocab.Disposition.is_success), as in
the hopper's list figures. The reports (`lists`, `funnel`, `agents`, `reasons`, `cost`), the wallboard's tally
and the agents' tiles count the same sales."""

from __future__ import annotations

from sup_fakes import AUTH, record

from agents.dispositions import DispositionKind, DispositionSet, DispositionSpec
from dialer.campaigns.vocab import Disposition
from dialer.engine.commands import DispositionMade
from dialer.supervisor import reports as rp
from dialer.supervisor.context import Ctx
from dialer.supervisor.tally import local_midnight

RO = AUTH["read-only"]


async def report(client, kind: str) -> object:
    r = await client.get(f"/api/reports/{kind}", headers=RO, params={"campaign": "upsell"})
    assert r.status_code == 200, r.text
    return r.json()["report"]


async def test_agreed_is_a_sale_in_every_report_and_on_the_board(rig, client):
    assert Disposition("agreed").is_success  # the project's own rule
    now = rig.clock.now()
    t0 = max(local_midnight(now), now - 3 * 3600) + 60
    for i in range(4):
        rig.record(record(f"c{i}", ended_at=t0 + 60 * i, lead=f"L{i}"))
    for i, code in enumerate(("agreed", "sale", "refused", "callback")):
        rig.store.add_disposition(DispositionMade(f"c{i}", "a1", code, {}, (), t0 + 60 * i + 20))
    await rig.flush()
    funnel = {r["stage"]: r["count"] for r in await report(client, "funnel")}
    got = {"lists": sum(x["sales"] for x in await report(client, "lists")), "funnel": funnel["sale"],
           "agents": sum(a["sales"] for a in await report(client, "agents")),
           "reasons": sum(x["sales"] for x in (await report(client, "reasons"))["cancel_reasons"]),
           "cost": (await report(client, "cost"))["sales"]}
    assert got == dict.fromkeys(got, 2), got
    assert funnel["interested"] == 3  # the two sales and the callback
    ctx = Ctx.build(rig.daemon)
    snap = await ctx.board.snapshot()
    assert snap["campaigns"][0]["today"]["sales"] == 2
    assert ctx.tally.agent_today("a1", rig.clock.now()) == (4, 2)


def test_the_campaigns_disposition_set_names_its_sales():
    own = DispositionSet((DispositionSpec("order", "Ordered", DispositionKind.SALE),
                          DispositionSpec("yes_later", "Yes, confirm", DispositionKind.AGREED),
                          DispositionSpec("confirmed", "Confirmed", DispositionKind.SALE),
                          DispositionSpec("sale", "Not a sale here", DispositionKind.OTHER),
                          DispositionSpec("no", "Refused", DispositionKind.REFUSED)))
    sales = rp.SaleCodes(lambda cid: own if cid == "own" else None, lambda: ["own", "plain"])
    assert sales.codes("own") == {"order", "yes_later"}  # `confirmed` is the follow-up's own stage
    assert [c for c in ("order", "yes_later", "confirmed", "sale", "no", "agreed") if sales("own", c)] == \
        ["order", "yes_later", "agreed"]  # a code the set does not know counts when it spells a sale
    assert sales.codes("plain") == {"sale", "agreed"}  # the default set
    assert sales.anywhere("order")
    assert not sales.anywhere("no")
    assert rp.DEFAULT_SALES("any", "agreed")
    assert not rp.DEFAULT_SALES("any", "callback")
