"""The calls agents may still dispose late, kept in Redis so that a daemon restart does not lose them.

A wrap-up that ends without the agent's disposition (its time ran out, or the daemon was stopping) leaves
the call disposed `no_disposition`, and the agent `late_disposition_s` (900 s) to send the real one
(`dialer.engine.agentside`). A shutdown is the likeliest way for that to happen to an agent who was
still typing, and a sale noted after the restart must still reach the lead. So each such chance is
written, with the screen-pop the agent had, as it is made, and read back at start-up:

    <prefix>:undisposed   hash  agent id -> JSON {call_id, campaign_id, until, live_counted_at, amd_audit,
                                target (the hopper's DialTarget, or null), pop (the screen-pop, or null),
                                lead_id, number, subscriber_id (whom a late `dnc` disposition names)}

An entry written before `lead_id`, `number` and `subscriber_id` were kept reads back without them ("",
null, ""): a late `dnc` disposition then names the person only if the call is still known.

One field per agent: a newer chance replaces the older (the engine keeps one per agent too). A used one
is deleted; an expired one is deleted when read back, and one whose campaign is no longer configured at
start-up (`Daemon._restore_undisposed`); one whose agent is not logged in then waits for their next login.
Writes go through the store's outbox, in order with the dispositions and call records around them.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import redis.asyncio as aioredis

from dialer.engine.records import Undisposed
from dialer.hopper.types import DialTarget
from dialer.store import RedisStore

__all__ = ["StoredUndisposed", "UndisposedStore", "decode", "encode"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class StoredUndisposed:
    late: Undisposed
    pop: Mapping[str, Any] | None = None


def encode(late: Undisposed, pop: Mapping[str, Any] | None) -> str:
    target: dict[str, Any] | None = None
    if isinstance(late.target, DialTarget):  # another lead source's target cannot be amended anyway
        t = late.target
        target = {"campaign_id": t.campaign_id, "lead_id": t.lead_id, "number_e164": t.number_e164,
                  "number_index": t.number_index, "attempt": t.attempt, "fields": dict(t.fields),
                  "callback_agent": t.callback_agent, "is_callback": t.is_callback, "zones": list(t.zones),
                  "numbers": list(t.numbers), "region": t.region}
    return json.dumps({"call_id": late.call_id, "campaign_id": late.campaign_id, "until": late.until,
                       "live_counted_at": late.live_counted_at, "amd_audit": late.amd_audit, "target": target,
                       "pop": dict(pop) if pop is not None else None, "lead_id": late.lead_id,
                       "number": late.number, "subscriber_id": late.subscriber_id}, default=str)


def decode(raw: str) -> StoredUndisposed:
    """Raises ValueError (with what is wrong) for anything but what `encode` writes."""
    try:
        d = json.loads(raw)
        t = d.get("target")
        target = None if t is None else DialTarget(
            campaign_id=str(t["campaign_id"]), lead_id=str(t["lead_id"]), number_e164=str(t["number_e164"]),
            number_index=int(t["number_index"]), attempt=int(t["attempt"]),
            fields={str(k): str(v) for k, v in t["fields"].items()}, callback_agent=t.get("callback_agent"),
            is_callback=bool(t.get("is_callback", False)), zones=tuple(str(z) for z in t.get("zones", ())),
            numbers=tuple(str(n) for n in t.get("numbers", ())),
            region=None if t.get("region") is None else str(t["region"]))
        live = d.get("live_counted_at")
        number = d.get("number")  # this and the two below: absent from entries of older versions
        late = Undisposed(call_id=str(d["call_id"]), campaign_id=str(d["campaign_id"]), until=float(d["until"]),
                          live_counted_at=None if live is None else float(live), amd_audit=bool(d["amd_audit"]),
                          target=target, lead_id=str(d.get("lead_id") or ""),
                          number=str(number) if number else None, subscriber_id=str(d.get("subscriber_id") or ""))
        pop = d.get("pop")
        return StoredUndisposed(late, pop if isinstance(pop, dict) else None)
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        raise ValueError(f"not a stored late disposition: {exc!r}") from exc


class UndisposedStore:
    def __init__(self, store: RedisStore) -> None:
        self._store = store
        self._key = store.key("undisposed")

    def keep(self, agent_id: str, late: Undisposed, pop: Mapping[str, Any] | None) -> None:
        value = encode(late, pop)
        key = self._key

        async def op(r: aioredis.Redis) -> None:
            await r.hset(key, agent_id, value)

        self._store.enqueue(f"late disposition of {agent_id}", op)

    def forget(self, agent_id: str) -> None:
        key = self._key

        async def op(r: aioredis.Redis) -> None:
            await r.hdel(key, agent_id)

        self._store.enqueue(f"late disposition of {agent_id} done", op)

    def read(self, now: float) -> asyncio.Future[dict[str, StoredUndisposed]]:
        """The chances still open at `now`, by agent, read behind the writes queued so far. Expired and
        unreadable ones are deleted (an unreadable one with a WARNING that names the agent)."""
        key = self._key

        async def read(r: aioredis.Redis) -> dict[str, StoredUndisposed]:
            out: dict[str, StoredUndisposed] = {}
            stale: list[str] = []
            for agent, raw in (await r.hgetall(key)).items():
                agent_id = str(agent)
                try:
                    got = decode(str(raw))
                except ValueError as exc:
                    log.warning("stored late disposition unreadable; dropped",
                                extra={"agent_id": agent_id, "error": str(exc)})
                    stale.append(agent_id)
                    continue
                if got.late.until < now:
                    stale.append(agent_id)
                else:
                    out[agent_id] = got
            if stale:
                await r.hdel(key, *stale)
            return out

        return self._store.read_in_order("late dispositions read", read)
