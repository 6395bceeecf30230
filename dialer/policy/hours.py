"""Calling hours in the called person's local time.

A person may be in any of several zones (a mobile number often maps to several); a time is allowed only
if it is allowed in every one of them. In each zone a time is allowed when its local date is not a
holiday (the campaign's own, plus its region's public holidays if observed: by default its jurisdiction's),
its weekday has a window, and the local clock is inside that window (start inclusive, end exclusive).
A person whose numbers place them in a region with stricter hours (`calling_hours.regions`: in North
America the area code's state or province, elsewhere the country) is also held to that region's rule,
in each of their zones.

Windows are whole minutes, so the answer for a zone set cannot change within one wall-clock minute; the
minute-keyed cache makes the hopper's millions of checks cost a dict lookup. `next_open` searches only
the instants where the answer can flip from no to yes: each zone's window starts over the next weeks,
the person's regions' included (any intersection of windows opens at one of them).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from dialer.campaigns.models import CallingHours, Window
from dialer.campaigns.regions import DEFAULT_REGIONS, NumberRegions, split_region
from dialer.policy.holidays import public_holidays

__all__ = ["Hours"]

_HORIZON_DAYS = 21
_CACHE_MAX = 8192


class Hours:
    """The calling-hours rule of one campaign."""

    def __init__(self, hours: CallingHours, jurisdiction: str) -> None:
        self._hours = hours
        self._region = hours.public_holidays_region or DEFAULT_REGIONS[jurisdiction]
        self._own = frozenset(hours.holidays)
        self._rules = hours.regions
        self._places = NumberRegions()
        self._cache: dict[tuple[tuple[str, ...], tuple[str, ...], int], bool] = {}
        self._zones: dict[str, ZoneInfo] = {}

    def _zone(self, name: str) -> ZoneInfo:
        z = self._zones.get(name)
        if z is None:
            z = self._zones[name] = ZoneInfo(name)
        return z

    def _home(self, zones: tuple[str, ...]) -> ZoneInfo:
        """The zone a person's days and months are counted in: their first (UTC when none is known)."""
        return self._zone(zones[0] if zones else "UTC")

    def regions_of(self, numbers: Iterable[str], address: str | None = None) -> tuple[str, ...]:
        """The regions with stricter hours (`calling_hours.regions`) that hold for a person with these
        numbers, and living in the `address` region ("US-FL") when it is known: those of every number
        and of the address, as zones are (we do not know which place the person is in)."""
        if not self._rules:
            return ()
        found = {r for n in numbers for r in self._places.of(n)}
        if address:
            found.update((address, split_region(address)[0]))
        return tuple(sorted(r for r in found if r in self._rules))

    def is_holiday(self, day: date) -> bool:
        if day in self._own:
            return True
        return self._hours.public_holidays and day in public_holidays(self._region, day.year)

    def _region_allows(self, region: str, local: datetime) -> bool:
        rule = self._rules[region]
        day = local.date()
        if day in rule.holidays or (rule.public_holidays and day in public_holidays(region, day.year)):
            return False
        return _inside(rule.window_for(local.weekday()), local)

    def allowed_in_zone(self, zone: str, now: float, regions: tuple[str, ...] = ()) -> bool:
        local = datetime.fromtimestamp(now, self._zone(zone))
        if self.is_holiday(local.date()) or not _inside(self._hours.window_for(local.weekday()), local):
            return False
        return all(self._region_allows(r, local) for r in regions)

    def allowed(self, zones: tuple[str, ...], now: float, regions: tuple[str, ...] = ()) -> bool:
        """Whether `now` is inside the calling hours in every zone (no zones: never), and inside the rules
        of the person's `regions` (from `regions_of`) in each zone too."""
        if not zones:
            return False
        key = (zones, regions, int(now // 60))
        hit = self._cache.get(key)
        if hit is None:
            if len(self._cache) >= _CACHE_MAX:
                self._cache.clear()
            hit = self._cache[key] = all(self.allowed_in_zone(z, now, regions) for z in zones)
        return hit

    def next_open(self, zones: tuple[str, ...], now: float, regions: tuple[str, ...] = ()) -> float | None:
        """The first instant >= `now` allowed in all zones (and by the `regions`' rules), or None within
        three weeks."""
        if self.allowed(zones, now, regions):
            return now
        candidates: set[float] = set()
        for name in zones:
            tz = self._zone(name)
            start_day = datetime.fromtimestamp(now, tz).date()
            for offset in range(_HORIZON_DAYS + 1):
                day = start_day + timedelta(days=offset)
                windows = [self._hours.window_for(day.weekday())]
                windows += [self._rules[r].window_for(day.weekday()) for r in regions]
                for window in windows:
                    if window is None:
                        continue
                    h, m = divmod(window.start_min, 60)
                    t = datetime(day.year, day.month, day.day, h, m, tzinfo=tz).timestamp()
                    if t >= now:
                        candidates.add(t)
        for t in sorted(candidates):
            if self.allowed(zones, t, regions):
                return t
        return None

    def local_day(self, zones: tuple[str, ...], now: float) -> str:
        """The person's local date (first zone) as YYYY-MM-DD: the key of the per-day attempt cap."""
        return datetime.fromtimestamp(now, self._home(zones)).date().isoformat()

    def next_midnight(self, zones: tuple[str, ...], now: float) -> float:
        """The start of the person's next local day (first zone)."""
        tz = self._home(zones)
        day = datetime.fromtimestamp(now, tz).date() + timedelta(days=1)
        return datetime(day.year, day.month, day.day, tzinfo=tz).timestamp()

    def local_month(self, zones: tuple[str, ...], now: float) -> str:
        """The person's local calendar month (first zone) as YYYY-MM: the key of the monthly contact cap."""
        return datetime.fromtimestamp(now, self._home(zones)).strftime("%Y-%m")

    def next_month(self, zones: tuple[str, ...], now: float) -> float:
        """The start of the person's next local calendar month (first zone)."""
        tz = self._home(zones)
        d = datetime.fromtimestamp(now, tz)
        year, month = (d.year + 1, 1) if d.month == 12 else (d.year, d.month + 1)
        return datetime(year, month, 1, tzinfo=tz).timestamp()

    def at_local(self, zones: tuple[str, ...], now: float, days_ahead: int, minute: int) -> float:
        """The instant `days_ahead` local days after `now`'s date at `minute` past local midnight (first zone)."""
        tz = self._home(zones)
        day = datetime.fromtimestamp(now, tz).date() + timedelta(days=days_ahead)
        h, m = divmod(minute, 60)
        return datetime(day.year, day.month, day.day, h, m, tzinfo=tz).timestamp()

    def describe(self, regions: tuple[str, ...] = ()) -> str:
        h = self._hours
        days = ",".join(h.days)
        extra = "".join(f", {d}: {w or 'no calls'}" for d, w in h.by_day.items())
        narrower = "".join(f"; {r}: {self._rules[r].describe()}" for r in regions)
        return f"{h.window} local time on {days}{extra}{narrower}"


def _inside(window: Window | None, local: datetime) -> bool:
    if window is None:
        return False
    minute = local.hour * 60 + local.minute
    return window.start_min <= minute < window.end_min
