"""The agent desktop (web page and its API), served by the daemon."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi import APIRouter

if TYPE_CHECKING:
    from dialer.daemon import Daemon

__all__ = ["build_router"]


def build_router(daemon: Daemon) -> APIRouter:
    """Routes of the agent desktop."""
    return APIRouter()
