"""Writes that end a take, applied in one Lua call: all of them or none, checked right there.

Why a script and not a MULTI: what ends a take (a dial's result, a preview's Skip, a recheck's release, the
recovery of a take given up as lost) is decided on a read of the lead made in an earlier round trip, and
between the two another writer may have ended the same take: the lost-take recovery, another agent's take
of the lead after it, or this very write applied already by a try whose reply was lost (Redis timed out
after running it). A MULTI cannot look before it writes. `APPLY` does: it checks the `Guard` (the take is
still the lead's: in flight at the time the target was taken; the state fields the decision read are as
read) and runs the `Batch` only then, else changes nothing and says so (`apply` returns False).

A `Batch` records commands with the few methods of a redis-py pipeline the hopper uses, so the code that
decides the writes reads the same; the script runs them in order with `redis.call`. Three commands exist only
here: `count_contact` (one more contact in a person's month, whatever the hash holds then), `keep_later` (a
suppression's end, unless the hash holds a later one then) and `release` (the number marks of a take, deleted
only while they still hold its token: see `scripts._OUT`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from redis.commands.core import AsyncScript

from dialer.hopper._redis import redis_call
from dialer.hopper.keys import CampaignKeys
from dialer.hopper.views import S, text

__all__ = ["APPLY", "Batch", "Guard", "apply"]

_EMPTY: Mapping[str, str] = MappingProxyType({})

# KEYS: in flight, the lead's state (none when there is nothing to check). ARGV: lead id, the take it must be
# ('' : no check; '!' : not in flight; '*' : in flight, taken at any time; else the in-flight score it must
# have), n, then n pairs of state field and the value it must have ('' : absent), then the commands, each as
# its count of words and the words. Reply: 'ok' (applied), 'stale' (nothing written).
APPLY = f"""
local lid, take, nf = ARGV[1], ARGV[2], tonumber(ARGV[3])
if take ~= '' then
  local at = redis.call('ZSCORE', KEYS[1], lid)
  if take == '!' then
    if at then return 'stale' end
  elseif not at or (take ~= '*' and tonumber(at) ~= tonumber(take)) then
    return 'stale'
  end
end
local i = 4
for _ = 1, nf do
  if (redis.call('HGET', KEYS[2], ARGV[i]) or '') ~= ARGV[i + 1] then return 'stale' end
  i = i + 2
end
while i <= #ARGV do
  local n, cmd = tonumber(ARGV[i]), ARGV[i + 1]
  if cmd == 'count_contact' then
    local key, month = ARGV[i + 2], ARGV[i + 3]
    if redis.call('HGET', key, '{S.P_MONTH}') == month then
      redis.call('HINCRBY', key, '{S.P_MONTH_COUNT}', 1)
    else
      redis.call('HSET', key, '{S.P_MONTH}', month, '{S.P_MONTH_COUNT}', 1)
    end
  elseif cmd == 'keep_later' then
    local key, fld, v = ARGV[i + 2], ARGV[i + 3], ARGV[i + 4]
    local old = redis.call('HGET', key, fld)
    local was = old and (old == 'inf' and math.huge or tonumber(old))
    local new = v == 'inf' and math.huge or tonumber(v)
    if not was or was < new then redis.call('HSET', key, fld, v) end
  elseif cmd == 'release' then
    for j = i + 3, i + n do
      if redis.call('GET', ARGV[j]) == ARGV[i + 2] then redis.call('DEL', ARGV[j]) end
    end
  else
    redis.call(unpack(ARGV, i + 1, i + n))
  end
  i = i + n + 1
end
return 'ok'
"""


def _word(value: object) -> str:
    return repr(value) if isinstance(value, float) else str(value)


class Batch:
    """Commands to run together in `APPLY` (in the order given)."""

    __slots__ = ("_words",)

    def __init__(self) -> None:
        self._words: list[str] = []

    def __len__(self) -> int:
        return len(self._words)

    @property
    def words(self) -> list[str]:
        return self._words

    def _cmd(self, *words: object) -> None:
        self._words.append(str(len(words)))
        self._words.extend(_word(w) for w in words)

    def zadd(self, name: str, mapping: Mapping[str, float], *, gt: bool = False) -> None:
        pairs = [x for member, score in mapping.items() for x in (score, member)]
        if pairs:
            self._cmd("ZADD", name, *(("GT",) if gt else ()), *pairs)

    def zrem(self, name: str, *members: str) -> None:
        if members:
            self._cmd("ZREM", name, *members)

    def hset(self, name: str, key: str | None = None, value: object = None, *,
             mapping: Mapping[str, object] | None = None) -> None:
        pairs: list[object] = [] if key is None else [key, value]
        for k, v in (mapping or {}).items():
            pairs += [k, v]
        if pairs:
            self._cmd("HSET", name, *pairs)

    def hdel(self, name: str, *keys: str) -> None:
        if keys:
            self._cmd("HDEL", name, *keys)

    def hincrby(self, name: str, key: str, amount: int = 1) -> None:
        self._cmd("HINCRBY", name, key, amount)

    def sadd(self, name: str, *values: str) -> None:
        if values:
            self._cmd("SADD", name, *values)

    def srem(self, name: str, *values: str) -> None:
        if values:
            self._cmd("SREM", name, *values)

    def delete(self, *names: str) -> None:
        if names:
            self._cmd("DEL", *names)

    def set(self, name: str, value: str) -> None:
        self._cmd("SET", name, value)

    def incr(self, name: str) -> None:
        self._cmd("INCR", name)

    def decr(self, name: str) -> None:
        self._cmd("DECR", name)

    def count_contact(self, person_key: str, month: str) -> None:
        """One more contact in `month` on a person's hash (the first of a new month), whatever it holds."""
        self._cmd("count_contact", person_key, month)

    def keep_later(self, name: str, key: str, until: float) -> None:
        """Set hash field `key` of `name` to the time `until` unless it holds a later one ("inf": until lifted)."""
        self._cmd("keep_later", name, key, until)

    def release(self, token: str, marks: Iterable[str]) -> None:
        """Delete each of the `marks` keys that still holds `token` (another take's mark stays)."""
        keys = list(marks)
        if keys:
            self._cmd("release", token, *keys)


@dataclass(frozen=True, slots=True)
class Guard:
    """What must still hold when a batch is applied: the lead's take (`take`: "" no check, "!" not in flight,
    "*" in flight at any time, else the time it was taken, its in-flight score) and its state's `fields` as
    read ("": absent)."""

    lead_id: str
    take: str = ""
    fields: Mapping[str, str] = field(default_factory=lambda: _EMPTY)

    @staticmethod
    def of_take(lead_id: str, taken_at: float | None, state: Mapping[str, str],
                fields: Iterable[str] = (S.ATTEMPTS, S.FOLLOW_UP)) -> Guard:
        """The take taken at `taken_at` (None: any take, for a target from before the token), with `fields`
        of `state` as read (the attempts say which attempt the take is; a follow-up may arrive meanwhile)."""
        return Guard(lead_id, "*" if taken_at is None else repr(float(taken_at)),
                     MappingProxyType({f: state.get(f, "") for f in fields}))


async def apply(script: AsyncScript, keys: CampaignKeys, batch: Batch, guard: Guard | None, what: str,
                timeout_s: float) -> bool:
    """Run `batch` in `script` (`APPLY` registered) if `guard` holds; whether it ran."""
    if guard is None:
        if not batch:
            return True
        ks: list[str] = []
        args = ["", "", "0", *batch.words]
    else:
        ks = [keys.i, keys.state(guard.lead_id)]
        args = [guard.lead_id, guard.take, str(len(guard.fields))]
        for f, v in guard.fields.items():
            args += [f, v]
        args += batch.words
    async with redis_call(what, timeout_s):
        reply = await script(keys=ks, args=args)
    return text(reply) == "ok"
