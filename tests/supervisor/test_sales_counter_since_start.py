"""`dialer_sales_total` counts the sales disposed since the daemon's supervisor tally started, not the history.

The tally reads the disposition stream from its beginning (the day's figures need it), and every sale it found
went into the counter: after each restart Prometheus saw the whole sales history as new sales.
"""

from __future__ import annotations

import httpx
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families
from sup_fakes import AFTERNOON, AUTH, Rig, make_rig, record

from dialer.engine.commands import DispositionMade
from dialer.http import build_app

RO = AUTH["read-only"]


def _sales_total(rig: Rig, campaign: str = "upsell") -> float:
    for fam in text_string_to_metric_families(generate_latest(rig.daemon.metrics.registry).decode()):
        for s in fam.samples:
            if s.name == "dialer_sales_total" and s.labels.get("campaign") == campaign:
                return float(s.value)
    return 0.0  # never incremented: no sample for the campaign


def _sale(rig: Rig, call_id: str, at: float) -> None:
    rig.record(record(call_id, ended_at=at - 10))
    rig.store.add_disposition(DispositionMade(call_id, "a1", "sale", {}, (), at))


async def test_a_restart_does_not_count_the_sales_history_again(redis):
    first = make_rig(redis, start=AFTERNOON)
    now = first.clock.now()
    for i in range(30):  # sales over the last 20 days, this morning's among them
        _sale(first, f"old{i}", now - 20 * 86400 + i * 16 * 3600)
    _sale(first, "today", now - 600)
    await first.flush()

    restarted = make_rig(redis, prefix=first.store.prefix, start=AFTERNOON + 60)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=build_app(restarted.daemon)),
                                 base_url="http://dialer") as c:
        board = (await c.get("/api/wallboard", headers=RO)).json()["campaigns"][0]
        assert board["today"]["sales"] >= 1  # the day's figures still come from the stream
        assert _sales_total(restarted) == 0

        _sale(restarted, "new1", restarted.clock.now() + 1)
        _sale(restarted, "new2", restarted.clock.now() + 2)
        await restarted.flush()
        board = (await c.get("/api/wallboard", headers=RO)).json()["campaigns"][0]
        assert _sales_total(restarted) == 2
        # read again, nothing is counted twice
        await c.get("/api/wallboard", headers=RO)
        assert _sales_total(restarted) == 2
