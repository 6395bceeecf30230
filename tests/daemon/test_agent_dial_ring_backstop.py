"""An agent's own dial (preview, manual) sends `DIALER_RING_S` = the campaign's ring timeout plus the set-up
allowance (`[ami] setup_allowance_s`): `Dial()` in dialer-agent-dial counts it from the channel request, as an
Originate's `Timeout`, so it is only the backstop; the engine hangs the customer leg up once it has rung the ring
timeout since its first ring (tests/engine/test_agent_first_ring_limit.py). With the bare ring timeout the
carrier's set-up came out of the customer's ringing, which could then last less than the 15 s the law asks."""

from __future__ import annotations

import pytest
from bus_fakes import FakeBus
from daemon_fakes import OriginateCapture

from dialer.ami import actions
from dialer.clock import ScaledClock
from dialer.config import AmiSettings, CampaignSettings, DialerSettings, HttpSettings, MetricsSettings
from dialer.daemon import Daemon, runtime_from_settings
from dialer.engine.commands import OriginateAgentFirst
from dialer.engine.core import Engine
from dialer.leadsource import InMemoryLeadSource
from dialer.metrics import Metrics
from dialer.store import RedisStore


@pytest.mark.parametrize(("allowance", "ring_s"), [(None, "28"), (12.5, "33")])
async def test_the_agent_dial_s_ring_limit_in_the_dialplan_is_the_ring_timeout_plus_the_set_up_allowance(
        client, allowance, ring_s):
    cs = CampaignSettings(id="c", ring_timeout_s=20)
    ami_settings = AmiSettings() if allowance is None else AmiSettings(setup_allowance_s=allowance)
    assert ami_settings.setup_allowance_ms == (actions.SETUP_ALLOWANCE_MS if allowance is None else 12_500)
    cfg = DialerSettings(campaigns=[cs], ami=ami_settings, http=HttpSettings(enabled=False),
                         metrics=MetricsSettings(enabled=False))
    engine = Engine()
    engine.add_campaign(runtime_from_settings(cs))
    ami = OriginateCapture()
    d = Daemon(cfg, clock=ScaledClock(1.0), engine=engine, ami=ami,  # type: ignore[arg-type]
               store=RedisStore(client, prefix="ringbackstop"), bus=FakeBus(),  # type: ignore[arg-type]
               leads={"c": InMemoryLeadSource()}, metrics=Metrics())
    d.execute([OriginateAgentFirst("c-1-abcdef", "c", "L1", "+15550000001", "a1", "1001", 20.0, "Acme",
                                   "2125550100")], 0.0)
    [action] = ami.originates
    variables = dict(v.split("=", 1) for v in dict(action.headers)["Variable"].split(","))
    assert variables["DIALER_RING_S"] == ring_s  # whole seconds, rounded up: never less than the allowance
