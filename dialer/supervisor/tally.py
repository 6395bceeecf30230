"""Running totals for the wallboard and the metrics, read incrementally from the Redis streams.

The call-record stream (`<prefix>:calls`) and the disposition stream (`<prefix>:dispositions`) are read
from where the last read stopped (XREAD from the last id), so each entry is read once. Counts go into
per-campaign minute buckets (kept 26 hours) and hour buckets (kept 31 days); any window the wallboard
shows (15 minutes, the last hour, today, 24 hours, 30 days) is a sum of at most 1,560 buckets, however
many calls there were, from the first whole bucket inside the window (a window is up to a minute short, never
long). The 30-day window is summed from whole hours, so it is up to an hour short;
the pacer's own compliance ledger is what enforces the law, this is the supervisor's view of it.

Times are the daemon's clock (call records carry `ended_at`, dispositions `disposed_at`), so the
same code shows a simulated shift at its simulated times. The streams are read from their beginning (the
day's figures need the calls made before a restart), but only the sales disposed from the tally's start on
(`sales_from`) are `new_sales`, which feed the `dialer_sales_total` counter: a counter counts from the
process's start, and the whole history added to it at each restart would read to Prometheus as a burst of
sales. Dispositions carry only a call id: the
campaign comes from the record seen earlier, or from the call's hash when the record is older.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from dialer.engine.records import CallRecord, RecordError
from dialer.store import RedisStore, redis_call
from dialer.supervisor.reports import DEFAULT_SALES, SaleCodes, amd_screened, law_rate

__all__ = ["ABANDONED", "CONTACTS", "DIALED", "LIVE", "SALES", "SCREENED", "Tally", "Window"]

log = logging.getLogger(__name__)

DIALED, LIVE, ABANDONED, CONTACTS, SALES, SCREENED = range(6)
_N = 6
# minute buckets cover a whole 25-hour day (the day DST ends) with room to spare: "today" keeps minute
# precision up to its last minute, as it must where midnight is not on a UTC hour (Adelaide, +10:30/+9:30)
_MINUTES_KEPT = 26 * 60
_HOURS_KEPT = 31 * 24


@dataclass(frozen=True, slots=True)
class Window:
    dialed: int = 0
    live: int = 0
    abandoned: int = 0
    contacts: int = 0
    sales: int = 0
    screened: int = 0  # live answers offered to agents that AMD screened (each brings estimated false positives)

    @property
    def abandon_ratio(self) -> float | None:
        return self.abandoned / self.live if self.live else None

    def law_ratio(self, fp_per_screened: float) -> float | None:
        """(abandoned + estimated AMD false positives) / (live + the same): the UK law's rate, with
        `fp_per_screened` = f/(1-f) false positives per screened live answer (0: the plain rate)."""
        return law_rate(self.live, self.abandoned, self.screened * fp_per_screened)

    def as_dict(self) -> dict[str, Any]:
        return {"dialed": self.dialed, "live": self.live, "abandoned": self.abandoned, "contacts": self.contacts,
                "sales": self.sales, "abandon_ratio": self.abandon_ratio}


@dataclass(slots=True)
class _Buckets:
    minutes: dict[int, list[int]] = field(default_factory=dict)
    hours: dict[int, list[int]] = field(default_factory=dict)

    def add(self, t: float, idx: int) -> None:
        self.minutes.setdefault(int(t // 60), [0] * _N)[idx] += 1
        self.hours.setdefault(int(t // 3600), [0] * _N)[idx] += 1

    def prune(self, now: float) -> None:
        m0, h0 = int(now // 60) - _MINUTES_KEPT, int(now // 3600) - _HOURS_KEPT
        for k in [k for k in self.minutes if k < m0]:
            del self.minutes[k]
        for k in [k for k in self.hours if k < h0]:
            del self.hours[k]

    def window(self, start: float, end: float) -> Window:
        """Minute precision back to 26 hours, hour precision beyond. The sum starts at the first whole bucket
        inside the window, so that it never takes in calls from before `start`: a window is up to a bucket
        short, never long (the "15 minutes" are 14 to 15, the "24 hours" 23 h 59 min to 24 h)."""
        tot = [0] * _N
        if end - start <= _MINUTES_KEPT * 60 - 60:
            lo, hi, src = math.ceil(start / 60), int(end // 60), self.minutes
        else:
            lo, hi, src = math.ceil(start / 3600), int(end // 3600), self.hours
        for k, v in src.items():
            if lo <= k <= hi:
                for i in range(_N):
                    tot[i] += v[i]
        return Window(*tot)


def local_midnight(now: float) -> float:
    """The start of `now`'s local day. The local date is found first, then that date's midnight with its own
    UTC offset: on the day a DST change happened overnight, midnight had yesterday's offset, not now's (keeping
    now's put "today" an hour off). A naive datetime's timestamp() reads the local zone at that instant (PEP
    495; a midnight skipped by a change at 00:00 maps to the instant of the change, when the day began)."""
    return datetime.combine(datetime.fromtimestamp(now).date(), datetime.min.time()).timestamp()


class Tally:
    """Per-campaign counts by minute and hour, fed from the Redis streams."""

    def __init__(self, store: RedisStore, *, is_sale: SaleCodes = DEFAULT_SALES, sales_from: float = math.inf,
                 timeout_s: float = 5.0, batch: int = 5000) -> None:
        """`sales_from`: sales disposed at or after it (daemon clock) are counted in `new_sales`; by default none."""
        self._store = store
        self._calls_key = store.key("calls")
        self._disp_key = store.key("dispositions")
        self._last = {self._calls_key: "0-0", self._disp_key: "0-0"}
        self._is_sale = is_sale
        self._timeout = timeout_s
        self._batch = batch
        self._buckets: dict[str, _Buckets] = {}
        self._campaign_of: OrderedDict[str, str] = OrderedDict()
        self._lock = asyncio.Lock()
        self.following = False
        self.entries = 0
        self.sales_from = sales_from
        self.new_sales: dict[str, int] = {}  # campaign -> sales disposed since `sales_from`, not yet exported
        self._agent_day: dict[str, list[Any]] = {}  # agent -> [local midnight, contacts, sales] of their last day

    # ----------------------------------------------------------------- reading
    async def refresh(self) -> int:
        """Read everything new without blocking; returns how many entries were read."""
        if self.following:
            return 0
        async with self._lock:
            total = 0
            while True:
                n = await self._read(None)
                total += n
                if n < self._batch:
                    return total

    async def follow(self, block_ms: int = 1000) -> int:
        """One blocking read (returns when entries arrive or after `block_ms`)."""
        async with self._lock:
            return await self._read(block_ms)

    async def _read(self, block_ms: int | None) -> int:
        timeout = self._timeout + (block_ms or 0) / 1000.0
        async with redis_call("reading the call records", timeout):
            got: Any = await self._store.r.xread(dict(self._last), count=self._batch, block=block_ms)  # type: ignore[arg-type]
        n = 0
        for stream, entries in got or ():
            for entry_id, fields in entries:
                self._last[stream] = entry_id
                n += 1
                if stream == self._calls_key:
                    self._on_record(entry_id, fields)
                else:
                    await self._on_disposition(fields)
        self.entries += n
        return n

    def _bucket(self, campaign: str) -> _Buckets:
        b = self._buckets.get(campaign)
        if b is None:
            b = self._buckets[campaign] = _Buckets()
        return b

    def _on_record(self, entry_id: str, f: dict[str, str]) -> None:
        try:
            rec = CallRecord.from_fields(f, record_id=entry_id)
        except RecordError as exc:
            log.warning("wallboard tally: %s; the record is not counted", exc)
            return
        campaign, t = rec.campaign_id, rec.ended_at
        if not campaign:
            return
        self._campaign_of[rec.call_id] = campaign
        if len(self._campaign_of) > 200_000:
            self._campaign_of.popitem(last=False)
        b = self._bucket(campaign)
        b.add(t, DIALED)
        if rec.offered_to_agents:
            b.add(t, LIVE)
            if amd_screened(rec.amd_status):
                b.add(t, SCREENED)
            if rec.abandoned:  # an agentless call ended abandoned waited for no agent: not one
                b.add(t, ABANDONED)
        if rec.connected_at is not None and not rec.abandoned and not rec.amd_audit:
            b.add(t, CONTACTS)  # an AMD audit call is a machine verdict an agent checked, not a live contact
            if rec.agent_id:
                self._agent_count(rec.agent_id, t, 1)

    async def _on_disposition(self, f: dict[str, str]) -> None:
        code, call_id = f.get("disposition", ""), f.get("call_id", "")
        campaign = self._campaign_of.get(call_id)
        if campaign is None:
            if not self._is_sale.anywhere(code):
                return  # no need to look its campaign up
            # under a deadline too: a half-open Redis here would hold the tally's lock, and the wallboard, for ever
            async with redis_call(f"reading the campaign of call {call_id}", self._timeout):
                found: Any = await self._store.r.hget(self._store.key("call", call_id), "campaign_id")
            campaign = str(found) if found else None
        if not campaign or not self._is_sale(campaign, code):
            return
        try:
            t = float(f.get("disposed_at") or 0.0)
        except ValueError:
            return
        self._bucket(campaign).add(t, SALES)
        if t >= self.sales_from:
            self.new_sales[campaign] = self.new_sales.get(campaign, 0) + 1
        if f.get("agent_id"):
            self._agent_count(f["agent_id"], t, 2)

    def _agent_count(self, agent: str, t: float, slot: int) -> None:
        """One more contact (slot 1) or sale (2) for the agent on the local day of `t`; an earlier day's is gone."""
        day = local_midnight(t)
        row = self._agent_day.get(agent)
        if row is None or row[0] < day:
            row = self._agent_day[agent] = [day, 0, 0]
        if row[0] == day:
            row[slot] += 1

    def agent_today(self, agent: str, now: float) -> tuple[int, int]:
        """(contacts, sales) of the agent since local midnight."""
        row = self._agent_day.get(agent)
        if row is None or row[0] != local_midnight(now):
            return 0, 0
        return int(row[1]), int(row[2])

    # ----------------------------------------------------------------- figures
    def campaigns(self) -> list[str]:
        return sorted(self._buckets)

    def window(self, campaign: str, start: float, end: float) -> Window:
        b = self._buckets.get(campaign)
        return b.window(start, end) if b is not None else Window()

    def figures(self, campaign: str, now: float, fp_per_screened: float = 0.0) -> dict[str, Any]:
        """The wallboard's numbers for one campaign at `now`. With `fp_per_screened` (a UK campaign's
        f/(1-f)) the 24 hours count the estimated AMD false positives as the law does; `24h_plain` is
        abandoned / live answers beside it."""
        b = self._buckets.get(campaign)
        if b is not None:
            b.prune(now)
        w15 = self.window(campaign, now - 900, now)
        w1h = self.window(campaign, now - 3600, now)
        today = self.window(campaign, local_midnight(now), now)
        w24 = self.window(campaign, now - 86400, now)
        w30 = self.window(campaign, now - 30 * 86400, now)
        return {
            "abandon": {"15m": w15.abandon_ratio, "today": today.abandon_ratio,
                        "24h": w24.law_ratio(fp_per_screened), "24h_plain": w24.abandon_ratio,
                        "false_positives_24h": w24.screened * fp_per_screened,
                        "30d": w30.abandon_ratio, "live_24h": w24.live, "live_30d": w30.live},
            "last_hour": w1h.as_dict(),
            "today": today.as_dict(),
        }
