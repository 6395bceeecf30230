"""Shared builders for the hopper tests: the Redis target, campaigns, times, a world of stores and hoppers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from redis import Redis as SyncRedis
from redis.asyncio import Redis

from dialer.campaigns import CampaignConfig, parse_campaign
from dialer.hopper import Hopper, LeadStore
from dialer.policy import ContactPolicy

NY = "America/New_York"


@dataclass(frozen=True)
class RedisTarget:
    url: str | None = None
    socket: str | None = None

    def client(self) -> Redis:
        if self.url:
            return Redis.from_url(self.url)
        return Redis(unix_socket_path=self.socket)

    def sync(self) -> SyncRedis:
        if self.url:
            return SyncRedis.from_url(self.url)
        return SyncRedis(unix_socket_path=self.socket)


def campaign(cid: str = "c1", **over: Any) -> CampaignConfig:
    data: dict[str, Any] = {
        "id": cid,
        "kind": "base_upsell",
        "name": cid,
        "caller_id_name": "Acme",
        "caller_id_number": "+12125550100",
        "jurisdiction": "us",
    }
    data.update(over)
    return parse_campaign(data)


def at(y: int, mo: int, d: int, h: int = 12, mi: int = 0, tz: str = NY) -> float:
    return datetime(y, mo, d, h, mi, tzinfo=ZoneInfo(tz)).timestamp()


def hopper(redis: Redis, c: CampaignConfig, prefix: str) -> Hopper:
    return Hopper(redis, c, ContactPolicy(c), prefix=prefix)


def store(redis: Redis, prefix: str, chunk: int = 2000) -> LeadStore:
    return LeadStore(redis, prefix=prefix, chunk=chunk)


def row(phone: str, **fields: object) -> dict[str, object]:
    return {"mobile": phone, **fields}
