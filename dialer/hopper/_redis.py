"""The Redis boundary of the hopper: `redis_call`, now `dialer.store.redis_call` (the project's one translation
of Redis errors into ours), kept under this name for the hopper's modules."""

from __future__ import annotations

from dialer.store import redis_call

__all__ = ["redis_call"]
