"""`GET /api/state-store`, `POST /api/state-store/acknowledge-loss` and `dialer store show | acknowledge-loss`:
after Redis lost the daemon's data every campaign's decision says why it dials nothing, and a supervisor (not
a read-only token) lifts the hold, audited."""

from __future__ import annotations

import httpx
from sup_fakes import AUTH, Rig, cli_runner, live_server, period_under_way

from dialer.http import build_app
from dialer.store import DataEpoch
from pacing import Reason


async def lose_data(rig: Rig) -> None:
    """The daemon's marker claimed, then gone from Redis (as after a restart with nothing on disk), and seen."""
    d = rig.daemon
    d.store_epoch = await rig.store.claim_epoch(DataEpoch.new(rig.clock.now()))
    await rig.store.r.delete(rig.store.key("epoch"))
    assert not await d.check_store_epoch()


async def test_a_loss_shows_in_the_status_and_a_supervisor_acknowledges_it(rig: Rig, client: httpx.AsyncClient):
    period_under_way(rig)
    rig.login("a1", "1001")
    await lose_data(rig)
    await rig.daemon._pace_once("upsell", rig.leads["upsell"])
    status = (await client.get("/api/status", headers=AUTH["read-only"])).json()
    [camp] = status["campaigns"]
    assert camp["why"].startswith(f"not dialing because: {Reason.STATE_STORE_LOST.value}")
    got = (await client.get("/api/state-store", headers=AUTH["read-only"])).json()
    assert got["dialing_held"]
    assert got["data_lost"]["found"] == "nothing"

    r = await client.post("/api/state-store/acknowledge-loss", headers=AUTH["read-only"], json={})
    assert r.status_code == 403
    assert rig.daemon.store_loss is not None
    r = await client.post("/api/state-store/acknowledge-loss", headers=AUTH["supervisor"],
                          json={"note": "DNC list imported again"})
    assert r.status_code == 200
    assert r.json()["acknowledged"]
    assert not r.json()["dialing_held"]
    assert rig.daemon.store_loss is None
    audit = (await client.get("/api/audit", headers=AUTH["admin"])).json()
    [entry] = [e for e in audit if e["action"] == "state_store.acknowledge_loss"]
    assert entry["details"]["note"] == "DNC list imported again"
    r = await client.post("/api/state-store/acknowledge-loss", headers=AUTH["supervisor"])
    assert r.json() == {"acknowledged": False, "loss": None, "dialing_held": False}
    await rig.daemon._pace_once("upsell", rig.leads["upsell"])
    assert rig.engine.campaigns["upsell"].pacer.decisions[-1].reason is not Reason.STATE_STORE_LOST


async def test_an_acknowledgement_redis_cannot_confirm_changes_nothing(rig: Rig, client: httpx.AsyncClient):
    await lose_data(rig)
    await rig.store.r.set(rig.store.key("epoch"), DataEpoch.new(0.0).dumps())  # replaced again meanwhile
    r = await client.post("/api/state-store/acknowledge-loss", headers=AUTH["supervisor"])
    assert r.status_code == 503
    assert "again" in r.json()["detail"]
    assert rig.daemon.store_loss is not None


async def test_the_cli_shows_and_acknowledges(rig: Rig):
    from sup_fakes import TOKENS

    await lose_data(rig)
    async with live_server(build_app(rig.daemon)) as url:
        run = cli_runner(url, TOKENS["supervisor"])
        assert "DATA LOST" in await run("store", "show")
        assert "acknowledged" in await run("store", "acknowledge-loss", "--note", "restored from backup")
        assert "DATA LOST" not in await run("store", "show")
    assert rig.daemon.store_loss is None
