"""`surplus_hangup_after_s = 0` switches surplus hang-ups off wherever a campaign's pacing is configured: in
dialer.toml (TOML has no null), in POST /api/campaigns (what `dialer campaign create --surplus-hangup-after 0`
sends), as PATCH .../pacing already did. Values between 0 and 15 s are still refused."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from sup_fakes import AUTH, HookedDaemon, make_rig

from dialer.config import PacingSettings, load_settings
from dialer.errors import ConfigError


def test_zero_is_never_in_the_settings_and_knobs() -> None:
    assert PacingSettings(surplus_hangup_after_s=0).knobs().surplus_hangup_after_s is None
    assert PacingSettings.model_validate({"surplus_hangup_after_s": 0.0}).surplus_hangup_after_s is None
    assert PacingSettings(surplus_hangup_after_s=None).surplus_hangup_after_s is None
    assert PacingSettings().surplus_hangup_after_s == 15.0
    assert PacingSettings(surplus_hangup_after_s=20).knobs().surplus_hangup_after_s == 20.0


def test_zero_in_the_config_file_switches_it_off(tmp_path: Path) -> None:
    cfg = tmp_path / "dialer.toml"
    cfg.write_text("[[campaigns]]\nid = 'c'\n[campaigns.pacing]\nmode = 'predictive'\nsurplus_hangup_after_s = 0\n",
                   encoding="utf-8")
    assert load_settings(cfg).campaigns[0].pacing.knobs().surplus_hangup_after_s is None
    cfg.write_text("[[campaigns]]\nid = 'c'\n[campaigns.pacing]\nsurplus_hangup_after_s = 5\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="surplus_hangup_after_s"):
        load_settings(cfg)


async def test_create_campaign_with_zero_has_no_surplus_hangups(redis) -> None:
    from dialer.http import build_app

    rig = make_rig(redis, daemon_cls=HookedDaemon)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=build_app(rig.daemon)), base_url="http://x") as c:
        body = {"id": "winback", "pacing": {"mode": "predictive", "surplus_hangup_after_s": 0}}
        r = await c.post("/api/campaigns", headers=AUTH["admin"], json=body)
        assert r.status_code == 201, r.text
    assert rig.engine.campaigns["winback"].pacer.knobs.surplus_hangup_after_s is None
