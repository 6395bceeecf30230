"""Shared fixtures for the agent tests: one real Redis per session ($REDIS_URL, else a private redis-server)."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from agents.desk.harness import private_redis


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    if os.environ.get("REDIS_URL"):
        yield os.environ["REDIS_URL"]
        return
    with private_redis() as url:
        yield url
