"""`[ami] setup_allowance_s`: the call set-up (post-dial delay) an Originate's `Timeout` allows on top of the
campaign's ring timeout, since Asterisk counts `Timeout` from the channel request. It was a constant (8 s), so an
operator whose carrier is slow to report ringing could not raise it; it is a validated setting now, 8 s unless
set, and the daemon's Originates carry it."""

from __future__ import annotations

from pathlib import Path

import pytest
from bus_fakes import FakeBus
from daemon_fakes import OriginateCapture

from dialer.ami import actions
from dialer.clock import ScaledClock
from dialer.config import CampaignSettings, DialerSettings, HttpSettings, MetricsSettings, load_settings
from dialer.daemon import Daemon, runtime_from_settings
from dialer.engine.commands import Originate
from dialer.engine.core import Engine
from dialer.errors import ConfigError
from dialer.leadsource import InMemoryLeadSource
from dialer.metrics import Metrics
from dialer.store import RedisStore

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _originate_with(settings: DialerSettings, client: object) -> actions.OriginateAction:
    """The Originate the daemon sends for one 20 s dial of campaign c under `settings`."""
    cs = CampaignSettings(id="c", ring_timeout_s=20)
    cfg = settings.model_copy(update={"campaigns": [cs], "http": HttpSettings(enabled=False),
                                      "metrics": MetricsSettings(enabled=False)})
    engine = Engine()
    engine.add_campaign(runtime_from_settings(cs))
    ami = OriginateCapture()
    d = Daemon(cfg, clock=ScaledClock(1.0), engine=engine, ami=ami,  # type: ignore[arg-type]
               store=RedisStore(client, prefix="setupallow"), bus=FakeBus(),  # type: ignore[arg-type]
               leads={"c": InMemoryLeadSource()}, metrics=Metrics())
    d.execute([Originate("c-1-abcdef", "c", "L1", "+15550000001", True, 20.0, "Acme", "2125550100")], 0.0)
    [action] = ami.originates
    return action


async def test_the_originate_allows_the_configured_set_up_on_top_of_the_ring_timeout(tmp_path, client):
    cfg = tmp_path / "dialer.toml"
    cfg.write_text("[ami]\nsetup_allowance_s = 14.5\n")
    action = _originate_with(load_settings(cfg), client)
    assert dict(action.headers)["Timeout"] == "34500"
    assert (action.timeout_ms, action.setup_ms, action.wait_ms) == (20_000, 14_500, 34_500)


async def test_unset_it_is_eight_seconds_as_before(client):
    assert DialerSettings().ami.setup_allowance_s == 8.0 == actions.SETUP_ALLOWANCE_MS / 1000
    assert load_settings(EXAMPLES / "dialer.toml").ami.setup_allowance_s == 8.0
    action = _originate_with(DialerSettings(), client)
    assert dict(action.headers)["Timeout"] == str(20_000 + actions.SETUP_ALLOWANCE_MS)


def test_the_environment_sets_it_too(monkeypatch):
    monkeypatch.setenv("DIALER_AMI__SETUP_ALLOWANCE_S", "20")
    assert load_settings(None).ami.setup_allowance_s == 20.0


@pytest.mark.parametrize("value", ["1.5", "0", "-8", "31", "600", "nan", "inf", "'slow'"])
def test_out_of_range_is_refused_naming_the_setting_and_the_range(tmp_path, value):
    cfg = tmp_path / "dialer.toml"
    cfg.write_text(f"[ami]\nsetup_allowance_s = {value}\n")
    with pytest.raises(ConfigError) as info:
        load_settings(cfg)
    message = str(info.value)
    assert message.startswith(f"{cfg}: setting ami.setup_allowance_s: ")
    assert "\n" not in message
    if value not in ("nan", "inf", "'slow'"):  # pydantic's own words for those: not a finite number
        assert "between 2 and 30 s" in message
        assert "post-dial delay" in message


def test_the_bounds_themselves_are_accepted(tmp_path):
    for value in (2, 30):
        cfg = tmp_path / "dialer.toml"
        cfg.write_text(f"[ami]\nsetup_allowance_s = {value}\n")
        assert load_settings(cfg).ami.setup_allowance_ms == value * 1000
