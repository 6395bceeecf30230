"""`dialer run`: the production daemon, until SIGTERM."""

from __future__ import annotations

import asyncio

import redis.asyncio as aioredis

from dialer.app import run_daemon, services
from dialer.clock import ScaledClock
from dialer.config import CampaignSettings, DialerSettings
from dialer.leadsource import LeadSource

__all__ = ["run_forever"]


async def hopper_leads(campaign: CampaignSettings, redis: aioredis.Redis) -> LeadSource:
    """The campaign's Redis hopper behind the daemon's LeadSource port."""
    from dialer.hopper_source import open_hopper_source

    return await open_hopper_source(campaign, redis)


async def run_forever(settings: DialerSettings) -> None:
    from dialer.cli import install_stop_signals

    stop = asyncio.Event()
    install_stop_signals(stop)
    clock = ScaledClock(settings.clock_scale)
    async with services(settings, clock) as svc:
        await run_daemon(settings, svc, clock, hopper_leads, stop)
