"""What a supervisor changes survives a restart: a second daemon built on the same Redis prefix from the same config
comes back with the campaign stopped, its knobs and settings as they were set, and campaigns created through the API,
and dials nothing before it has read them; the config file wins over a stale override; DELETE .../overrides goes back
to the config file at once and for good; Redis failing at start holds dialing, failing at a move is said plainly."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sup_fakes import AUTH, TOKENS, Rig, cli_runner, live_server, make_rig, period_under_way_once_read, settings

from dialer.config import CampaignSettings, DialerSettings, PacingSettings
from dialer.daemon import OVERRIDES_HOLD, Daemon
from dialer.engine.core import DialRequest
from dialer.http import build_app
from dialer.leadsource import InMemoryLeadSource, LeadSource
from dialer.overrides import CampaignOverrides, loads, with_changes
from dialer.overrides_store import OverrideStore
from dialer.store import RedisStore, connect_redis
from dialer.supervisor.control import NOT_STORED, Supervisor
from dialer.supervisor.errors import Unavailable
from pacing import Decision, Mode, Reason

ADMIN, SUP, RO = AUTH["admin"], AUTH["supervisor"], AUTH["read-only"]


class Watched(Daemon):
    """The daemon, handing the test each pacing decision as it is made (so the test awaits it, never polls)."""

    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.paced: asyncio.Queue[Decision] = asyncio.Queue()

    async def _pace_once(self, campaign_id: str, source: LeadSource) -> None:
        await super()._pace_once(campaign_id, source)
        decisions = self.engine.campaigns[campaign_id].pacer.decisions
        if decisions:
            self.paced.put_nowait(decisions[-1])


def config(pacing: PacingSettings | None = None, **upsell: Any) -> DialerSettings:
    cs = CampaignSettings(id="upsell", name="Fiber upsell", pacing=pacing or PacingSettings(mode=Mode.POWER), **upsell)
    cfg = settings([cs])
    cfg.shutdown_grace_s = 0.0
    return cfg


async def winback_leads(cs: CampaignSettings, _redis: object) -> LeadSource:
    return InMemoryLeadSource(DialRequest(f"W{i}", f"+1555444{i:04d}") for i in range(50))


def rig_on(redis: Any, prefix: str, cfg: DialerSettings | None = None, **kw: Any) -> Rig:
    # time runs 100x slower than the wall clock: the pacing loop's 1-second timer never fires, so every decision
    # below is one something caused (an agent logging in, the read-back, a move)
    kw.setdefault("leads", 50)
    return make_rig(redis, cfg=cfg or config(), prefix=prefix, scale=0.01, daemon_cls=Watched,
                    leads_factory=winback_leads, **kw)


@contextlib.asynccontextmanager
async def running(rig: Rig, *, restored: bool = True) -> AsyncIterator[Rig]:
    stop = asyncio.Event()
    async with asyncio.TaskGroup() as tg:
        tg.create_task(rig.daemon.run(stop), name="daemon")
        await rig.daemon.ready.wait()
        if restored:
            await rig.daemon.overrides_ready.wait()
        try:
            yield rig
        finally:
            stop.set()


@contextlib.asynccontextmanager
async def api(rig: Rig) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=build_app(rig.daemon))
    async with httpx.AsyncClient(transport=transport, base_url="http://dialer") as c:
        yield c


def login(rig: Rig, n: int, campaign: str = "upsell") -> None:
    for i in range(n):
        rig.login(f"{campaign[0]}{i}", f"1{len(campaign)}{i:02d}", campaign)


async def stored(rig: Rig, campaign: str) -> CampaignOverrides | None:
    raw = await rig.store.r.hget(rig.store.key("overrides"), campaign)
    return None if raw is None else loads(campaign, raw)


def fresh() -> str:
    return f"ovr-{uuid.uuid4().hex[:12]}"  # the session's Redis may be a persistent $REDIS_URL


# ---------------------------------------------------------------------------------------------- restart
async def test_a_stop_knobs_and_edits_survive_a_restart_and_nothing_dials_before_they_are_read(redis, caplog):
    prefix = fresh()
    async with running(rig_on(redis, prefix)) as rig1, api(rig1) as c:
        r = await c.post("/api/campaigns/upsell/stop", headers=SUP)
        assert (r.json()["status"], r.json()["overrides"]["run_state"]["state"]) == ("stopped", "stopped")
        r = await c.patch("/api/campaigns/upsell/pacing", headers=SUP,
                          json={"target_abandon": 0.02, "mode": "predictive"})
        assert r.status_code == 200, r.text
        assert r.json()["overrides"]["pacing"]["target_abandon"] == {
            "value": 0.02, "configured": 0.025, "by": "supervisor-user", "at": pytest.approx(rig1.clock.now(), abs=1)}
        r = await c.patch("/api/campaigns/upsell", headers=ADMIN,
                          json={"ring_timeout_s": 25, "caller_id_name": "Fiber Team", "record_calls": True})
        view = r.json()["overrides"]
        assert (view["stored"], view["warning"], view["notes"]) == (True, None, [])
        assert view["settings"]["ring_timeout_s"]["configured"] == 20.0
        audit = (await c.get("/api/audit", headers=ADMIN)).json()
        assert [a["action"] for a in audit] == ["campaign.edit", "pacing.set", "campaign.stop"]
        assert all("stored" not in a["details"] for a in audit)

    caplog.set_level(logging.INFO, logger="dialer.daemon")
    rig2 = rig_on(redis, prefix)
    d2: Watched = rig2.daemon  # type: ignore[assignment]
    login(rig2, 4)  # 4 ready agents and 50 leads: a running power campaign would dial 4 at its first decision
    camp = rig2.engine.campaigns["upsell"]
    assert (camp.paused, camp.pacer.knobs.mode, camp.ring_timeout_s) == (False, Mode.POWER, 20.0)  # nothing read yet
    async with running(rig2, restored=False), api(rig2) as c:
        first = await d2.paced.get()
        assert (first.launch, first.reason) == (0, Reason.PAUSED)
        assert OVERRIDES_HOLD in first.detail
        await d2.overrides_ready.wait()
        woken = await d2.paced.get()  # the decision the read-back asked for
        assert (woken.launch, woken.reason, woken.mode) == (0, Reason.PAUSED, Mode.PREDICTIVE)
        assert all(d.launch == 0 for d in camp.pacer.decisions)
        assert rig2.ami.originates.empty()

        view = (await c.get("/api/campaigns/upsell", headers=RO)).json()
        assert (view["status"], view["pacing"]["mode"], view["pacing"]["target_abandon"]) == (
            "stopped", "predictive", 0.02)
        assert (view["ring_timeout_s"], view["caller_id_name"], view["amd"], view["record_calls"]) == (
            25.0, "Fiber Team", True, True)
        assert sorted(view["overrides"]["pacing"]) == ["mode", "target_abandon"]
        assert sorted(view["overrides"]["settings"]) == ["caller_id_name", "record_calls", "ring_timeout_s"]
        restored = [r.getMessage() for r in caplog.records if r.getMessage().startswith("supervisor changes restored")]
        assert len(restored) == 1
        assert restored[0].startswith('supervisor changes restored: stopped; pacing mode "predictive" (config '
                                      '"power"), target_abandon 0.02 (config 0.025); settings ')

        # started again, it dials with what was restored (predictive, few samples: progressive, one per agent)
        assert (await c.post("/api/campaigns/upsell/start", headers=SUP)).json()["status"] == "running"
        rig2.login("u9", "1999")  # one more agent: wakes the loop once more
        async with asyncio.timeout(10):
            dial = await rig2.ami.originates.get()
        assert dial.timeout_ms == 25_000
        assert ("CallerID", '"Fiber Team" <0000>') in dial.headers
        assert dict(dial.headers)["Variable"].endswith(",DIALER_RECORD=1")  # the edit to record calls, restored
    assert (await stored(rig2, "upsell")).run_state is None  # running is how it starts: no longer an override


async def test_a_campaign_created_through_the_api_is_there_after_a_restart(redis):
    prefix = fresh()
    async with running(rig_on(redis, prefix)) as rig1, api(rig1) as c:
        body = {"id": "winback", "name": "Win-back", "amd": False, "pacing": {"mode": "power", "ratio": 2.0}}
        r = await c.post("/api/campaigns", headers=ADMIN, json=body)
        assert r.status_code == 201, r.text
        assert (r.json()["status"], r.json()["overrides"]["created"], r.json()["overrides"]["run_state"]) == (
            "paused", True, None)
        r = await c.patch("/api/campaigns/winback/pacing", headers=SUP, json={"ratio": 3.0})
        assert r.json()["overrides"]["pacing"]["ratio"]["configured"] == 2.0  # against its creation settings
        r = await c.post("/api/campaigns/winback/start", headers=SUP)
        assert r.json()["overrides"]["run_state"]["state"] == "running"

    rig2 = rig_on(redis, prefix)
    async with running(rig2), api(rig2) as c:
        view = (await c.get("/api/campaigns/winback", headers=RO)).json()
        assert (view["name"], view["status"], view["amd"], view["pacing"]["mode"], view["pacing"]["ratio"]) == (
            "Win-back", "running", False, "power", 3.0)
        assert view["overrides"]["created"] is True
        assert rig2.daemon.configs["winback"].pacing.ratio == 2.0
        await period_under_way_once_read(rig2, "winback")
        login(rig2, 2, "winback")
        async with asyncio.timeout(10):
            dials = [await rig2.ami.originates.get() for _ in range(6)]  # power 3:1, 2 ready agents
        assert all(any("DIALER_CAMPAIGN=winback" in v for _k, v in d.headers) for d in dials)
        assert rig2.ami.originates.empty()
        # and going back to its creation settings keeps it (there is no config file to go back to)
        r = await c.delete("/api/campaigns/winback/overrides", headers=SUP)
        assert (r.json()["pacing"]["ratio"], r.json()["status"], r.json()["overrides"]["created"]) == (
            2.0, "running", True)
        r = await c.delete("/api/campaigns/winback/overrides", headers=SUP, params={"run_state": "config"})
        assert r.json()["status"] == "paused"  # as it was created
    assert (await stored(rig2, "winback")).created is not None


async def test_a_config_file_change_to_an_overridden_knob_wins(redis, caplog):
    prefix = fresh()
    async with running(rig_on(redis, prefix)) as rig1, api(rig1) as c:
        r = await c.patch("/api/campaigns/upsell/pacing", headers=SUP, json={"target_abandon": 0.02, "ratio": 2.0})
        assert r.status_code == 200, r.text

    caplog.set_level(logging.INFO, logger="dialer.daemon")
    edited = config(PacingSettings(mode=Mode.POWER, target_abandon=0.015))  # the operator changed the file
    rig2 = rig_on(redis, prefix, edited)
    async with running(rig2), api(rig2) as c:
        knobs = rig2.engine.campaigns["upsell"].pacer.knobs
        assert (knobs.target_abandon, knobs.ratio) == (0.015, 2.0)  # the file's target; the untouched ratio stays
        view = (await c.get("/api/campaigns/upsell", headers=RO)).json()["overrides"]
        assert list(view["pacing"]) == ["ratio"]
        [note] = view["notes"]
        assert note == ("campaign upsell: pacing.target_abandon: the config file now says 0.015, it said 0.025 when "
                        "0.02 was set (set by supervisor-user): the config file wins, the override is dropped")
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING and r.getMessage() == note]
    assert len(warnings) == 1
    assert warnings[0].campaign_id == "upsell"
    assert list((await stored(rig2, "upsell")).pacing) == ["ratio"]

    # the file reverted: the dropped override stays dropped
    rig3 = rig_on(redis, prefix)
    async with running(rig3):
        assert rig3.engine.campaigns["upsell"].pacer.knobs.target_abandon == 0.025


async def test_overrides_of_a_campaign_gone_from_the_config_file_are_dropped(redis, caplog):
    prefix = fresh()
    seed = OverrideStore(RedisStore(redis, prefix=prefix))
    gone = CampaignSettings(id="retired")
    await seed.write("retired", lambda: with_changes(None, "pacing", {"ratio": 2.0},
                                                     gone.pacing.model_dump(mode="json"), by="s", at=1.0))
    caplog.set_level(logging.WARNING, logger="dialer.daemon")
    rig = rig_on(redis, prefix)
    async with running(rig):
        assert "retired" not in rig.engine.campaigns
    assert any(r.getMessage().startswith("campaign retired is no longer in the config file") for r in caplog.records)
    assert await stored(rig, "retired") is None


# ---------------------------------------------------------------------------------------------- DELETE .../overrides
async def test_delete_overrides_restores_the_configured_knobs_at_once_and_after_a_restart(redis):
    prefix = fresh()
    async with running(rig_on(redis, prefix)) as rig1, api(rig1) as c:
        await c.patch("/api/campaigns/upsell/pacing", headers=SUP, json={"ratio": 2.5, "max_channels": 40})
        await c.patch("/api/campaigns/upsell", headers=ADMIN, json={"amd": False, "name": "Paused for audit"})
        await c.post("/api/campaigns/upsell/stop", headers=SUP)
        assert (await c.delete("/api/campaigns/upsell/overrides", headers=RO)).status_code == 403
        r = await c.delete("/api/campaigns/upsell/overrides", headers=SUP)
        assert r.status_code == 200, r.text
        view = r.json()
        camp = rig1.engine.campaigns["upsell"]
        assert (camp.pacer.knobs.ratio, camp.pacer.knobs.max_channels, camp.amd) == (1.0, 200, True)
        assert (view["name"], view["status"]) == ("Fiber upsell", "stopped")  # the run state is kept by default
        assert (view["overrides"]["pacing"], view["overrides"]["settings"]) == ({}, {})
        assert view["overrides"]["run_state"]["state"] == "stopped"
        [entry, *_] = (await c.get("/api/audit", headers=ADMIN)).json()
        assert (entry["action"], entry["details"]["run_state"]) == ("campaign.revert", "keep")
        assert sorted(entry["details"]["dropped"]["pacing"]) == ["max_channels", "ratio"]

    rig2 = rig_on(redis, prefix)
    async with running(rig2), api(rig2) as c:
        camp = rig2.engine.campaigns["upsell"]
        assert (camp.pacer.knobs.ratio, camp.pacer.knobs.max_channels, camp.amd, camp.paused) == (1.0, 200, True, True)
        assert rig2.daemon.names["upsell"] == "Fiber upsell"
        r = await c.delete("/api/campaigns/upsell/overrides", headers=SUP, params={"run_state": "config"})
        assert (r.json()["status"], r.json()["overrides"]["run_state"]) == ("running", None)
        assert (await c.delete("/api/campaigns/upsell/overrides", headers=SUP,
                               params={"run_state": "resume"})).status_code == 422
        assert (await c.delete("/api/campaigns/nope/overrides", headers=SUP)).status_code == 404
    assert await stored(rig2, "upsell") is None


# ---------------------------------------------------------------------------------------------- Redis failing
async def test_until_redis_answers_at_start_no_campaign_dials_and_moves_wait(redis_url, monkeypatch, caplog):
    caplog.set_level(logging.WARNING, logger="dialer.daemon")
    monkeypatch.setattr(Supervisor, "restore_wait_s", 0.05)
    prefix = fresh()
    good = connect_redis(redis_url)
    down = connect_redis("redis://127.0.0.1:1/0")
    try:
        cfg = config()
        base = cfg.campaigns[0].pacing.model_dump(mode="json")
        await OverrideStore(RedisStore(good, prefix=prefix)).write(
            "upsell", lambda: with_changes(None, "pacing", {"ratio": 2.0}, base, by="s", at=1.0))
        rig = rig_on(down, prefix, cfg)
        d: Watched = rig.daemon  # type: ignore[assignment]
        d.ledger_warn_after_s = 0.01
        login(rig, 4)
        async with running(rig, restored=False), api(rig) as c:
            held = await d.paced.get()
            assert (held.launch, held.reason, held.detail) == (0, Reason.PAUSED, OVERRIDES_HOLD)
            rig.login("a9", "1999")  # more agents ready: still nothing
            held = await d.paced.get()
            assert (held.launch, held.ready_agents, held.detail) == (0, 5, OVERRIDES_HOLD)
            view = (await c.get("/api/campaigns/upsell", headers=RO)).json()
            assert view["overrides"]["warning"] == OVERRIDES_HOLD
            assert view["last_decision"]["why"] == f"not dialing because: campaign paused ({OVERRIDES_HOLD})"
            r = await c.post("/api/campaigns/upsell/stop", headers=SUP)
            assert r.status_code == 503
            assert "try again once Redis answers" in r.json()["detail"]
            with pytest.raises(Unavailable):
                Supervisor(d).patch_knobs("upsell", {"ratio": 3.0})
            assert not rig.engine.campaigns["upsell"].paused
            assert rig.ami.originates.empty()

            d.store.r = good  # Redis is back
            await d.overrides_ready.wait()
            await period_under_way_once_read(rig)
            async with asyncio.timeout(10):
                dials = [await rig.ami.originates.get() for _ in range(10)]  # power 2:1 as restored, 5 ready
            assert len(dials) == 10
        assert any("cannot read the supervisor's stored changes from Redis yet" in r.getMessage()
                   for r in caplog.records)
    finally:
        await good.aclose()
        await down.aclose()


async def test_an_unreadable_record_starts_its_campaign_paused(redis, caplog):
    prefix = fresh()
    await redis.hset(f"{prefix}:overrides", "upsell", '{"run_state": {"state": "halted"}}')
    caplog.set_level(logging.ERROR, logger="dialer.daemon")
    rig = rig_on(redis, prefix)
    async with running(rig), api(rig) as c:
        view = (await c.get("/api/campaigns/upsell", headers=RO)).json()
        assert view["status"] == "paused"
        [note] = view["overrides"]["notes"]
        assert "stored supervisor changes of campaign upsell are unreadable (run_state.state" in note
        assert "starts paused" in note
        r = await c.post("/api/campaigns/upsell/stop", headers=SUP)  # a supervisor takes it in hand: a fresh record
        assert r.json()["overrides"]["stored"] is True
    assert any(r.levelno == logging.ERROR and "unreadable" in r.getMessage() for r in caplog.records)
    assert (await stored(rig, "upsell")).run_state.state == "stopped"


async def test_a_move_redis_does_not_take_applies_and_says_it_will_not_survive_a_restart(redis, redis_url):
    prefix = fresh()
    down = connect_redis("redis://127.0.0.1:1/0")
    try:
        rig = rig_on(redis, prefix)
        async with running(rig), api(rig) as c:
            rig.daemon.store.r = down
            r = await c.patch("/api/campaigns/upsell/pacing", headers=SUP, json={"ratio": 3.0})
            assert r.status_code == 200
            assert rig.engine.campaigns["upsell"].pacer.knobs.ratio == 3.0
            assert (r.json()["overrides"]["stored"], r.json()["overrides"]["warning"]) == (False, NOT_STORED)
            assert "restart" in NOT_STORED
            registry = rig.daemon.metrics.registry
            rig.daemon._update_gauges()
            assert registry.get_sample_value("dialer_overrides_unstored", {"campaign": "upsell"}) == 1.0
            rig.daemon.store.r = redis  # back: the queued write lands
            await rig.store.flush()
            view = (await c.get("/api/campaigns/upsell", headers=RO)).json()["overrides"]
            assert (view["stored"], view["warning"]) == (True, None)
            rig.daemon._update_gauges()
            assert registry.get_sample_value("dialer_overrides_unstored", {"campaign": "upsell"}) == 0.0
        assert (await stored(rig, "upsell")).pacing["ratio"].value == 3.0
    finally:
        await down.aclose()


# ---------------------------------------------------------------------------------------------- CLI
async def test_cli_shows_and_reverts_what_survives_a_restart(redis):
    rig = make_rig(redis, cfg=config())
    async with live_server(build_app(rig.daemon)) as url:
        run = cli_runner(url, TOKENS["supervisor"])
        await run("pacing", "set", "upsell", "--ratio", "2")
        assert await run("campaign", "stop", "upsell") == "upsell: stopped\n"
        shown = await run("campaign", "show", "upsell")
        assert "  kept across restarts: stopped by supervisor-user; ratio 2.0 (config 1.0)\n" in shown
        reverted = await run("campaign", "revert", "upsell")
        assert "upsell (Fiber upsell): stopped" in reverted
        assert "  kept across restarts: stopped by supervisor-user\n" in reverted
        got = json.loads(await run("campaign", "revert", "upsell", "--run-state", "config", "--json"))
        assert (got["status"], got["overrides"]["run_state"]) == ("running", None)
        assert "kept across restarts: nothing (the config file applies)" in await run("campaign", "show", "upsell")
    assert rig.engine.campaigns["upsell"].pacer.knobs.ratio == 1.0
