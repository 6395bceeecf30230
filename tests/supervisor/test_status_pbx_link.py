"""`dialer status` and `/api/status` say whether the PBX (AMI) link is up: the headline said `dialing at ...`
(only "not stopping") while AMI was down and every campaign said `not dialing because: PBX connection down or
resyncing`."""

from __future__ import annotations

import asyncio
import io
from datetime import datetime

import httpx
from sup_fakes import AUTH, TOKENS, Rig, live_server

from dialer.ami import events as ev
from dialer.http import build_app
from dialer.supervisor import cli

RO = AUTH["read-only"]


def _lose_ami(rig: Rig) -> float:
    lost_at = rig.clock.now()
    rig.ami.connected = False  # type: ignore[attr-defined]  # the client is reconnecting
    rig.engine.on_ami(ev.AmiDisconnected("Asterisk closed the connection"), lost_at)
    return lost_at


async def test_status_says_the_link_is_down_since_it_was_lost_then_resyncing_then_up(
        client: httpx.AsyncClient, rig: Rig) -> None:
    assert (await client.get("/api/status", headers=RO)).json()["pbx"] == {"link": "up", "since": None, "why": ""}
    lost_at = _lose_ami(rig)
    pbx = (await client.get("/api/status", headers=RO)).json()["pbx"]
    assert pbx["link"] == "down"
    assert pbx["since"] == lost_at
    assert pbx["why"].startswith("AMI connection lost (Asterisk closed the connection)")
    rig.ami.connected = True  # type: ignore[attr-defined]  # logged in again: the resync runs
    rig.engine.on_ami(ev.AmiConnected(reconnect=True), rig.clock.now())
    assert (await client.get("/api/status", headers=RO)).json()["pbx"]["link"] == "resyncing"
    rig.engine.resync([], rig.clock.now())
    assert (await client.get("/api/status", headers=RO)).json()["pbx"]["link"] == "up"


async def test_cli_status_headline_says_running_and_the_link_down_not_dialing(rig: Rig) -> None:
    lost_at = _lose_ami(rig)
    async with live_server(build_app(rig.daemon)) as url:
        def run() -> str:
            out, err = io.StringIO(), io.StringIO()
            assert cli.main(["status", "--url", url, "--token", TOKENS["read-only"]], out=out, err=err) == 0, \
                err.getvalue()
            return out.getvalue()

        text = await asyncio.to_thread(run)
    headline = text.splitlines()[0]
    since = datetime.fromtimestamp(lost_at).astimezone().strftime("%H:%M:%S")
    assert headline.startswith("dialer: running at "), headline
    assert f"; PBX link down since {since} (no new dials); agents: " in headline, headline
    assert "dialing" not in headline
