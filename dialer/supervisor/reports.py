"""The reports management reads, computed from call records, dispositions and the agent-state journal.

Pure: every function takes what was already read, typed (each call record parsed once by
`CallRecord.from_fields`, each journal entry a `JournalEntry`, each disposition a `Disp`: `report_io.load`)
and returns plain dicts, one per table row, so the same result becomes JSON, CSV or a chart. Times are the
daemon's clock.

Where a figure needs data that may be missing it says so rather than guessing: without the agent-state
journal (`<prefix>:agent_states`, written by the daemon on every agent state change, `talking` included
when a call connects; waiting counts ready, reserved, previewing and dialing time) wait and pause
times are `None`, and logged-in time falls back to the span from an agent's first to last call.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from agents.dispositions import DEFAULT_DISPOSITIONS, DispositionKind, DispositionSet
from dialer.engine.records import CallRecord
from pacing import Jurisdiction
from pacing.ledger import false_positives_per_screened

__all__ = [
    "CONTACTS_PER_SHIFT_GOAL",
    "Costs",
    "Disp",
    "JournalEntry",
    "SaleCodes",
    "abandon_compliance",
    "agent_shifts",
    "amd_screened",
    "attempts_histogram",
    "callback_punctuality",
    "cost_report",
    "funnel",
    "journal_times",
    "law_rate",
    "list_results",
    "local_hours",
    "pause_breakdown",
    "reason_breakdown",
    "screened_by_amd",
]

CONTACTS_PER_SHIFT_GOAL = 120  # operators' figure for auto-redial, per 8-hour agent shift
SHIFT_HOURS = 8.0
_WRONG_PERSON = {"wrong_number", "not_available"}
_TRUE = {"1", "yes", "true", "y"}


@dataclass(frozen=True, slots=True)
class Disp:
    """One disposition as the reports need it."""

    call_id: str
    agent_id: str
    code: str
    at: float  # when the wrap-up ended (a late disposition, which replaced `no_disposition`, keeps its time)
    fields: Mapping[str, str]
    lead_id: str = ""
    campaign_id: str = ""


_SALE_KINDS = (DispositionKind.SALE, DispositionKind.AGREED)
# the contact policy keeps these words whatever their kind (but callback, dnc): a follow-up's confirmation is
# its own stage (the funnel's `confirmed`), not a sale, as in the hopper's list figures
_OWN_WORDS = frozenset({"confirmed", "not_confirmed"})


class SaleCodes:
    """Which disposition codes count as a sale, per campaign, as the hopper's list figures count them
    (dialer.campaigns.vocab.Disposition.is_success): the codes of kind `sale` or `agreed` in the campaign's
    disposition set (the default set without one: `sale` and `agreed`); a code the set does not know counts
    when it is `sale` or `agreed`. Call it with (campaign id, code). Without `dispositions_for` every campaign
    has the default set. `campaigns` lists the campaigns, for `anywhere`."""

    def __init__(self, dispositions_for: Callable[[str], DispositionSet | None] | None = None,
                 campaigns: Callable[[], Iterable[str]] | None = None) -> None:
        self._for = dispositions_for
        self._campaigns = campaigns
        self._cache: dict[str, tuple[DispositionSet, frozenset[str]]] = {}

    @staticmethod
    def of(ds: DispositionSet) -> frozenset[str]:
        """The sale codes of one disposition set."""
        return frozenset(s.code for s in ds.specs if s.kind in _SALE_KINDS and s.code not in _OWN_WORDS)

    def _set(self, campaign_id: str) -> tuple[DispositionSet, frozenset[str]]:
        """The campaign's disposition set and its sale codes (worked out again when the set changes)."""
        ds = (self._for(campaign_id) if self._for is not None else None) or DEFAULT_DISPOSITIONS
        hit = self._cache.get(campaign_id)
        if hit is None or hit[0] is not ds:
            hit = self._cache[campaign_id] = (ds, self.of(ds))
        return hit

    def codes(self, campaign_id: str) -> frozenset[str]:
        return self._set(campaign_id)[1]

    def __call__(self, campaign_id: str, code: str) -> bool:
        ds, codes = self._set(campaign_id)
        return code in codes or (ds.get(code) is None and code in ("sale", "agreed"))

    def anywhere(self, code: str) -> bool:
        """Whether the code is a sale in some campaign (a disposition whose campaign is not known yet)."""
        return code in ("sale", "agreed") or any(self(c, code) for c in (self._campaigns() if self._campaigns
                                                                          else ()))


DEFAULT_SALES = SaleCodes()


@dataclass(frozen=True, slots=True)
class JournalEntry:
    """One entry of the agent-state journal (`<prefix>:agent_states`, `RedisStore.append_agent_state`): the
    agent's state from `at` on, and the pause's reason code ("" for none, or another state)."""

    agent_id: str
    state: str
    at: float
    reason: str = ""


def _day(t: float) -> str:
    return datetime.fromtimestamp(t).astimezone().strftime("%Y-%m-%d")


def _next_midnight(t: float) -> float:
    """The end of `t`'s local day (the days `_day` names): the next date's midnight at its own UTC offset,
    found as `tally.local_midnight` finds a day's start (a DST change overnight moves it, not the date)."""
    return datetime.combine(datetime.fromtimestamp(t).date() + timedelta(days=1), datetime.min.time()).timestamp()


def _contact(r: CallRecord) -> bool:
    # an AMD audit call (a machine verdict handed to a spare agent to check) reached an agent but is not a
    # live contact, as the wallboard's tally and the what-if history count it: every report agrees with them
    return r.connected_at is not None and not r.abandoned and not r.amd_audit


def _abandon(r: CallRecord) -> bool:
    """An abandon as the law and the ledger count it: a live answer offered to agents that none took in time.
    An agentless call that ended `abandoned` (its Redirect to the message was refused) waited for no agent."""
    return r.abandoned and r.offered_to_agents


def _ratio(a: float, b: float) -> float | None:
    return a / b if b else None


# ---------------------------------------------------------------------------------------------- agents
def journal_times(journal: Sequence[JournalEntry], until: float) -> dict[tuple[str, str], dict[str, float]]:
    """Seconds per state for each (agent, day), from the agent-state journal, oldest first. An interval runs
    from one entry of the agent to its next (or `until`); one that crosses midnight is split there, each day
    charged its own part (local days, as `_day` names them)."""
    out: dict[tuple[str, str], dict[str, float]] = defaultdict(lambda: defaultdict(float))
    last: dict[str, tuple[str, float]] = {}

    def charge(agent: str, state: str, start: float, end: float) -> None:
        while start < end:
            cut = _next_midnight(start)
            cut = end if cut <= start else min(cut, end)  # a clock that cannot move past `start` ends the split
            out[(agent, _day(start))][state] += cut - start
            start = cut

    for row in journal:
        agent, state, at = row.agent_id, row.state, row.at
        prev = last.get(agent)
        if prev is not None:
            charge(agent, prev[0], prev[1], at)
        last[agent] = (state, at)
    for agent, (state, at) in last.items():
        charge(agent, state, at, until)
    return {k: dict(v) for k, v in out.items()}


def agent_shifts(records: Iterable[CallRecord], disps: Mapping[str, Disp], journal: Sequence[JournalEntry] | None,
                 until: float, is_sale: SaleCodes = DEFAULT_SALES) -> list[dict[str, Any]]:
    """One row per agent per day: contacts, talk / wait / wrap / pause time, sales, contacts per hour
    and the share of the 120-per-shift goal that pace reaches."""
    acc: dict[tuple[str, str], dict[str, Any]] = {}

    def row(agent: str, day: str) -> dict[str, Any]:
        return acc.setdefault((agent, day), {"agent": agent, "day": day, "contacts": 0, "calls": 0, "talk_s": 0.0,
                                             "wrap_s": 0.0, "sales": 0, "first": math.inf, "last": -math.inf})

    for r in records:
        agent, connected = r.agent_id, r.connected_at
        if not agent or connected is None:
            continue
        x = row(agent, _day(connected))
        x["calls"] += 1
        x["contacts"] += int(_contact(r))
        x["talk_s"] += r.talk_s or 0.0
        x["first"] = min(x["first"], connected)
        x["last"] = max(x["last"], r.ended_at)
        d = disps.get(r.call_id)
        if d is not None:
            x["wrap_s"] += max(0.0, d.at - r.ended_at)
            x["sales"] += int(is_sale(r.campaign_id, d.code))
    times = journal_times(journal, until) if journal else {}
    for (agent, day) in times:
        row(agent, day)
    out: list[dict[str, Any]] = []
    for (agent, day), x in sorted(acc.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        t = times.get((agent, day))
        wait: float | None
        pause: float | None
        talk = x["talk_s"]
        if t is not None:
            logged = sum(v for k, v in t.items() if k != "logged_out")
            wait = sum(t.get(s, 0.0) for s in ("ready", "reserved", "previewing", "dialing"))
            pause = t.get("paused", 0.0)
            if "talking" in t:
                # each agent's own time on the phone: a call record credits the whole of a transferred call to
                # the agent who took it over, none of it to the one who talked first
                talk = t["talking"]
            else:  # a journal from before the daemon journaled `talking`: talk sits in "ready"
                wait = max(0.0, wait - x["talk_s"])
            wrap = t.get("wrapup", x["wrap_s"])
            source = "journal"
        else:
            logged = max(0.0, x["last"] - x["first"]) if x["calls"] else 0.0
            wait = pause = None
            wrap = x["wrap_s"]
            source = "calls"
        per_hour = x["contacts"] / (logged / 3600.0) if logged > 0 else None
        out.append({
            "agent": agent, "day": day, "logged_in_s": round(logged, 1), "contacts": x["contacts"],
            "talk_s": round(talk, 1), "wait_s": None if wait is None else round(wait, 1),
            "wrap_s": round(wrap, 1), "pause_s": None if pause is None else round(pause, 1), "sales": x["sales"],
            "contacts_per_hour": None if per_hour is None else round(per_hour, 2),
            "goal_per_hour": CONTACTS_PER_SHIFT_GOAL / SHIFT_HOURS,
            "goal_pct": None if per_hour is None else round(100.0 * per_hour * SHIFT_HOURS / CONTACTS_PER_SHIFT_GOAL,
                                                            1),
            "time_source": source,
        })
    return out


# ---------------------------------------------------------------------------------------------- pauses
def pause_breakdown(journal: Sequence[JournalEntry], until: float, labels: Mapping[str, str]) -> dict[str, Any]:
    """Pauses by reason, from the agent-state journal (oldest first):
    per agent per day (the day a pause began) and per reason over everyone, with how many pauses and their
    time. A pause runs from its entry to the agent's next entry (or `until`); a new reason starts a new one.
    `labels` gives each code its words (the config's own pauses and the dialer's); an unknown code keeps its
    code, a pause without one reads "unspecified"."""
    per: dict[tuple[str, str, str], list[float]] = defaultdict(lambda: [0, 0.0])
    agents_of: dict[str, set[str]] = defaultdict(set)
    open_: dict[str, tuple[str, float]] = {}  # agent -> (reason, since) of the pause they are in

    def close(agent: str, at: float) -> None:
        reason, since = open_.pop(agent)
        per[(agent, _day(since), reason)][1] += max(0.0, at - since)

    for row in journal:
        agent, state, at = row.agent_id, row.state, row.at
        reason = row.reason or "unspecified"
        current = open_.get(agent)
        if current is not None and state == "paused" and current[0] == reason:
            continue  # the same pause, journaled again (a restart, a reload)
        if current is not None:
            close(agent, at)
        if state == "paused":
            open_[agent] = (reason, at)
            per[(agent, _day(at), reason)][0] += 1
            agents_of[reason].add(agent)
    for agent in list(open_):
        close(agent, max(until, open_[agent][1]))
    total = sum(v[1] for v in per.values())
    by_agent = [{"agent": a, "day": d, "reason": r, "label": labels.get(r, r), "pauses": int(n),
                 "pause_s": round(t, 1), "mean_s": round(t / n, 1) if n else None}
                for (a, d, r), (n, t) in sorted(per.items(), key=lambda kv: (kv[0][1], kv[0][0], -kv[1][1]))]
    sums: dict[str, list[float]] = defaultdict(lambda: [0, 0.0])
    for (_a, _d, r), (n, t) in per.items():
        sums[r][0] += n
        sums[r][1] += t
    by_reason = [{"reason": r, "label": labels.get(r, r), "pauses": int(n), "pause_s": round(t, 1),
                  "share": _ratio(t, total), "agents": len(agents_of[r])}
                 for r, (n, t) in sorted(sums.items(), key=lambda kv: -kv[1][1])]
    return {"by_reason": by_reason, "by_agent": by_agent}


# ------------------------------------------------------------------------------------------- callbacks
LATE_BANDS: tuple[tuple[str, float], ...] = (("within_5min", 300.0), ("within_15min", 900.0), ("within_1h", 3600.0),
                                             ("later", math.inf))


def _quantile(sorted_values: Sequence[float], q: float) -> float | None:
    """The nearest-rank quantile (a value that happened), None for no values."""
    if not sorted_values:
        return None
    return sorted_values[max(0, math.ceil(q * len(sorted_values)) - 1)]


def _punctuality(lates: list[float], reached: int) -> dict[str, Any]:
    lates = sorted(lates)
    bands = dict.fromkeys((name for name, _ in LATE_BANDS), 0)
    for late in lates:
        bands[next(name for name, upto in LATE_BANDS if late <= upto)] += 1
    return {"dialed": len(lates), **bands, "on_time_share": _ratio(bands["within_5min"], len(lates)),
            "median_late_s": _quantile(lates, 0.5), "p90_late_s": _quantile(lates, 0.9), "reached": reached,
            "reached_share": _ratio(reached, len(lates))}


def callback_punctuality(records: Iterable[CallRecord]) -> dict[str, Any]:
    """How promised callbacks were kept: for each call placed for a scheduled callback, how late after the
    promised time it was placed (outside calling hours, or with every agent busy, it waits), and whether the
    person was reached; per campaign, and per agent who kept callbacks for themselves ("me"), with how many
    they called themselves. A callback that found nobody is retried as any no-answer: only its first call
    counts here."""
    camps: dict[str, tuple[list[float], list[int]]] = defaultdict(lambda: ([], [0]))
    owners: dict[str, dict[str, Any]] = {}
    for r in records:
        at = r.callback_at
        if at is None:
            continue
        late = max(0.0, r.created_at - at)
        reached = _contact(r)
        lates, hits = camps[r.campaign_id]
        lates.append(late)
        hits[0] += int(reached)
        owner = r.callback_for
        if owner:
            o = owners.setdefault(owner, {"lates": [], "reached": 0, "by_them": 0, "by_others": 0})
            o["lates"].append(late)
            o["reached"] += int(reached)
            if reached:
                o["by_them" if r.agent_id == owner else "by_others"] += 1
    by_campaign = [{"campaign": c, **_punctuality(lates, hits[0])} for c, (lates, hits) in sorted(camps.items())]
    by_agent = [{"agent": a, **_punctuality(o["lates"], o["reached"]), "reached_by_them": o["by_them"],
                 "reached_by_others": o["by_others"]} for a, o in sorted(owners.items())]
    return {"by_campaign": by_campaign, "by_agent": by_agent}


# ---------------------------------------------------------------------------------------------- hours
def local_hours(records: Iterable[CallRecord]) -> dict[str, Any]:
    """Dials and what came of them by the hour of day where the called person is (the call record's `zone`,
    the first of the person's time zones): when people answer, and when they turn out to be machines.
    Records without a zone (placed by an older version, or a lead source that knows none) are counted
    apart. Rates: `person_share` of the dials answered by a person, `contact_rate` of the dials that
    reached an agent, `abandon_rate` of the persons."""
    rows: dict[int, dict[str, Any]] = {}
    zones: dict[str, ZoneInfo | None] = {}
    without = 0
    for r in records:
        name = r.zone
        if name and name not in zones:
            try:
                zones[name] = ZoneInfo(name)
            except (ZoneInfoNotFoundError, ValueError):
                zones[name] = None
        tz = zones.get(name) if name else None
        if tz is None:
            without += 1
            continue
        hour = datetime.fromtimestamp(r.created_at, tz).hour
        x = rows.setdefault(hour, {"hour": hour, "dials": 0, "answered": 0, "persons": 0, "machines": 0,
                                   "contacts": 0, "abandoned": 0})
        x["dials"] += 1
        x["answered"] += r.answered_at is not None
        x["persons"] += r.offered_to_agents
        x["machines"] += r.outcome == "machine"
        x["contacts"] += _contact(r)
        x["abandoned"] += _abandon(r)
    out = [{**x, "person_share": _ratio(x["persons"], x["dials"]), "contact_rate": _ratio(x["contacts"], x["dials"]),
            "abandon_rate": _ratio(x["abandoned"], x["persons"])} for _h, x in sorted(rows.items())]
    return {"hours": out, "without_zone": without}


# ---------------------------------------------------------------------------------------------- lists
MANUAL_LIST = "(manual dial)"
UNKNOWN_LIST = "(list not recorded)"


def list_results(records: Iterable[CallRecord], disps: Mapping[str, Disp],
                 is_sale: SaleCodes = DEFAULT_SALES) -> list[dict[str, Any]]:
    """What each lead list brought in the window, per campaign: dials, persons, contacts, sales and
    abandons, with the contact rate, the conversion (sales per contact), dials per contact and the abandon
    rate of the persons. A list is the one that brought the lead (the call record's `lead_list`, its
    first); an agent's manual dial has none, and records written before the field existed are counted as
    `(list not recorded)`; those two come after the named lists. The hopper's own list figures
    (`GET /api/campaigns/{id}/lists`) count since the import; this is the same by any window, from the
    call records alone."""
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    for r in records:
        name = r.lead_list or (MANUAL_LIST if r.kind == "manual" else UNKNOWN_LIST)
        key = (r.campaign_id, name)
        x = rows.setdefault(key, {"campaign": key[0], "list": key[1], "dials": 0, "persons": 0, "contacts": 0,
                                  "sales": 0, "abandoned": 0})
        x["dials"] += 1
        x["persons"] += r.offered_to_agents
        if _contact(r):
            x["contacts"] += 1
            d = disps.get(r.call_id)
            x["sales"] += int(d is not None and is_sale(key[0], d.code))
        x["abandoned"] += _abandon(r)
    return [{**x, "contact_rate": _ratio(x["contacts"], x["dials"]), "conversion": _ratio(x["sales"], x["contacts"]),
             "dials_per_contact": _ratio(x["dials"], x["contacts"]),
             "abandon_rate": _ratio(x["abandoned"], x["persons"])}
            for _k, x in sorted(rows.items(), key=lambda kv: (kv[0][0], kv[0][1].startswith("("), kv[0][1]))]


# ---------------------------------------------------------------------------------------------- funnel
def funnel(records: Iterable[CallRecord], disps: Mapping[str, Disp], follow_ups: Iterable[Disp] = (),
           is_sale: SaleCodes = DEFAULT_SALES) -> list[dict[str, Any]]:
    """dialed -> live answer -> right person -> interested -> sale -> confirmed by follow-up -> dispatched.

    `follow_ups` are dispositions of any campaign for the same leads (a follow-up keeps the lead id):
    `confirmed` counts the sold leads with one coded confirmed; `dispatched` those whose confirmation's
    fields say dispatched=yes."""
    dialed = live = right = interested = sold = 0
    sold_leads: set[str] = set()
    for r in records:
        dialed += 1
        if r.human_at is None:
            continue
        live += 1
        if not _contact(r):
            continue
        d = disps.get(r.call_id)
        code = d.code if d is not None else ""
        if code in _WRONG_PERSON:
            continue
        right += 1
        sale = d is not None and is_sale(r.campaign_id, code)
        if sale or code == "callback" or (d is not None and str(d.fields.get("interested", "")).lower() in _TRUE):
            interested += 1
        if sale:
            sold += 1
            if r.lead_id:  # a sale without a lead has no follow-up to confirm it
                sold_leads.add(r.lead_id)
    # per lead, as sales are: a confirmation call made twice (the first got a callback, say) is one
    # confirmed sale, and the stage can never count more than the sales before it
    confirmed_leads: set[str] = set()
    dispatched_leads: set[str] = set()
    for f in follow_ups:
        if f.lead_id and f.lead_id in sold_leads and f.code == "confirmed":
            confirmed_leads.add(f.lead_id)
            if str(f.fields.get("dispatched", "")).lower() in _TRUE:
                dispatched_leads.add(f.lead_id)
    confirmed, dispatched = len(confirmed_leads), len(dispatched_leads)
    stages = [("dialed", dialed), ("live_answer", live), ("right_person", right), ("interested", interested),
              ("sale", sold), ("confirmed", confirmed), ("dispatched", dispatched)]
    out, prev = [], None
    for name, n in stages:
        out.append({"stage": name, "count": n, "of_previous": None if prev is None else _ratio(n, prev),
                    "of_dialed": _ratio(n, dialed)})
        prev = n
    return out


# ---------------------------------------------------------------------------------------------- reasons
def reason_breakdown(records: Iterable[CallRecord], disps: Mapping[str, Disp], cancel_reason_of: Mapping[str, str],
                     is_sale: SaleCodes = DEFAULT_SALES) -> dict[str, list[dict[str, Any]]]:
    """Refusal reasons (from the refusing agent's disposition fields `reason` or `refusal_reason`) and,
    per cancel reason of the lead (win-back), contacts, sales and conversion."""
    refusals: Counter[str] = Counter()
    contacts: Counter[str] = Counter()
    sales: Counter[str] = Counter()
    for r in records:
        if not _contact(r):
            continue
        d = disps.get(r.call_id)
        own = d.fields.get("cancel_reason") if d is not None else None
        # without a lead, only the call's own disposition says
        cancel = (cancel_reason_of.get(r.lead_id) if r.lead_id else None) or own or "(none)"
        contacts[cancel] += 1
        if d is None:
            continue
        if is_sale(r.campaign_id, d.code):
            sales[cancel] += 1
        elif d.code == "refused":
            refusals[d.fields.get("reason") or d.fields.get("refusal_reason") or "(not given)"] += 1
    total_ref = sum(refusals.values())
    return {
        "refusals": [{"reason": k, "count": n, "share": _ratio(n, total_ref)} for k, n in refusals.most_common()],
        "cancel_reasons": [{"cancel_reason": k, "contacts": n, "sales": sales[k], "conversion": _ratio(sales[k], n)}
                           for k, n in contacts.most_common()],
    }


# ---------------------------------------------------------------------------------------------- attempts
def attempts_histogram(records: Iterable[CallRecord], flag_over: int = 6,
                       shown: Callable[[str], str] | None = None) -> dict[str, Any]:
    """How many leads were dialed how many times in the window; leads above `flag_over` are listed, each lead id
    as `shown` gives it (a read-only caller's: its pseudonym; unset: the id). A lead is
    its campaign's (lead ids are per campaign: two campaigns' L1 are two persons' leads, or one person's
    twice, each with its own attempt caps). A dial without a lead id (an agent's manual dial of a typed
    number, a record older than the field) is no lead: `without_lead` counts those dials."""
    per_lead: Counter[tuple[str, str]] = Counter()
    without = 0
    for r in records:
        if not r.lead_id:
            without += 1
            continue
        per_lead[(r.campaign_id, r.lead_id)] += 1
    hist = Counter(per_lead.values())
    show = shown or (lambda lead: lead)
    # ordered by what is shown: the order of the hidden ids would tell something of them
    flagged = sorted((((cid, show(lead)), n) for (cid, lead), n in per_lead.items() if n > flag_over),
                     key=lambda x: (-x[1], x[0]))[:50]
    return {
        "histogram": [{"attempts": k, "leads": hist[k]} for k in sorted(hist)],
        "leads": len(per_lead),
        "max_attempts": max(per_lead.values(), default=0),
        "flag_over": flag_over,
        "flagged": [{"campaign_id": cid, "lead_id": lead, "attempts": n} for (cid, lead), n in flagged],
        "without_lead": without,
    }


# ---------------------------------------------------------------------------------------------- compliance
_SCREENED = {"HUMAN", "NOTSURE"}  # AMD's verdicts on a live answer it let through (SKIPPED: AMD was off)


def screened_by_amd(r: CallRecord) -> bool:
    """A live answer offered to agents that AMD screened: it brings estimated false positives (UK)."""
    return amd_screened(r.amd_status)


def amd_screened(amd_status: object) -> bool:
    """Whether a call record's AMD verdict (`amd_status`) screened a live answer (see `screened_by_amd`)."""
    return str(amd_status or "") in _SCREENED


@dataclass(frozen=True, slots=True)
class _Live:
    t: float  # when the call ended
    abandoned: bool
    machine: bool  # an agent dispositioned it as an answering machine
    screened: bool
    shown: bool  # in the report's window (False: the 24 hours before it, for the rolling windows only)


def _worst_rolling(ev: Sequence[_Live], window_s: float, phi: float) -> tuple[float | None, float | None,
                                                                              float | None]:
    """Worst abandon rate over windows of `window_s` ending at each live answer of the report's window
    (those of the history before it only fill the windows): (A + S·phi) / (L + S·phi), phi the estimated
    false positives per screened live answer (0: the plain rate). Returns (worst, where it ends, the plain
    rate A / L of that window)."""
    worst: float | None = None
    at: float | None = None
    plain: float | None = None
    lo = 0
    n = ab = scr = 0
    for e in ev:
        n += 1
        ab += e.abandoned
        scr += e.screened
        while ev[lo].t <= e.t - window_s:
            n -= 1
            ab -= ev[lo].abandoned
            scr -= ev[lo].screened
            lo += 1
        if not e.shown:
            continue
        fp = scr * phi
        rate = (ab + fp) / (n + fp)
        if worst is None or rate > worst:
            worst, at, plain = rate, e.t, ab / n
    return worst, at, plain


def law_rate(live: int, abandoned: int, fp: float) -> float | None:
    """(abandoned + estimated false positives) / (live answers + the same)."""
    return _ratio(abandoned + fp, live + fp)


def abandon_compliance(records: Iterable[CallRecord], cap: float = 0.03, machines: Collection[str] = frozenset(),
                       *, history: Iterable[CallRecord] = (),
                       law: Mapping[str, tuple[Jurisdiction, float]] | None = None) -> list[dict[str, Any]]:
    """Per campaign: abandoned / live answers per day, the worst rolling 24 hours (Ofcom), the whole
    window (FCC's 30 days when the window is 30 days), and the days above the cap.

    `history` are the records of the 24 hours before the window: a rolling 24 hours that ends inside the
    window and starts before it holds them too (only windows ending inside the report's are shown).

    `law` gives each campaign its jurisdiction and effective AMD false-positive share f (the pacer's
    knobs). For a UK campaign the law counts estimated AMD false positives, people AMD took for machines
    and hung up on, as abandoned live answers (docs/PACING.md, "Compliance ledger"): each live answer AMD
    screened (verdict HUMAN or NOTSURE) brings phi = f/(1-f) of them, and the rates (`rate`, per day,
    `worst_24h`, `days_over_cap`) are (A + S*phi) / (L + S*phi); `rate_plain` and `worst_24h_plain` are
    A / L beside them. For any other campaign the two are the same.

    `machines` are the calls an agent dispositioned as an answering machine (AMD off, or a machine AMD let
    through). The rate over every live answer is then Ofcom's reasoned estimate: the abandons less the
    machines' share m of the connected calls, over the live calls less the same share (m cancels). The
    report shows m and the strict rate beside it, every abandon a person and the machines out of the
    live answers (docs/PACING.md, "AMD off: what the law counts")."""
    lives: dict[str, list[_Live]] = defaultdict(list)
    for rows, in_window in ((history, False), (records, True)):
        for r in rows:
            if r.offered_to_agents:  # the rate's denominator, as in the ledger
                lives[r.campaign_id].append(_Live(r.ended_at, r.abandoned, r.call_id in machines,
                                                  screened_by_amd(r), in_window))
    out = []
    for cid in sorted(cid for cid, ev in lives.items() if any(e.shown for e in ev)):
        ev = sorted(lives[cid], key=lambda e: e.t)
        jurisdiction, f = (law or {}).get(cid, (Jurisdiction.US, 0.0))
        phi = false_positives_per_screened(f) if jurisdiction is Jurisdiction.UK else 0.0
        shown = [e for e in ev if e.shown]
        days: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
        for e in shown:
            d = days[_day(e.t)]
            d[0] += 1
            d[1] += int(e.abandoned)
            d[2] += int(e.screened)
        worst, worst_at, worst_plain = _worst_rolling(ev, 86400.0, phi)
        n_ab = sum(e.abandoned for e in shown)
        n_scr = sum(e.screened for e in shown)
        n_machines = sum(e.machine and not e.abandoned for e in shown)
        connected = len(shown) - n_ab
        fp = n_scr * phi
        daily = [{"day": k, "live": v[0], "abandoned": v[1], "screened": v[2], "false_positives": v[2] * phi,
                  "rate": law_rate(v[0], v[1], v[2] * phi), "rate_plain": _ratio(v[1], v[0])}
                 for k, v in sorted(days.items())]
        out.append({
            "campaign": cid, "cap": cap, "jurisdiction": jurisdiction.value, "amd_false_positive": f,
            "live": len(shown), "abandoned": n_ab, "screened": n_scr, "false_positives": fp,
            "rate": law_rate(len(shown), n_ab, fp), "rate_plain": _ratio(n_ab, len(shown)),
            "worst_24h": worst, "worst_24h_ends_at": worst_at, "worst_24h_plain": worst_plain, "days": daily,
            "days_over_cap": [k for k, (live, ab, scr) in sorted(days.items())
                              if ab + scr * phi > cap * (live + scr * phi)],
            "connected": connected, "machines_at_agents": n_machines,
            "machine_share": _ratio(n_machines, connected),
            "rate_strict": law_rate(len(shown) - n_machines, n_ab, fp),
        })
    return out


# ---------------------------------------------------------------------------------------------- cost
@dataclass(frozen=True, slots=True)
class Costs:
    per_minute: float = 0.0  # telecom cost per billed minute of an answered call
    per_agent_hour: float = 0.0
    billing_increment_s: float = 60.0  # minutes are billed per started increment


def cost_report(records: Iterable[CallRecord], disps: Mapping[str, Disp], agent_seconds: float, costs: Costs,
                is_sale: SaleCodes = DEFAULT_SALES) -> dict[str, Any]:
    """Telecom minutes and agent hours turned into cost per contact and per sale."""
    billed_s = 0.0
    contacts = sales = 0
    inc = max(1.0, costs.billing_increment_s)
    for r in records:
        if r.answered_at is not None:
            secs = max(0.0, r.ended_at - r.answered_at)
            billed_s += math.ceil(secs / inc) * inc
        if _contact(r):
            contacts += 1
            d = disps.get(r.call_id)
            sales += int(d is not None and is_sale(r.campaign_id, d.code))
    telecom = billed_s / 60.0 * costs.per_minute
    agents = agent_seconds / 3600.0 * costs.per_agent_hour
    total = telecom + agents
    return {
        "billed_minutes": round(billed_s / 60.0, 2), "telecom_cost": round(telecom, 2),
        "agent_hours": round(agent_seconds / 3600.0, 2), "agent_cost": round(agents, 2), "total_cost": round(total, 2),
        "contacts": contacts, "sales": sales,
        "cost_per_contact": None if not contacts else round(total / contacts, 2),
        "cost_per_sale": None if not sales else round(total / sales, 2),
        "per_minute": costs.per_minute, "per_agent_hour": costs.per_agent_hour,
    }
