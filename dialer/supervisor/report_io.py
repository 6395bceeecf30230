"""Read what the reports need from Redis (call records, dispositions, the agent-state journal), each parsed
once into its typed object, and render a report as JSON, CSV or SVG."""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from dialer.engine.records import CallRecord
from dialer.store import RedisStore
from dialer.supervisor import charts
from dialer.supervisor import reports as rp
from dialer.supervisor.records import iter_stream, parse_or_skip

__all__ = ["JOURNAL_STREAM", "Loaded", "load", "render_csv", "render_svg", "safe_json"]

JOURNAL_STREAM = "agent_states"  # <prefix>:agent_states: agent_id, campaign, state, at, reason
HISTORY_S = 86400.0  # the live answers read before `since`: the rolling 24 hours that end inside the window


@dataclass(slots=True)
class Loaded:
    since: float
    until: float
    records: list[CallRecord] = field(default_factory=list)  # in the window, the campaign's (or all)
    disps: dict[str, rp.Disp] = field(default_factory=dict)
    follow_ups: list[rp.Disp] = field(default_factory=list)  # every disposition since `since`, with its lead
    journal: list[rp.JournalEntry] | None = None
    # the live answers offered to agents that ended in the 24 hours before `since` (the campaign's, or all):
    # a rolling 24 hours ending inside the window holds them too (the compliance report's worst 24 h)
    history: list[CallRecord] = field(default_factory=list)


async def load(store: RedisStore, *, campaign: str | None, since: float, until: float) -> Loaded:
    """Records that ended in [since, until) (of `campaign`, or all), their dispositions, the journal, and
    the live answers of the 24 hours before `since` (`history`). The journal starts with the state each
    agent was in at `since` (their last entry before it, unless logged out), as an entry at `since`."""
    out = Loaded(since, until)
    lead_of: dict[str, tuple[str, str]] = {}
    async for entry_id, f in iter_stream(store, store.key("calls")):
        rec = parse_or_skip(entry_id, f, "reports")
        if rec is None:
            continue
        mine = campaign is None or rec.campaign_id == campaign
        if not rec.ended_at >= since:
            if rec.ended_at >= since - HISTORY_S and mine and rec.offered_to_agents:
                out.history.append(rec)
            continue
        lead_of[rec.call_id] = (rec.lead_id, rec.campaign_id)
        if rec.ended_at < until and mine:
            out.records.append(rec)
    async for _id, f in iter_stream(store, store.key("dispositions")):
        call_id = f.get("call_id", "")
        if call_id not in lead_of:
            continue
        try:
            fields = json.loads(f.get("disposition_fields") or "{}")
            at = float(f.get("disposed_at") or 0.0)
        except ValueError:
            continue
        lead, cid = lead_of[call_id]
        earlier = out.disps.get(call_id)
        if f.get("amends") and earlier is not None:
            at = earlier.at  # a late disposition: the wrap-up ended with the one it replaces
        d = rp.Disp(call_id=call_id, agent_id=f.get("agent_id", ""), code=f.get("disposition", ""), at=at,
                    fields={str(k): str(v) for k, v in (fields if isinstance(fields, dict) else {}).items()},
                    lead_id=lead, campaign_id=cid)
        out.disps[call_id] = d
        out.follow_ups.append(d)
    journal: list[rp.JournalEntry] = []
    before: dict[str, dict[str, str]] = {}  # each agent's last entry before `since`: its state at `since`
    async for _id, f in iter_stream(store, store.key(JOURNAL_STREAM)):
        try:
            at = float(f.get("at") or "nan")
        except ValueError:
            continue
        if at < since:
            before[f.get("agent_id", "")] = f
        elif at < until and (campaign is None or f.get("campaign") in (campaign, "")):
            journal.append(rp.JournalEntry(f.get("agent_id", ""), f.get("state", ""), at, f.get("reason", "")))
    # the state an agent was already in at `since` (ready since 08:55, a pause begun before noon) starts there
    under_way = [rp.JournalEntry(agent, f.get("state", ""), since, f.get("reason", ""))
                 for agent, f in sorted(before.items())
                 if f.get("state") not in ("", "logged_out") and (campaign is None or f.get("campaign") in
                                                                  (campaign, ""))]
    out.journal = (under_way + journal) or None
    return out


# a text cell beginning with one of these is a formula to Excel and LibreOffice (=HYPERLINK(...) sends the
# click, and the cells beside it, elsewhere): OWASP's "CSV injection"
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        return "" if not math.isfinite(v) else f"{v:.6g}"
    if isinstance(v, int):  # bool too: numbers are written as they are, a negative one included
        return str(v)
    text = str(v)
    return "'" + text if text.startswith(_FORMULA_START) else text


def render_csv(rows: Sequence[dict[str, Any]]) -> str:
    """CSV with the union of the rows' keys as header, in first-seen order. A text cell that a spreadsheet
    would read as a formula (it begins with = + - @, a tab or a carriage return: text from dispositions and
    lead imports, typed by agents or bought with a list) is written with a leading ' , as text. Lines end
    in CRLF (RFC 4180)."""
    cols: list[str] = []
    for r in rows:
        cols.extend(k for k in r if k not in cols and not isinstance(r[k], list | dict))
    buf = io.StringIO()
    # RFC 4180's CRLF line ends: the writer then quotes a cell holding a bare CR too, which a spreadsheet
    # would otherwise take for a new row (whose first cell could be a formula)
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(cols)
    for r in rows:
        w.writerow([_cell(r.get(c)) for c in cols])
    return buf.getvalue()


def render_svg(kind: str, table: list[dict[str, Any]], campaign: str | None) -> str:
    name = campaign or "all campaigns"
    if kind == "agents":
        rows = [r for r in table if r["contacts_per_hour"] is not None]
        return charts.bars(f"Contacts per hour by agent ({name})", [f"{r['agent']} {r['day'][5:]}" for r in rows],
                           [r["contacts_per_hour"] for r in rows], ref=rp.CONTACTS_PER_SHIFT_GOAL / rp.SHIFT_HOURS,
                           ref_label="goal 120 per shift")
    if kind == "funnel":
        return charts.hbars(f"Campaign funnel ({name})", [r["stage"].replace("_", " ") for r in table],
                            [r["count"] for r in table],
                            notes=["" if r["of_previous"] is None else f"({100 * r['of_previous']:.1f}% of previous)"
                                   for r in table])
    if kind == "reasons":
        ref = [r for r in table if r["table"] == "refusals"]
        can = [r for r in table if r["table"] == "cancel_reasons"]
        if can and (not ref or len(can) > 1):
            return charts.hbars(f"Conversion by cancel reason ({name})", [r["cancel_reason"] for r in can],
                                [r["sales"] for r in can],
                                notes=[f"sales of {r['contacts']} contacts" for r in can])
        return charts.hbars(f"Refusal reasons ({name})", [r["reason"] for r in ref], [r["count"] for r in ref])
    if kind == "attempts":
        return charts.bars(f"Leads by number of dials ({name})", [str(r["attempts"]) for r in table],
                           [r["leads"] for r in table])
    if kind == "compliance":
        days = [d for c in table[:1] for d in c["days"]]
        cap = table[0]["cap"] if table else 0.03
        return charts.line(f"Abandon rate per day ({table[0]['campaign'] if table else name})",
                           [d["day"] for d in days], [d["rate"] for d in days], cap=cap)
    if kind == "hours":
        return charts.bars(f"Contacts per 100 dials by the called person's local hour ({name})",
                           [f"{r['hour']:02d}h" for r in table],
                           [round(100.0 * (r["contact_rate"] or 0.0), 1) for r in table])
    if kind == "lists":
        rows = [r for r in table if r["contacts"]]
        return charts.hbars(f"Sales per 100 contacts by lead list ({name})",
                            [f"{r['list']} ({r['campaign']})" if campaign is None else r["list"] for r in rows],
                            [round(100.0 * (r["conversion"] or 0.0), 1) for r in rows],
                            notes=[f"{r['sales']} of {r['contacts']} contacts, {r['dials']} dials" for r in rows])
    if kind == "callbacks":
        per = [r for r in table if r["table"] == "by_campaign"]
        names = [n for n, _ in rp.LATE_BANDS]
        return charts.hbars(f"Callbacks called, by lateness after the promised time ({name})",
                            [n.replace("_", " ").replace("min", " min") for n in names],
                            [sum(r[n] for r in per) for n in names],
                            notes=[f"of {sum(r['dialed'] for r in per)}" for _ in names])
    if kind == "pauses":
        tot = [r for r in table if r["table"] == "by_reason"]
        return charts.hbars(f"Pause time by reason, minutes ({name})", [r["label"] for r in tot],
                            [round(r["pause_s"] / 60.0, 1) for r in tot],
                            notes=[f"{r['pauses']} pauses, {r['agents']} agent(s)" for r in tot])
    row = table[0] if table else {}
    return charts.bars(f"Cost ({name})", ["per contact", "per sale"],
                       [row.get("cost_per_contact") or 0.0, row.get("cost_per_sale") or 0.0])


def safe_json(obj: Any) -> str:
    """JSON where NaN and infinities become null (they are not JSON, and a client would choke on them)."""

    def clean(v: Any) -> Any:
        if isinstance(v, float) and not math.isfinite(v):
            return None
        if isinstance(v, dict):
            return {str(k): clean(x) for k, x in v.items()}
        if isinstance(v, list | tuple):
            return [clean(x) for x in v]
        return v

    return json.dumps(clean(obj))
