"""Acceptance: a running daemon (its pacing loop, real Redis, a fake AMI port) takes a pacing change made through
the API or the CLI on its very next pacing decision; the wallboard streams the change."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
from collections.abc import AsyncIterator

import httpx
import pytest
from sup_fakes import AUTH, TOKENS, Rig, cli_runner, live_server, make_rig, period_under_way, settings

from agents import commands as ac
from dialer.http import build_app
from dialer.supervisor import cli

SUP = AUTH["supervisor"]


@contextlib.asynccontextmanager
async def running(redis, agents: int = 4) -> AsyncIterator[Rig]:
    cfg = settings()
    cfg.shutdown_grace_s = 0.0
    # Time runs 100x slower than the wall clock, so the pacing loop's 1-second timer never fires during the
    # test: every decision below is one the test caused (an agent logging in, a knob change).
    rig = make_rig(redis, cfg=cfg, leads=200, scale=0.01)
    stop = asyncio.Event()
    async with asyncio.TaskGroup() as tg:
        tg.create_task(rig.daemon.run(stop), name="daemon")
        await rig.daemon.ready.wait()
        # the ledger's read-back wakes the pacing loop once more: let that decision come before the test's
        await rig.daemon.ledger_ready["upsell"].wait()
        for i in range(agents):
            rig.login(f"a{i}", f"10{i}")
        await originates(rig, agents)  # power 1:1 -> one dial per ready agent
        try:
            yield rig
        finally:
            stop.set()


async def originates(rig: Rig, n: int) -> list[str]:
    out = []
    async with asyncio.timeout(10):
        for _ in range(n):
            out.append((await rig.ami.originates.get()).call_id)
    return out


async def test_pacing_change_through_the_api_takes_effect_on_the_next_decision(redis):
    async with running(redis) as rig, live_server(build_app(rig.daemon)) as url:
        pacer = rig.engine.campaigns["upsell"].pacer
        period_under_way(rig)
        n = len(pacer.decisions)
        async with httpx.AsyncClient(base_url=url) as c:
            r = await c.patch("/api/campaigns/upsell/pacing", headers=SUP, json={"ratio": 2.0})
        assert r.status_code == 200, r.text
        await originates(rig, 4)  # floor(4 x 2.0) - 4 in flight
        first = pacer.decisions[n]
        assert (first.launch, first.in_flight, first.ready_agents) == (4, 4, 4)
        assert rig.ami.originates.empty()


async def test_pacing_change_through_the_cli_takes_effect_on_the_next_decision(redis):
    async with running(redis) as rig, live_server(build_app(rig.daemon)) as url:
        pacer = rig.engine.campaigns["upsell"].pacer
        period_under_way(rig)
        n = len(pacer.decisions)
        out, err = io.StringIO(), io.StringIO()
        argv = ["pacing", "set", "upsell", "--ratio", "2.2", "--url", url, "--token", TOKENS["supervisor"]]
        code = await asyncio.to_thread(cli.main, argv, out=out, err=err)
        assert (code, err.getvalue()) == (0, "")
        assert out.getvalue() == "upsell: ratio 1.0 -> 2.2; the next pacing decision uses it\n"
        await originates(rig, 4)  # floor(4 x 2.2) - 4
        assert pacer.decisions[n].launch == 4
        # and the decision log says so
        out = io.StringIO()
        argv = ["pacing", "log", "upsell", "--limit", "3", "--url", url, "--token", TOKENS["supervisor"]]
        assert await asyncio.to_thread(cli.main, argv, out=out) == 0
        assert "dialing 4 (power; 4 ready, 4 in flight" in out.getvalue()


async def test_the_wallboard_stream_pushes_a_snapshot_and_then_the_change(redis):
    ro = AUTH["read-only"]
    async with running(redis) as rig, live_server(build_app(rig.daemon)) as url, \
            httpx.AsyncClient(base_url=url, timeout=10) as c, c.stream("GET", "/api/wallboard/stream", headers=ro) as s:
        assert s.headers["content-type"].startswith("text/event-stream")
        events = sse(s)
        first = await anext(events)
        [camp] = first["campaigns"]
        assert (camp["id"], camp["pacing"]["ratio"], camp["calls"]["ringing"]) == ("upsell", 1.0, 4)
        assert {a["state"] for a in first["agents"]} == {"ready"}
        assert first["campaigns"][0]["hopper"]["depth"] == 196
        r = await c.patch("/api/campaigns/upsell/pacing", headers=SUP, json={"ratio": 3.0})
        assert r.status_code == 200
        async with asyncio.timeout(10):
            while (snap := await anext(events))["campaigns"][0]["pacing"]["ratio"] != 3.0:
                pass
        assert snap["campaigns"][0]["pacing"]["ratio"] == 3.0


async def sse(stream: httpx.Response) -> AsyncIterator[dict]:
    event, data = "", []
    async for line in stream.aiter_lines():
        if line.startswith("event:"):
            event = line[6:].strip()
        elif line.startswith("data:"):
            data.append(line[5:].strip())
        elif line == "" and data:
            if event == "snapshot":
                yield json.loads("\n".join(data))
            event, data = "", []


CLI_ERRORS = [
    (["pacing", "set", "upsell", "--ratio", "0.5"], "body.ratio: Input should be greater than or equal to 1"),
    (["pacing", "set", "nope", "--ratio", "2"], "no campaign 'nope'"),
    (["pacing", "set", "upsell"], "nothing to change"),
    (["campaign", "start", "upsell", "--token", "wrong"], "not authorised"),
    (["campaign", "create", "x"], "not allowed: token 'supervisor-user' has role supervisor"),
    (["agents", "listen", "a1", "--extension", "2001"], "not on a call"),
]


async def test_cli_errors_say_what_is_wrong_and_exit_1(redis):
    rig = make_rig(redis)
    rig.login("a1", "1001")
    async with live_server(build_app(rig.daemon)) as url:
        for argv, words in CLI_ERRORS:
            full = [*argv, "--url", url] + ([] if "--token" in argv else ["--token", TOKENS["supervisor"]])
            out, err = io.StringIO(), io.StringIO()
            code = await asyncio.to_thread(cli.main, full, out=out, err=err)
            assert code == 1, argv
            assert words in err.getvalue()
            assert err.getvalue().count("\n") == 1
    assert rig.engine.campaigns["upsell"].pacer.knobs.ratio == 1.0
    out, err = io.StringIO(), io.StringIO()
    code = await asyncio.to_thread(cli.main, ["status", "--url", url, "--token", "t"], out=out, err=err)
    assert code == 1
    assert "cannot reach the dialer API" in err.getvalue()


async def test_cli_everyday_commands(redis):
    rig = make_rig(redis)
    rig.login("a1", "1001")
    rig.login("a2", "1002")
    rig.engine.decide("upsell", rig.clock.now(), 0)
    async with live_server(build_app(rig.daemon)) as url:
        run = cli_runner(url, TOKENS["supervisor"])
        status = await run("status")
        assert "agents: 2 ready" in status
        assert "not dialing because: hopper empty" in status
        assert "upsell" in await run("campaign", "list")
        assert await run("campaign", "pause", "upsell") == "upsell: paused\n"
        assert "upsell (Fiber upsell): paused" in await run("campaign", "show", "upsell")
        assert await run("campaign", "start", "upsell") == "upsell: running\n"
        assert "ratio" in await run("pacing", "show", "upsell")
        listing = await run("agents", "list")
        assert "a1" in listing
        assert "ready" in listing
        assert await run("agents", "pause", "a2", "--reason", "coaching") == "a2: paused\n"
        assert await run("agents", "logout", "a2") == "a2: logged_out\n"
        assert json.loads(await run("agents", "list", "--json"))[0]["id"] == "a1"
        assert rig.engine.roster.get("a2").state.value == "logged_out"


async def test_cli_campaign_edit_changes_recording_and_wrapup_settings(redis):
    rig = make_rig(redis)
    async with live_server(build_app(rig.daemon)) as url:
        run = cli_runner(url, TOKENS["admin"])
        got = json.loads(await run("campaign", "edit", "upsell", "--record", "on", "--wrapup-timeout", "90",
                                   "--after-wrapup-timeout", "ready", "--late-disposition", "60", "--json"))
        assert (got["record_calls"], got["wrapup_timeout_s"], got["after_wrapup_timeout"],
                got["late_disposition_s"]) == (True, 90.0, "ready", 60.0)
        camp = rig.engine.campaigns["upsell"]
        assert (camp.record_calls, camp.wrapup_timeout_s, camp.after_wrapup_timeout, camp.late_disposition_s) == (
            True, 90.0, "ready", 60.0)
        out, err = io.StringIO(), io.StringIO()
        argv = ["campaign", "edit", "upsell", "--record", "maybe", "--url", url, "--token", TOKENS["admin"]]
        with pytest.raises(SystemExit) as exited:  # argparse's own usage error
            await asyncio.to_thread(cli.main, argv, out=out, err=err)
        assert exited.value.code == 2
        assert camp.record_calls is True


async def test_a_campaign_created_through_the_api_dials_once_started(redis):
    """The daemon's own `add_campaign`: created paused, then started through the API, it dials."""
    from dialer.engine.core import DialRequest
    from dialer.leadsource import InMemoryLeadSource

    async def leads(cs, _redis):
        return InMemoryLeadSource(DialRequest(f"W{i}", f"+1555444{i:04d}") for i in range(50))

    cfg = settings()
    cfg.shutdown_grace_s = 0.0
    rig = make_rig(redis, cfg=cfg, scale=0.01, leads_factory=leads)
    stop = asyncio.Event()
    async with asyncio.TaskGroup() as tg:
        tg.create_task(rig.daemon.run(stop), name="daemon")
        await rig.daemon.ready.wait()
        try:
            async with live_server(build_app(rig.daemon)) as url, httpx.AsyncClient(base_url=url) as c:
                body = {"id": "winback", "name": "Win-back", "pacing": {"mode": "progressive"}}
                r = await c.post("/api/campaigns", headers=AUTH["admin"], json=body)
                assert r.status_code == 201, r.text
                assert r.json()["status"] == "paused"
                rig.daemon.agent_command(ac.Login("w1", "2001", "winback"))
                rig.daemon.agent_command(ac.Ready("w1"))
                assert rig.ami.originates.empty()  # paused: no dial
                r = await c.post("/api/campaigns/winback/start", headers=AUTH["supervisor"])
                assert r.json()["status"] == "running"
                [call_id] = await originates(rig, 1)
                assert rig.daemon.engine.calls[call_id].campaign_id == "winback"
                dup = await c.post("/api/campaigns", headers=AUTH["admin"], json=body)
                assert dup.status_code == 409
        finally:
            stop.set()
