"""Login rate limiting for the desk: failed logins per agent at one address, per agent anywhere, per address.

Three counts of failures, each a sliding window of failure times:

- **agent at one address** (`max_per_agent_address` in `window_s`): a hard lock of that agent *from that
  address* until the oldest failure leaves the window. Someone guessing from elsewhere cannot lock the
  agent out of their own desk, since the agent's own address has a count of its own.
- **agent anywhere** (`slow_after` failures in `agent_window_s`, from any addresses): no hard lock but a
  growing delay: after the `slow_after`th failure each attempt waits `base_delay_s`, doubled with every
  further failure up to `max_delay_s`, after the last failure. Guessing one password from many addresses
  is slowed to a try per `max_delay_s`; an address this agent logged in from (within `known_for_s`) is
  not slowed, so the agent's own desk keeps working while that goes on.
- **address** (`max_per_address` in `window_s`, whichever agents): a hard lock of the address, against
  password spraying (one guess at many agents). Higher by default, because a whole call center often
  reaches the daemon from one NAT address and a few mistyped passwords must not lock everyone out.

A refused attempt is not checked and not counted. A success clears that agent's counts at that address and
anywhere (not the address's) and remembers the address as the agent's. `unlock(agent_id)` (a supervisor's
`POST /api/agents/{id}/login-unlock`) clears the agent's counts at every address and anywhere.

Memory is bounded, and failures for made-up ids cannot push a real agent's counts out. Given `accounts` (which
ids have a desk account), an account's agent-wide count is kept one per account and never dropped; its counts
at one address, those of ids with no account (counted as an account's are: the answers do not tell which ids
exist) and the addresses' counts are three maps of at most `max_keys` counts each, the stalest dropped first;
and at most `max_keys` known addresses. Without `accounts` every id is counted as one with no account. Pure
and clock-injected, like `presence`.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Iterator, MutableMapping
from dataclasses import dataclass
from typing import Literal

__all__ = ["LoginLimiter", "Refusal", "Scope"]

# agent: this agent from this address (hard, a supervisor may lift it); anywhere: this agent from many
# addresses (a growing delay, a supervisor may lift it); address: many agents from this address (hard)
Scope = Literal["agent", "anywhere", "address"]
_Key = tuple[str, str, str]  # (scope, agent id or "", address or "")


@dataclass(frozen=True, slots=True)
class Refusal:
    """An attempt refused without checking the password: wait `retry_after_s` (whole seconds, at least 1)."""

    scope: Scope
    retry_after_s: int

    @property
    def unlockable(self) -> bool:
        """A supervisor's unlock of the agent lifts it (not an address's lock, which is about many agents)."""
        return self.scope != "address"


class LoginLimiter:
    def __init__(self, *, max_per_agent_address: int = 5, max_per_address: int = 20, window_s: float = 300.0,
                 slow_after: int | None = None, agent_window_s: float = 3600.0, base_delay_s: float = 1.0,
                 max_delay_s: float = 120.0, known_for_s: float = 30 * 86400.0, max_keys: int = 10_000,
                 accounts: Callable[[str], bool] | None = None,
                 now: Callable[[], float] = time.monotonic) -> None:
        # the agent-wide count starts slowing at four times the one-address lock: an agent locked at one
        # address, who then tries from another desk, is not slowed down as well
        slow = slow_after if slow_after is not None else 4 * max_per_agent_address
        if min(max_per_agent_address, max_per_address, slow, max_keys) < 1:
            raise ValueError("login limits must be at least 1")
        if min(window_s, agent_window_s, base_delay_s, known_for_s) <= 0 or max_delay_s < base_delay_s:
            raise ValueError("login windows and delays must be positive, the longest delay at least the first")
        self.max_per_agent_address = max_per_agent_address
        self.max_per_address = max_per_address
        self.window_s = window_s
        self.slow_after = slow
        self.agent_window_s = agent_window_s
        self.base_delay_s = base_delay_s
        self.max_delay_s = max_delay_s
        self.known_for_s = known_for_s
        self._max_keys = max_keys
        self.now = now
        self._is_account = accounts if accounts is not None else (lambda _agent_id: False)
        # one 10,000-key map for all three counts let a flood of failures for made-up ids, from fresh addresses,
        # push out a real agent's agent-wide count, lifting its slow-down: an account's is kept apart, unbounded
        # by anything but the number of accounts
        self._anywhere: dict[_Key, deque[float]] = {}  # accounts' agent-wide counts
        self._at_address: OrderedDict[_Key, deque[float]] = OrderedDict()  # accounts' counts at one address
        self._unknown: OrderedDict[_Key, deque[float]] = OrderedDict()  # both agent counts of ids with no account
        self._addresses: OrderedDict[_Key, deque[float]] = OrderedDict()
        self._known: OrderedDict[tuple[str, str], float] = OrderedDict()  # (agent, address) -> last success
        # failures past `slow_after` beyond which the delay no longer grows: only that many need keeping
        self._slow_keep = slow + max(0, math.ceil(math.log2(max_delay_s / base_delay_s))) + 1

    # ------------------------------------------------------------------ the three counts
    def _limit(self, scope: Scope) -> tuple[int, float]:
        """(failures kept, window) of a scope."""
        if scope == "agent":
            return self.max_per_agent_address, self.window_s
        if scope == "address":
            return self.max_per_address, self.window_s
        return self._slow_keep, self.agent_window_s

    def _keys(self, agent_id: str, address: str) -> tuple[tuple[Scope, _Key], ...]:
        return (("agent", ("agent", agent_id, address)), ("anywhere", ("anywhere", agent_id, "")),
                ("address", ("address", "", address)))

    def _map(self, key: _Key) -> MutableMapping[_Key, deque[float]]:
        """The map a count is kept in."""
        if key[0] == "address":
            return self._addresses
        if not self._is_account(key[1]):
            return self._unknown
        return self._anywhere if key[0] == "anywhere" else self._at_address

    def _agent_keys(self, agent_id: str) -> Iterator[_Key]:
        """The agent's counts at every address and anywhere (a copy: the caller may drop them)."""
        maps = (self._anywhere, self._at_address) if self._is_account(agent_id) else (self._unknown,)
        return iter([k for m in maps for k in m if k[1] == agent_id])

    def _wait(self, scope: Scope, times: deque[float], now: float) -> float:
        if scope == "anywhere":
            over = len(times) - self.slow_after
            if over < 0:
                return 0.0
            return times[-1] + min(self.max_delay_s, self.base_delay_s * 2.0 ** over) - now
        limit, window = self._limit(scope)
        return times[-limit] + window - now if len(times) >= limit else 0.0

    def check(self, agent_id: str, address: str) -> Refusal | None:
        """Why this agent may not try from this address now (the longest wait first), or None when allowed."""
        now = self.now()
        worst: tuple[float, Scope] | None = None
        for scope, key in self._keys(agent_id, address):
            if scope == "anywhere" and self.known(agent_id, address):
                continue
            times = self._recent(key, now)
            wait = self._wait(scope, times, now) if times is not None else 0.0
            if wait > 0 and (worst is None or wait > worst[0]):
                worst = (wait, scope)
        return Refusal(worst[1], max(1, math.ceil(worst[0]))) if worst is not None else None

    def failed(self, agent_id: str, address: str) -> Refusal | None:
        """Count a wrong password; the refusal the next attempt meets when this failure starts one (to log)."""
        now = self.now()
        for scope, key in self._keys(agent_id, address):
            times = self._recent(key, now)
            counts = self._map(key)
            if times is None:
                times = counts[key] = deque(maxlen=self._limit(scope)[0])
            times.append(now)
            if isinstance(counts, OrderedDict):
                counts.move_to_end(key)
                while len(counts) > self._max_keys:
                    counts.popitem(last=False)
        return self.check(agent_id, address)

    def succeeded(self, agent_id: str, address: str) -> None:
        for key in (("agent", agent_id, address), ("anywhere", agent_id, "")):
            self._map(key).pop(key, None)
        self._known[(agent_id, address)] = self.now()
        self._known.move_to_end((agent_id, address))
        while len(self._known) > self._max_keys:
            self._known.popitem(last=False)

    def known(self, agent_id: str, address: str) -> bool:
        """This agent logged in from this address within `known_for_s`."""
        at = self._known.get((agent_id, address))
        return at is not None and self.now() - at < self.known_for_s

    def unlock(self, agent_id: str) -> bool:
        """Forget the agent's failures at every address and anywhere; whether a lock or delay was on."""
        was = self.locked(agent_id)
        for key in self._agent_keys(agent_id):
            del self._map(key)[key]
        return was

    def locked(self, agent_id: str) -> bool:
        """Some address (or every one) is refused for this agent now, by a lock a supervisor may lift."""
        now = self.now()
        for key in self._agent_keys(agent_id):
            times = self._recent(key, now)
            if times is not None and self._wait("agent" if key[0] == "agent" else "anywhere", times, now) > 0:
                return True
        return False

    def _recent(self, key: _Key, now: float) -> deque[float] | None:
        counts = self._map(key)
        times = counts.get(key)
        if times is None:
            return None
        window = self.agent_window_s if key[0] == "anywhere" else self.window_s
        while times and times[0] <= now - window:
            times.popleft()
        if not times:
            del counts[key]
            return None
        return times
