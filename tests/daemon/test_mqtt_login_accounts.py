"""A login over MQTT carries no password: where agent accounts are configured it must name one, with its own
phone (and campaign, for an account tied to one), or a client could have another agent's calls ring its phone."""

from __future__ import annotations

import json
import random
from typing import Any

from bus_fakes import CommandBus
from daemon_fakes import FakeAmi, stopping
from pydantic import SecretStr

from dialer.clock import ScaledClock
from dialer.config import AgentAccount, CampaignSettings, DialerSettings, HttpSettings, MetricsSettings
from dialer.daemon import Daemon, runtime_from_settings
from dialer.engine.core import Engine
from dialer.leadsource import InMemoryLeadSource
from dialer.metrics import Metrics
from dialer.store import RedisStore

T0 = 1_795_000_000.0
ACCOUNTS = [AgentAccount(id="ann", extension="1001", password=SecretStr("pw-ann-1")),
            AgentAccount(id="bob", extension="1002", password=SecretStr("pw-bob-1"), campaign="uk")]


def make_daemon(client: Any, prefix: str, accounts: list[AgentAccount]) -> tuple[Daemon, CommandBus]:
    camps = [CampaignSettings(id="uk"), CampaignSettings(id="us")]
    cfg = DialerSettings(campaigns=camps, agents=accounts, http=HttpSettings(enabled=False),
                         metrics=MetricsSettings(enabled=False))
    engine = Engine(hold_s=1.5, rng=random.Random(3))
    for cs in camps:
        engine.add_campaign(runtime_from_settings(cs))
    bus = CommandBus()
    d = Daemon(cfg, clock=ScaledClock(1.0, start=T0), engine=engine, ami=FakeAmi(),  # type: ignore[arg-type]
               store=RedisStore(client, prefix=prefix), bus=bus,  # type: ignore[arg-type]
               leads={"uk": InMemoryLeadSource([]), "us": InMemoryLeadSource([])}, metrics=Metrics())
    return d, bus


def login(bus: CommandBus, agent_id: str, extension: str, campaign: str) -> None:
    body = {"type": "login", "extension": extension, "campaign_id": campaign}
    bus.commands.put_nowait((agent_id, json.dumps(body).encode()))


async def test_a_login_must_name_an_account_its_phone_and_its_campaign(client):
    d, bus = make_daemon(client, "mqttlogin1", ACCOUNTS)
    stop, task = await stopping(d)
    try:
        login(bus, "ann", "1002", "uk")  # bob's phone
        login(bus, "mallory", "1003", "uk")  # no such account
        login(bus, "bob", "1002", "us")  # bob works uk only
        login(bus, "ann", "1001", "us")  # all in order
        await bus.published_where(lambda p: p.get("kind") == "state" and p.get("state") == "paused")
    finally:
        stop.set()
        await task
    errors = [p["error"] for _t, p in bus.published if p.get("kind") == "error"]
    assert errors == [
        "extension 1002 is not ann's phone (1001): their calls would ring someone else's; log in with their own "
        "extension",
        "mallory is not a configured agent: add their account ([[agents]]) to log them in",
        "bob works campaign uk, not us",
    ]
    assert [a.agent_id for a in d.engine.roster.of_campaign("us")] == ["ann"]
    assert d.engine.roster.get("bob") is None
    assert d.engine.roster.get("mallory") is None


async def test_without_accounts_any_login_goes_as_in_a_simulated_shift(client):
    d, bus = make_daemon(client, "mqttlogin2", [])
    stop, task = await stopping(d)
    try:
        login(bus, "sim7", "1107", "uk")
        await bus.published_where(lambda p: p.get("kind") == "state" and p.get("state") == "paused")
    finally:
        stop.set()
        await task
    assert d.engine.roster.get("sim7") is not None
