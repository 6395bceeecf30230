"""`dialer run` reads each campaign file once at start-up and runs what it checked.

It read it three times: checking it (`check_campaign_files`), settling the campaign's caller ID and law from it
(`run_daemon`), and opening the campaign's hopper from it (the lead-source factory). A file edited while the
daemon started gave the daemon two views of one campaign (the law checked and paced by one, the hopper's contact
policy and caller ID from another), and a file broken in between failed the start with a second error after
the check had passed. Here the file is changed right after the check: the daemon must run the file as checked,
from one read.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from dialer import cli
from dialer.app import Services, run_daemon
from dialer.campaigns import loader
from dialer.campaigns.models import CampaignConfig
from dialer.clock import ScaledClock
from dialer.config import CampaignSettings, DialerSettings, load_settings
from dialer.hopper_source import open_hopper_source
from pacing import Jurisdiction

UK = """id = "uk-upsell"
kind = "base_upsell"
name = "UK upsell"
caller_id_name = "Acme"
caller_id_number = "020 7946 0000"
default_region = "GB"
jurisdiction = "uk"
"""
# the same campaign edited while the daemon starts: another number, another law
EDITED = UK.replace("020 7946 0000", "020 7946 0999").replace('jurisdiction = "uk"', 'jurisdiction = "us"')
BROKEN = "this is [ not toml"


class _Opened(Exception):
    """Ends run_daemon once every campaign's lead source is open (nothing after it reads campaign files)."""


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Every campaign file read from now on (every reader imports `load_campaign` from the loader when it runs)."""
    seen: list[Path] = []
    real = loader.load_campaign

    def counting(path: str | Path) -> CampaignConfig:
        seen.append(Path(path))
        return real(path)

    monkeypatch.setattr(loader, "load_campaign", counting)
    return seen


def _files(tmp_path: Path) -> tuple[Path, Path]:
    campaign = tmp_path / "uk.toml"
    campaign.write_text(UK, encoding="utf-8")
    cfg = tmp_path / "dialer.toml"
    cfg.write_text(f"[metrics]\nenabled = false\n[[campaigns]]\nid = 'uk-upsell'\nfile = '{campaign}'\n",
                   encoding="utf-8")
    return campaign, cfg


async def _start(settings: DialerSettings, redis_url: str, edit: Path, text: str,
                 ) -> list[tuple[CampaignSettings, CampaignConfig]]:
    """Edit `edit` to `text`, then start the daemon as `dialer run` does, up to its lead sources; return each
    campaign as the daemon runs it with the campaign file its hopper was opened from."""
    await asyncio.to_thread(edit.write_text, text, encoding="utf-8")
    opened: list[tuple[CampaignSettings, CampaignConfig]] = []

    async def leads(cs: CampaignSettings, redis: aioredis.Redis) -> object:
        source = await open_hopper_source(cs, redis, "readonce")
        opened.append((cs, source.hopper.campaign))
        if len(opened) == len(settings.campaigns):
            raise _Opened
        return source

    svc = Services(redis_url, "mqtt://127.0.0.1:1", "127.0.0.1", 1, None)  # never reached
    with pytest.raises(_Opened):
        await run_daemon(settings, svc, ScaledClock(1.0), leads, asyncio.Event())  # type: ignore[arg-type]
    return opened


@pytest.mark.parametrize("edited", [EDITED, BROKEN], ids=["edited", "broken"])
def test_dialer_run_runs_the_campaign_file_it_checked_from_one_read(tmp_path, monkeypatch, redis_url, reads, edited):
    campaign, cfg = _files(tmp_path)
    started: list[list[tuple[CampaignSettings, CampaignConfig]]] = []

    async def run_forever(settings: DialerSettings) -> None:  # dialer.runner's, without the services
        started.append(await _start(settings, redis_url, campaign, edited))

    monkeypatch.setattr("dialer.runner.run_forever", run_forever)
    monkeypatch.setattr(cli, "configure_logging", lambda level: None)
    assert cli.main(["run", "--config", str(cfg)]) == 0
    [[(cs, file)]] = started
    assert reads == [campaign]
    assert (cs.caller_id_number, cs.pacing.jurisdiction) == ("+442079460000", Jurisdiction.UK)  # the file checked
    assert (file.caller_id_number, file.jurisdiction) == ("+442079460000", "uk")  # the hopper's: the same


async def test_run_daemon_alone_reads_each_campaign_file_once(tmp_path, redis_url, reads):
    # the demo and the tests start run_daemon with settings nothing has settled yet
    campaign, cfg = _files(tmp_path)
    settings = load_settings(cfg)
    [(cs, file)] = await _start(settings, redis_url, campaign, UK)
    assert reads == [campaign]
    assert cs.pacing.jurisdiction is Jurisdiction.UK
    assert file.jurisdiction == "uk"
