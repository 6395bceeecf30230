"""`dialer run`: the production daemon, until SIGTERM."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import redis.asyncio as aioredis

from dialer.app import run_daemon, services
from dialer.clock import ScaledClock, WallClock
from dialer.config import CampaignSettings, DialerSettings
from dialer.leadsource import LeadSource

__all__ = ["production_clock", "run_forever"]


def hopper_leads(prefix: str) -> Callable[[CampaignSettings, aioredis.Redis], Awaitable[LeadSource]]:
    """A factory putting each campaign's Redis hopper, under the configured key prefix, behind the
    daemon's LeadSource port (the desk's DNC button and the supervisor's lead routes use that prefix)."""

    async def open_source(campaign: CampaignSettings, redis: aioredis.Redis) -> LeadSource:
        from dialer.hopper_source import open_hopper_source

        return await open_hopper_source(campaign, redis, prefix)

    return open_source


def production_clock(settings: DialerSettings) -> ScaledClock:
    """Real time, following the system clock through NTP steps and suspends (`WallClock`), unless
    `clock_scale` asks for simulated time."""
    return WallClock() if settings.clock_scale == 1.0 else ScaledClock(settings.clock_scale)


async def run_forever(settings: DialerSettings) -> None:
    from dialer.cli import install_stop_signals

    stop = asyncio.Event()
    install_stop_signals(stop)
    clock = production_clock(settings)
    async with services(settings, clock) as svc:
        await run_daemon(settings, svc, clock, hopper_leads(settings.redis.prefix), stop)
