"""A Redis client for the hopper that lets a test run something right before a write reaches Redis.

`WriteRace(real)` passes everything to `real`; `arm(race)` makes the next write (a MULTI, or any script but
the read-only gather) first await `race()`: what another daemon, a recovery or a second take does between the
hopper's read of a lead and its write. Nothing sleeps: the race runs in line, once.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from redis.asyncio import Redis
from redis.commands.core import AsyncScript

from dialer.hopper.scripts import GATHER_ONLY

Race = Callable[[], Awaitable[None]]


class WriteRace:
    def __init__(self, real: Redis) -> None:
        self._real = real
        self._scripts: dict[str, str] = {}
        self._race: Race | None = None
        self.raced = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)

    def arm(self, race: Race) -> None:
        self._race = race

    async def _fire(self) -> None:
        race, self._race = self._race, None
        if race is not None:
            self.raced += 1
            await race()

    def register_script(self, script: str) -> AsyncScript:
        s = AsyncScript(self, script)  # type: ignore[arg-type]
        self._scripts[s.sha] = script
        return s

    async def evalsha(self, sha: str, numkeys: int, *args: Any) -> Any:
        if self._scripts.get(sha) != GATHER_ONLY:
            await self._fire()
        return await self._real.evalsha(sha, numkeys, *args)  # type: ignore[no-untyped-call]

    def pipeline(self, transaction: bool = True, shard_hint: str | None = None) -> Any:
        pipe = self._real.pipeline(transaction=transaction, shard_hint=shard_hint)
        if transaction:
            run = pipe.execute

            async def execute(raise_on_error: bool = True) -> Any:
                await self._fire()
                return await run(raise_on_error)

            pipe.execute = execute  # type: ignore[method-assign]
        return pipe
