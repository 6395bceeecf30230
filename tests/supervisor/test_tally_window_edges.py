"""The wallboard's windows (and the metrics fed from them) start at the first whole minute bucket inside the
window: a call that ended 15 min 19 s ago is not in "the last 15 minutes", as it is not in the report over them.
A window is up to a bucket short, never long."""

from __future__ import annotations

from sup_fakes import AUTH, record

from dialer.supervisor.context import Ctx
from dialer.supervisor.tally import LIVE, _Buckets

RO = AUTH["read-only"]


def just_outside(now: float, window: float) -> float:
    t = (now - window) // 60 * 60  # the start of the minute that holds now - window
    assert t < now - window, "the rig's clock does not start on a whole minute"
    return t + 0.5


async def test_15_minutes_are_the_reports_15_minutes(rig, client):
    now = rig.clock.now()
    rig.record(record("old", ended_at=just_outside(now, 900), outcome="abandoned", abandoned=True, talk=None))
    for i in range(10):
        rig.record(record(f"c{i}", ended_at=now - 600 + i, lead=f"L{i}"))
    await rig.flush()
    rep = (await client.get("/api/reports/compliance", headers=RO,
                            params={"campaign": "upsell", "since": now - 900, "until": now + 1})).json()["report"][0]
    assert (rep["live"], rep["abandoned"]) == (10, 0)
    up = (await Ctx.build(rig.daemon).board.snapshot())["campaigns"][0]
    assert up["abandon"]["15m"] == rep["rate"] == 0.0, up["abandon"]


async def test_the_last_hour_and_24_hours_take_nothing_from_before_them(rig):
    now = rig.clock.now()
    rig.record(record("h", ended_at=just_outside(now, 3600), lead="H"))
    rig.record(record("d", ended_at=just_outside(now, 86400), outcome="abandoned", abandoned=True, talk=None,
                      lead="D"))
    rig.record(record("new", ended_at=now - 60, lead="N"))
    await rig.flush()
    up = (await Ctx.build(rig.daemon).board.snapshot())["campaigns"][0]
    assert up["last_hour"]["contacts"] == 1, up["last_hour"]
    assert up["abandon"]["24h"] == 0.0, up["abandon"]
    assert up["abandon"]["live_24h"] == 2  # "new", and "h" from 23 hours ago
    assert up["abandon"]["30d"] == 1 / 3  # the 30 days hold all three


def test_a_window_is_summed_from_its_first_whole_bucket():
    b = _Buckets()
    for t in (1019.5, 1020.0, 1079.0, 1080.0, 1999.0):
        b.add(t, LIVE)
    assert b.window(1019.0, 2000.0).live == 4  # the minute from 1020 on; 1019.5's minute began before 1019
    assert b.window(1020.0, 2000.0).live == 4  # a window starting on a whole minute takes that minute
    assert b.window(1021.0, 2000.0).live == 2  # up to a minute short, never long
    assert b.window(1021.0, 1079.9).live == 0
