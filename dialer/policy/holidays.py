"""Public holidays by jurisdiction, computed from their rules (no data files to go stale).

US: the eleven federal holidays. UK: the bank holidays of England and Wales (the largest calling
population); one-off holidays (a coronation, a jubilee) go into the campaign's own `holidays` list.
Both the real date and the observed/substitute weekday are returned: a campaign that observes public
holidays does not call on either.
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache

__all__ = ["easter_sunday", "public_holidays"]


def _nth_weekday(year: int, month: int, weekday: int, n: int) -> date:
    first = date(year, month, 1)
    return first + timedelta(days=(weekday - first.weekday()) % 7 + 7 * (n - 1))


def _last_weekday(year: int, month: int, weekday: int) -> date:
    nxt = date(year + (month == 12), month % 12 + 1, 1)
    last = nxt - timedelta(days=1)
    return last - timedelta(days=(last.weekday() - weekday) % 7)


def easter_sunday(year: int) -> date:
    """Gregorian Easter (the anonymous Gregorian algorithm)."""
    a = year % 19
    b, c = divmod(year, 100)
    d, e = divmod(b, 4)
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    ell = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * ell) // 451
    month, day = divmod(h + ell - 7 * m + 114, 31)
    return date(year, month, day + 1)


def _us(year: int) -> set[date]:
    fixed = [date(year, 1, 1), date(year, 6, 19), date(year, 7, 4), date(year, 11, 11), date(year, 12, 25)]
    out = set(fixed)
    for d in fixed:
        if d.weekday() == 5:
            out.add(d - timedelta(days=1))
        elif d.weekday() == 6:
            out.add(d + timedelta(days=1))
    out |= {
        _nth_weekday(year, 1, 0, 3),  # Martin Luther King Jr. Day
        _nth_weekday(year, 2, 0, 3),  # Washington's Birthday
        _last_weekday(year, 5, 0),  # Memorial Day
        _nth_weekday(year, 9, 0, 1),  # Labor Day
        _nth_weekday(year, 10, 0, 2),  # Columbus Day
        _nth_weekday(year, 11, 3, 4),  # Thanksgiving
    }
    return out


def _uk(year: int) -> set[date]:
    easter = easter_sunday(year)
    out = {
        easter - timedelta(days=2),
        easter + timedelta(days=1),
        _nth_weekday(year, 5, 0, 1),
        _last_weekday(year, 5, 0),
        _last_weekday(year, 8, 0),
    }
    fixed = [date(year, 1, 1), date(year, 12, 25), date(year, 12, 26)]
    out |= set(fixed)
    taken = set(out)
    for d in fixed:
        if d.weekday() >= 5:
            sub = d + timedelta(days=1)
            while sub.weekday() >= 5 or sub in taken:
                sub += timedelta(days=1)
            out.add(sub)
            taken.add(sub)
    return out


@lru_cache(maxsize=64)
def public_holidays(jurisdiction: str, year: int) -> frozenset[date]:
    """The public holidays (real and observed dates) of `jurisdiction` ("us" or "uk") in `year`."""
    if jurisdiction == "us":
        return frozenset(_us(year))
    if jurisdiction == "uk":
        return frozenset(_uk(year))
    raise ValueError(f"unknown jurisdiction {jurisdiction!r}; use us or uk")
