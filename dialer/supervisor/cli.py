"""The supervisor's daily commands, talking to a running daemon's API over HTTP with a token.

    dialer status
    dialer campaign list | show X | start X | pause X | stop X | create ID [--name ...] | edit X [...]
                    | revert X [--run-state keep|config]
    dialer pacing show X | set X [--mode M] [--ratio R] [--target-abandon T] [...] | log X [--limit N]
    dialer agents list [--campaign X] | pause A [--reason R] | logout A | unlock A
                  | listen|whisper|barge A --extension E
    dialer store show | acknowledge-loss [--note TEXT]
    dnc add NUMBER... [--campaign X] | check NUMBER | import FILE
    leads import CAMPAIGN FILE [--list-name N] [--encoding E] | show CAMPAIGN LEAD | recycle CAMPAIGN
    lists show CAMPAIGN | pause CAMPAIGN LIST | resume CAMPAIGN LIST
    subscribers import FILE [--region R]
    suppress set SUBJECT KIND [--days N | --until ISO] | lift SUBJECT KIND | show SUBJECT
    callbacks list CAMPAIGN [--agent A] | reassign CAMPAIGN --from A [--to B] | move CAMPAIGN --lead L [...]
    report KIND [--campaign X] [--since DAY] [--until DAY]     (CSV on stdout; --json for the JSON)

`--url` (or DIALER_API_URL, default http://127.0.0.1:8080) and `--token` (or DIALER_API_TOKEN) say
where and who; `--json` prints the API's answer as is. Errors print one line saying what to do and exit
1 (2 for usage errors, as argparse does). Only the standard library is used: this runs on any
machine that has the package, with no HTTP client dependency.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO

from dialer.errors import LeadError
from dialer.hopper.lists import dnc_rows
from dialer.leads.files import list_name_of_file
from pacing import Mode

__all__ = ["Api", "ApiCallError", "main", "register"]

DEFAULT_URL = "http://127.0.0.1:8080"


class ApiCallError(Exception):
    """The API call failed; the message is the one line to show (`status`: the HTTP status, if it answered)."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True, slots=True)
class Api:
    url: str
    token: str
    timeout_s: float = 30.0

    def call(self, method: str, path: str, body: Any = None, query: dict[str, Any] | None = None,
             raw: bytes | None = None, content_type: str = "application/json", text: bool = False) -> Any:
        """The answer's JSON (`text`: the answer as text, for a CSV)."""
        if not self.token:
            raise ApiCallError("no API token: pass --token or set DIALER_API_TOKEN (a token from [[api_tokens]])")
        qs = "?" + urllib.parse.urlencode({k: v for k, v in (query or {}).items() if v is not None}) if query else ""
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        req = urllib.request.Request(self.url.rstrip("/") + path + qs, data=data, method=method,
                                     headers={"Authorization": f"Bearer {self.token}", "Accept": "application/json",
                                              **({"Content-Type": content_type} if data is not None else {})})
        try:
            with urllib.request.urlopen(req, timeout=self.timeout_s) as resp:
                payload = resp.read()
        except urllib.error.HTTPError as exc:
            raise ApiCallError(_http_problem(exc), exc.code) from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise ApiCallError(f"cannot reach the dialer API at {self.url} ({reason}); is the daemon running? "
                               "set --url or DIALER_API_URL") from None
        if text:
            return payload.decode("utf-8")
        return json.loads(payload) if payload else None


def _on_off(value: str) -> bool:
    try:
        return {"on": True, "off": False}[value]
    except KeyError:
        raise argparse.ArgumentTypeError(f"{value!r}: say on or off") from None


def _day_or_epoch(value: str) -> float:
    """A report bound: a local date (2026-11-24, its midnight), a local date and time, or epoch seconds."""
    try:
        return float(value)
    except ValueError:
        pass
    try:
        return datetime.fromisoformat(value).timestamp()
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r}: give a date (2026-11-24), a date and time "
                                         "(2026-11-24T13:00) or epoch seconds") from None


def _http_problem(exc: urllib.error.HTTPError) -> str:
    try:
        body = json.loads(exc.read() or b"{}")
    except ValueError:
        body = {}
    detail = body.get("message") or body.get("detail") if isinstance(body, dict) else None
    if isinstance(detail, list):
        detail = "; ".join(f"{'.'.join(map(str, d.get('loc', [])))}: {d.get('msg')}" for d in detail)
    detail = detail or exc.reason
    if exc.code == 401:
        return f"not authorised ({detail}); pass --token or set DIALER_API_TOKEN"
    if exc.code == 403:
        return f"not allowed: {detail}"
    return f"{detail} (HTTP {exc.code})"


# ---------------------------------------------------------------------------------------------- output
def _table(rows: Sequence[Sequence[Any]], head: Sequence[str], out: TextIO) -> None:
    cells = [[str(h) for h in head], *[["" if c is None else str(c) for c in r] for r in rows]]
    widths = [max(len(r[i]) for r in cells) for i in range(len(head))]
    for r in cells:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip(), file=out)


def _when(t: float) -> str:
    return datetime.fromtimestamp(t).astimezone().strftime("%H:%M:%S")


def _stamp(t: float) -> str:
    return datetime.fromtimestamp(t).astimezone().strftime("%a %Y-%m-%d %H:%M %Z")


def _dur(s: float) -> str:
    s = int(max(0, s))
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60}:{s % 60:02d}"


def _agents(a: dict[str, int]) -> str:
    return "/".join(str(a.get(k, 0)) for k in ("ready", "talking", "wrapup", "paused"))


def _status(api: Api, args: argparse.Namespace, out: TextIO) -> Any:
    s = api.call("GET", "/api/status")
    if args.json:
        return s
    totals = ", ".join(f"{n} {k}" for k, n in s["agents"].items() if n) or "no agents logged in"
    # `dialing` only says the daemon is not stopping: whether it can dial is the PBX link's (and each campaign's)
    print(f"dialer: {'running' if s['dialing'] else 'stopping'} at {_when(s['now'])}{_pbx_link(s.get('pbx'))}; "
          f"agents: {totals}", file=out)
    _table([(c["id"], c["status"], c["mode"], f"{c['ratio']:.2f}", _agents(c["agents"]), c["calls"]["ringing"],
             c["calls"]["waiting"], c["calls"]["connected"], f"{c['dial_level']:.2f}", c["why"])
            for c in s["campaigns"]],
           ("CAMPAIGN", "STATUS", "MODE", "RATIO", "AGENTS R/T/W/P", "RINGING", "WAITING", "TALKING", "DIAL LEVEL",
            "WHY"), out)
    return None


def _pbx_link(pbx: dict[str, Any] | None) -> str:
    if not pbx:  # a daemon from before the link was reported
        return ""
    since = f" since {_when(pbx['since'])}" if pbx.get("since") is not None else ""
    held = " (no new dials)" if pbx["link"] != "up" else ""
    return f"; PBX link {pbx['link']}{since}{held}"


def _show_campaign(c: dict[str, Any], out: TextIO) -> None:
    p = c["pacing"]
    print(f"{c['id']} ({c['name'] or 'no name'}): {c['status']}", file=out)
    print(f"  pacing: {p['mode']}, ratio {p['ratio']}, target abandon {100 * p['target_abandon']:.1f}%, "
          f"max {p['max_calls_per_agent']} calls per agent", file=out)
    print(f"  agents ready/talking/wrap-up/paused: {_agents(c['agents'])}; calls ringing {c['calls']['ringing']}, "
          f"waiting {c['calls']['waiting']}, talking {c['calls']['connected']}; dial level {c['dial_level']}",
          file=out)
    print(f"  AMD {'on' if c['amd'] else 'off'}, ring {c['ring_timeout_s']:g} s, caller ID "
          f"\"{c['caller_id_name']}\" <{c['caller_id_number']}>", file=out)
    d = c.get("last_decision")
    print(f"  last decision: {c.get('why') or (d['why'] if d else 'none yet')}", file=out)
    _show_overrides(c.get("overrides"), out)


def _show_overrides(o: dict[str, Any] | None, out: TextIO) -> None:
    """The supervisor's changes that survive a restart, and anything wrong with them."""
    if not o:
        return
    parts = ["created at run time"] if o["created"] else []
    if o["run_state"]:
        parts.append(f"{o['run_state']['state']} by {o['run_state']['by'] or '?'}")
    parts += [f"{k} {v['value']} (config {v['configured']})" for k, v in {**o["pacing"], **o["settings"]}.items()]
    print(f"  kept across restarts: {'; '.join(parts) if parts else 'nothing (the config file applies)'}", file=out)
    _warn(o, out)
    for note in o["notes"]:
        print(f"  at start-up: {note}", file=out)


def _warn(o: dict[str, Any] | None, out: TextIO) -> None:
    if o and o.get("warning"):
        print(f"warning: {o['warning']}", file=out)


def _campaign(api: Api, args: argparse.Namespace, out: TextIO) -> Any:
    act, cid = args.action, str(getattr(args, "campaign", ""))
    if act == "list":
        got = api.call("GET", "/api/campaigns")
        if not args.json:
            _table([(c["id"], c["name"], c["status"], c["pacing"]["mode"], c["pacing"]["ratio"], _agents(c["agents"]),
                     c["last_decision"]["why"] if c["last_decision"] else "") for c in got],
                   ("CAMPAIGN", "NAME", "STATUS", "MODE", "RATIO", "AGENTS R/T/W/P", "LAST DECISION"), out)
        return got if args.json else None
    if act == "create":
        body: dict[str, Any] = {"id": args.id, "name": args.name}
        pacing = _pacing_body(args)
        if pacing:
            body["pacing"] = pacing
        if args.file:
            body["file"] = args.file
        got = api.call("POST", "/api/campaigns", body)
    elif act == "edit":
        body = {k: v for k, v in (("name", args.name), ("amd", args.amd), ("ring_timeout_s", args.ring_timeout),
                                  ("caller_id_name", args.caller_id_name),
                                  ("caller_id_number", args.caller_id_number),
                                  ("wrapup_timeout_s", args.wrapup_timeout), ("record_calls", args.record),
                                  ("after_wrapup_timeout", args.after_wrapup_timeout),
                                  ("late_disposition_s", args.late_disposition),
                                  ("preview_auto_dial_s", args.preview_auto_dial)) if v is not None}
        if not body:
            raise ApiCallError("nothing to change: give --name, --amd, --ring-timeout, --caller-id-*, --record, "
                               "--wrapup-timeout, --after-wrapup-timeout, --late-disposition or --preview-auto-dial")
        got = api.call("PATCH", f"/api/campaigns/{_q(cid)}", body)
    elif act == "revert":
        got = api.call("DELETE", f"/api/campaigns/{_q(cid)}/overrides", query={"run_state": args.run_state})
    elif act == "show":
        got = api.call("GET", f"/api/campaigns/{_q(cid)}")
    else:
        got = api.call("POST", f"/api/campaigns/{_q(cid)}/{act}")
        if not args.json:
            print(f"{got['id']}: {got['status']}", file=out)
            _warn(got.get("overrides"), out)
            return None
    if args.json:
        return got
    _show_campaign(got, out)
    return None


def _pacing_body(args: argparse.Namespace) -> dict[str, Any]:
    pairs = (("mode", args.mode), ("ratio", args.ratio), ("target_abandon", args.target_abandon),
             ("max_calls_per_agent", args.max_calls_per_agent), ("surplus_hangup_after_s", args.surplus_hangup_after))
    return {k: v for k, v in pairs if v is not None}


def _pacing(api: Api, args: argparse.Namespace, out: TextIO) -> Any:
    cid = _q(args.campaign)
    if args.action == "show":
        got = api.call("GET", f"/api/campaigns/{cid}/pacing")
        if not args.json:
            for k, v in got.items():
                print(f"{k:>22}: {v}", file=out)
        return got if args.json else None
    if args.action == "log":
        got = api.call("GET", f"/api/campaigns/{cid}/decisions", query={"limit": args.limit})
        if not args.json:
            print(f"{args.campaign}: {got['status']}, now {got['why']}", file=out)
            _table([(_when(d["now"]), d["mode"], d["launch"], d["ready_agents"], d["in_flight"],
                     f"{100 * d['predicted_abandon']:.1f}%", d["why"]) for d in got["decisions"]],
                   ("TIME", "MODE", "LAUNCH", "READY", "IN FLIGHT", "P(ABANDON)", "WHY"), out)
        return got if args.json else None
    if args.action == "amd-reset":
        got = api.call("POST", f"/api/campaigns/{cid}/amd_audit/reset", {"reason": args.reason})
        if not args.json:
            gone = got["forgotten"]
            print(f"{args.campaign}: AMD audit sample reset ({gone['persons']} persons in {gone['audited']} audits "
                  f"forgotten); {got['amd_audit']['why']}", file=out)
        return got if args.json else None
    body = _pacing_body(args)
    if not body:
        raise ApiCallError("nothing to change: give --mode, --ratio, --target-abandon, --max-calls-per-agent or "
                           "--surplus-hangup-after")
    got = api.call("PATCH", f"/api/campaigns/{cid}/pacing", body)
    if args.json:
        return got
    changes = ", ".join(f"{k} {got['before'][k]} -> {got['pacing'][k]}" for k in body)
    print(f"{args.campaign}: {changes}; the next pacing decision uses it", file=out)
    _warn(got.get("overrides"), out)
    return None


def _agents_cmd(api: Api, args: argparse.Namespace, out: TextIO) -> Any:
    if args.action == "list":
        got = api.call("GET", "/api/agents", query={"campaign": args.campaign, "state": args.state})
        if not args.json:
            _table([(a["id"], a["campaign"], a["state"], _dur(a["in_state_s"]),
                      a["pause_reason"] or a["call_id"] or "", a["calls_taken"]) for a in got],
                   ("AGENT", "CAMPAIGN", "STATE", "FOR", "REASON / CALL", "CALLS"), out)
        return got if args.json else None
    agent = _q(args.agent)
    if args.action in ("listen", "whisper", "barge"):
        got = api.call("POST", f"/api/agents/{agent}/spy", {"mode": args.action, "extension": args.extension})
        if not args.json:
            print(got["detail"], file=out)
        return got if args.json else None
    if args.action == "unlock":
        got = api.call("POST", f"/api/agents/{agent}/login-unlock")
        if not args.json:
            print(f"{got['agent_id']}: desk login " + ("unlocked; they can log in again now" if got["was_locked"]
                                                       else "was not locked (nothing to lift)"), file=out)
        return got if args.json else None
    if args.action == "pause":
        got = api.call("POST", f"/api/agents/{agent}/pause", {"reason": args.reason})
    else:
        got = api.call("POST", f"/api/agents/{agent}/logout")
    if args.json:
        return got
    pending = got["pending_pause"] or got["pending_logout"]
    tail = f" ({args.action} after the current call)" if pending else ""
    print(f"{got['id']}: {got['state']}{tail}", file=out)
    return None


def _store(api: Api, args: argparse.Namespace, out: TextIO) -> Any:
    if args.action == "acknowledge-loss":
        got = api.call("POST", "/api/state-store/acknowledge-loss", {"note": args.note})
        if not args.json:
            print("Redis data loss acknowledged: campaigns dial again" if got["acknowledged"] else
                  "no Redis data loss to acknowledge (nothing held)", file=out)
        return got if args.json else None
    got = api.call("GET", "/api/state-store")
    if args.json:
        return got
    lost, epoch, p = got["data_lost"], got["epoch"], got["persistence"]
    print(f"data epoch: {epoch['id'] + ' since ' + _when(epoch['created_at']) if epoch else 'not claimed yet'}",
          file=out)
    print(f"persistence: {p['describe'] if p else 'not checked yet'}", file=out)
    if lost:
        print(f"DATA LOST at {_when(lost['detected_at'])} (epoch {lost['previous_epoch']}, found {lost['found']}): "
              "no campaign dials until acknowledged; restore the do-not-call lists and leads first", file=out)
    return None


def _dnc(api: Api, args: argparse.Namespace, out: TextIO) -> Any:
    if args.action == "check":
        got = api.call("GET", f"/api/dnc/{_q(args.number)}", query={"region": args.region, "campaign": args.campaign})
        if not args.json:
            print(f"{got['number']} is {'ON' if got['dnc'] else 'not on'} the do-not-call list", file=out)
        return got if args.json else None
    counts = {"added": 0, "already": 0, "rejected": 0}
    errors: list[dict[str, Any]] = []
    if args.action == "import":
        numbers, lines, errors = _dnc_file(args.file)
        where: list[tuple[int, str | None]] = list(lines)
        counts["rejected"] = len(errors)
    else:
        numbers = list(args.numbers)
        where = [(i, None) for i in range(1, len(numbers) + 1)]
    for i, j in _dnc_batches(numbers):
        got = api.call("POST", "/api/dnc", {"numbers": numbers[i:j], "region": args.region,
                                            **({"campaign": args.campaign} if args.campaign else {})})
        for k in counts:
            counts[k] += got[k]
        # the API numbers its errors by position in this batch: back to the file's line and column (or the
        # argument)
        for e in got["errors"]:
            line, column = where[i + e["line"] - 1]
            errors.append({**e, "line": line, "column": column})
    errors.sort(key=lambda e: e["line"])
    if args.json:
        return {**counts, "errors": errors}
    print(f"do-not-call: {counts['added']} added, {counts['already']} already listed, {counts['rejected']} rejected",
          file=out)
    _print_issues(errors, "line" if args.action == "import" else "item", out, columns=True)
    return None


def _dnc_batches(numbers: list[str], most: int = 10_000, chars: int = 500_000) -> list[tuple[int, int]]:
    """[start, end) of each `POST /api/dnc` batch: at most `most` numbers and `chars` characters (the API
    takes 10,000 and 1,000,000), at least one number each."""
    out: list[tuple[int, int]] = []
    start = size = 0
    for k, n in enumerate(numbers):
        if k > start and (k - start >= most or size + len(n) > chars):
            out.append((start, k))
            start, size = k, 0
        size += len(n)
    if start < len(numbers):
        out.append((start, len(numbers)))
    return out


def _dnc_file(path: str) -> tuple[list[str], list[tuple[int, str]], list[dict[str, Any]]]:
    """A DNC file's numbers, the line and column of each, and the rows without a number (by line, as
    rejected), read as the server reads DNC files (`dialer.hopper.lists.dnc_rows`: every number column)."""
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise ApiCallError(f"cannot read {path}: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        raise ApiCallError(f"{path} is not UTF-8 (byte {exc.start}): save it as UTF-8") from None
    numbers: list[str] = []
    where: list[tuple[int, str]] = []
    bad: list[dict[str, Any]] = []
    try:
        for row in dnc_rows(text):
            if not row.number:
                # never dropped without a word: the person on this row is reported as not added
                plural = "s" if ", " in row.column else ""
                bad.append({"line": row.line, "reason": f"no number in column{plural} {row.column} (the row has "
                                                        f"{row.fields} field(s)); fix the row and import the file "
                                                        "again", "column": row.column})
                continue
            numbers.append(row.number)
            where.append((row.line, row.column))
    except LeadError as exc:
        raise ApiCallError(f"{path} is {exc}; fix it and import it again (nothing was sent)") from None
    if not numbers and not bad:
        raise ApiCallError(f"{path} has no numbers")
    return numbers, where, bad


def _file_bytes(path: str) -> bytes:
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise ApiCallError(f"cannot read {path}: {exc.strerror}") from None
    if not data.strip():
        raise ApiCallError(f"{path} is empty")
    return data


def _print_issues(issues: list[dict[str, Any]], what: str, out: TextIO, *, columns: bool = False) -> None:
    """The first 20 issues, one per line; `columns`: with the column each names, unless its reason does."""
    for e in issues[:20]:
        col = e.get("column") if columns else None
        at = f", column {col}" if col and col not in e["reason"] else ""
        print(f"  {what} {e.get('line', e.get('item'))}{at}: {e['reason']}", file=out)
    if len(issues) > 20:
        print(f"  ... {len(issues) - 20} more (--json lists them all)", file=out)


def _explained(got: dict[str, Any]) -> list[str]:
    """A lead's account in lines a supervisor reads: where it is and whether it may be dialed now."""
    where = got["where"]
    queue = where["queue"]
    place = {"finished": f"finished ({where.get('reason')})", "in flight": "being dialed or on a preview screen",
             "callback": "a scheduled callback" + (f" kept for {where['kept_for']}" if where.get("kept_for") else "")
             + (f", due {_stamp(where['at'])}" if where.get("at") else ""),
             "ready": "in the ready queue", "retry": f"waiting to be retried from {_stamp(where['at'])}" if
             where.get("at") else "waiting to be retried", "fresh": "not dialed yet (waiting to be filled)",
             "none": "in no queue"}[queue]
    v = got["verdict"]
    if v["dialable"]:
        verdict = f"may be dialed now, on {v['number']}"
    else:
        verdict = f"not dialable now: {v['block']}" + (f" ({v['detail']})" if v["detail"] else "")
        if v["not_before"] is not None and not v["final"]:
            verdict += f"; again from {_stamp(v['not_before'])}"
    numbers = ", ".join(n["number"] + (" DNC" if n["dnc"] else "") + (" dead" if n["dead"] else "")
                        for n in got["numbers"])
    return [f"lead {got['lead_id']} ({got['campaign_id']}): {place}",
            f"  {verdict}",
            f"  attempts {got['attempts']} ({got['attempts_today']} today), last outcome {got['last_outcome'] or '-'}",
            f"  numbers {numbers}; zones {', '.join(got['zones']) or '-'}"
            + "".join(f"; {r}'s hours" for r in got.get("hours_regions", ()))]


# the id an import gives a lead whose row has none (dialer/leads/rows.py, LeadParser._parse)
LEAD_ID_RULE = ("a lead imported without an id is s-<subscriber_id> when its row has one, else n and the E.164 digits "
                "of its first valid number (n14155550123); give a number as +<country code><number>")


def _lead_id(text: str) -> str:
    """A lead id as given, or for a number in international form (+1 415 555 0123) the id an import gives a lead
    without one: n and its E.164 digits."""
    if not text.strip().startswith("+"):
        return text
    from dialer.leads.phone import normalize

    try:
        return "n" + normalize(text)[1:]
    except LeadError as exc:
        raise ApiCallError(f"{exc}; {LEAD_ID_RULE}") from None


def _leads(api: Api, args: argparse.Namespace, out: TextIO) -> Any:
    if args.action == "show":
        try:
            got = api.call("GET", f"/api/campaigns/{_q(args.campaign)}/leads/{_q(_lead_id(args.lead))}")
        except ApiCallError as exc:
            if exc.status not in (404, 422):
                raise
            raise ApiCallError(f"{exc}; {LEAD_ID_RULE}", exc.status) from None
        if args.json:
            return got
        print("\n".join(_explained(got)), file=out)
        return None
    if args.action == "recycle":
        got = api.call("POST", f"/api/campaigns/{_q(args.campaign)}/leads/recycle")
        if args.json:
            return got
        print(f"{args.campaign}: {got['revived']} lead(s) that had reached the attempt cap are due again "
              f"(up to {got['max_attempts_total']} attempts); {got['still_capped']} are at that cap still", file=out)
        return None
    jsonl = Path(args.file).suffix.lower() in (".jsonl", ".ndjson")
    list_name = args.list_name or list_name_of_file(args.file)
    got = api.call("POST", f"/api/campaigns/{_q(args.campaign)}/leads/upload",
                   query={"list_name": list_name, "encoding": args.encoding},
                   raw=_file_bytes(args.file), content_type="application/x-ndjson" if jsonl else "text/csv")
    if args.json:
        return got
    print(got["summary"], file=out)
    _print_issues(got["errors"], "line", out)
    return None


def _lists(api: Api, args: argparse.Namespace, out: TextIO) -> Any:
    base = f"/api/campaigns/{_q(args.campaign)}/lists"
    if args.action == "show":
        got = api.call("GET", base)
        if args.json:
            return got
        if got["lists"]:
            print(f"{'list':<32} {'leads':>9} {'dials':>9} {'contacts':>9} {'sales':>7} {'conv':>6} "
                  f"{'finished':>9} {'remaining':>9}  state", file=out)
        for x in got["lists"]:
            conv = f"{100 * x['sales'] / x['contacts']:.1f}%" if x["contacts"] else "-"
            print(f"{x['name']:<32} {x['leads']:>9} {x['dials']:>9} {x['contacts']:>9} {x['sales']:>7} {conv:>6} "
                  f"{x['finished']:>9} {x['remaining']:>9}  {'PAUSED' if x['paused'] else 'running'}", file=out)
        if not got["lists"]:
            print(f"{args.campaign}: no lists (no lead was imported)", file=out)
        return None
    got = api.call("POST", f"{base}/{_q(args.list)}/{args.action}")
    if args.json:
        return got
    if args.action == "pause":
        print(f"{args.campaign}: list {got['name']} paused; its leads wait until it is resumed (those also in "
              "a running list, and due callbacks, do not)", file=out)
    else:
        print(f"{args.campaign}: list {got['name']} resumed; {got['released']} lead(s) that waited for it are "
              "due again", file=out)
    return None


def _subscribers(api: Api, args: argparse.Namespace, out: TextIO) -> Any:
    got = api.call("POST", "/api/subscribers/upload", query={"region": args.region}, raw=_file_bytes(args.file),
                   content_type="text/csv")
    if args.json:
        return got
    held = got.get("former_held", 0)
    print(f"subscriber base: {got['rows']} rows, {got['current']} current, {got['former']} former (removed), "
          f"{got['rejected']} rejected" + (f", {held} former numbers kept (another subscriber holds them now)"
                                          if held else ""), file=out)
    _print_issues(got["errors"], "line", out, columns=True)
    _print_issues(got.get("skipped", []), "line", out)
    return None


def _callbacks(api: Api, args: argparse.Namespace, out: TextIO) -> Any:
    cid = _q(args.campaign)
    if args.action == "list":
        query = {"limit": str(args.limit), **({"agent": args.agent} if args.agent else {})}
        got = api.call("GET", f"/api/campaigns/{cid}/callbacks", query=query)
        if args.json:
            return got
        if not got["callbacks"]:
            print(f"{args.agent}: no callback kept in {args.campaign}" if args.agent else
                  f"no callback scheduled in {args.campaign}", file=out)
        for c in got["callbacks"]:
            lead = c.get("lead") or {}
            name = " ".join(x for x in (lead.get("first_name"), lead.get("last_name")) if x) or c["lead_id"]
            when = datetime.fromtimestamp(c["at"]).isoformat(" ", "minutes")
            whose = "" if args.agent else f"  [{c.get('kept_for') or 'anyone'}]"
            print(f"{when}  {name}  {c['number']}  (lead {c['lead_id']}){whose}", file=out)
        return None
    if args.action == "move":
        got = api.call("POST", f"/api/campaigns/{cid}/callbacks/move",
                       {"lead_id": args.lead, "at": args.at, "agent": args.to})
        if args.json:
            return got
        when = "" if got["at"] is None else " to " + datetime.fromtimestamp(got["at"]).isoformat(" ", "minutes")
        print(f"callback of lead {args.lead} moved{when}, kept for {args.to or 'any agent'}", file=out)
        return None
    body = {"from_agent": args.from_agent, "to_agent": args.to}
    got = api.call("POST", f"/api/campaigns/{cid}/callbacks/reassign", body)
    if args.json:
        return got
    print(f"{got['moved']} callback(s) of {args.from_agent} now kept for {args.to or 'any agent'}", file=out)
    return None


REPORT_KINDS = ("agents", "pauses", "callbacks", "hours", "lists", "funnel", "reasons", "attempts", "compliance",
                "cost")


def _report(api: Api, args: argparse.Namespace, out: TextIO) -> Any:
    query = {"campaign": args.campaign, "since": args.since, "until": args.until}
    if args.json:
        return api.call("GET", f"/api/reports/{args.kind}", query=query)
    out.write(api.call("GET", f"/api/reports/{args.kind}", query={**query, "format": "csv"}, text=True))
    return None


def _suppress(api: Api, args: argparse.Namespace, out: TextIO) -> Any:
    if args.action == "show":
        got = api.call("GET", f"/api/suppressions/{_q(args.subject)}")
        if args.json:
            return got
        if not got["suppressions"]:
            print(f"{got['subject']}: no suppression in force", file=out)
        for kind, until in got["suppressions"].items():
            local = None if until is None else datetime.fromtimestamp(until).isoformat(" ", "minutes")
            when = "until lifted" if local is None else f"until {local}"
            print(f"{got['subject']}: {kind} {when}", file=out)
        return None
    signal: dict[str, Any] = {"subject": args.subject, "kind": args.kind}
    if args.action == "lift":
        signal["action"] = "lift"
    elif args.days is not None:
        signal["days"] = args.days
    elif args.until is not None:
        try:
            signal["until"] = datetime.fromisoformat(args.until).timestamp()
        except ValueError:
            raise ApiCallError(f"--until {args.until!r} is not a date and time like 2026-12-01T18:00") from None
    got = api.call("POST", "/api/suppressions", {"signals": [signal]})
    if args.json:
        return got
    if got["errors"]:
        raise ApiCallError(got["errors"][0]["reason"])
    print(f"{args.subject}: {args.kind} {'lifted' if args.action == 'lift' else 'set'}", file=out)
    return None


def _q(part: str) -> str:
    return urllib.parse.quote(part, safe="+")


# ---------------------------------------------------------------------------------------------- wiring
Handler = Callable[[Api, argparse.Namespace, TextIO], Any]


def _run(handler: Handler) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        api = Api(args.url, args.token or "", args.timeout)
        out: TextIO = getattr(args, "out", None) or sys.stdout
        try:
            got = handler(api, args, out)
        except ApiCallError as exc:
            print(f"dialer {args.command}: {exc}", file=getattr(args, "err", None) or sys.stderr)
            return 1
        if got is not None:
            print(json.dumps(got, indent=2), file=out)
        return 0

    return run


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--url", default=os.environ.get("DIALER_API_URL", DEFAULT_URL),
                   help=f"the daemon's API (default $DIALER_API_URL or {DEFAULT_URL})")
    p.add_argument("--token", default=os.environ.get("DIALER_API_TOKEN"),
                   help="API token (default $DIALER_API_TOKEN)")
    p.add_argument("--json", action="store_true", help="print the API's JSON answer")
    p.add_argument("--timeout", type=float, default=30.0, help=argparse.SUPPRESS)


def _knob_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--mode", choices=[m.value for m in Mode], help="the dialing mode (docs/PACING.md)")
    p.add_argument("--ratio", type=float, help="power mode: calls per ready agent (1-10)")
    p.add_argument("--target-abandon", type=float, help="predictive: abandon target, 0-0.03 (0.02 = 2%%)")
    p.add_argument("--max-calls-per-agent", type=float,
                   help="cap: dials in flight per logged-in agent (1 or more)")
    p.add_argument("--surplus-hangup-after", type=float, metavar="SECONDS",
                   help="predictive: hang up a dial ringing this long (15 s at least) when no agent would take its "
                   "answer; 0: never")


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `status`, `campaign`, `pacing`, `agents`, `dnc`, `leads`, `subscribers`, `callbacks`, `report` and
    `suppress` to `dialer`."""
    s = sub.add_parser("status", help="every campaign at a glance (supervisor API)")
    _common(s)
    s.set_defaults(handler=_run(_status))

    c = sub.add_parser("campaign", help="list, show, start, pause, stop, create, edit or revert campaigns")
    cs = c.add_subparsers(dest="action", required=True, metavar="ACTION")
    for act in ("list", "show", "start", "pause", "stop"):
        p = cs.add_parser(act, help={"list": "all campaigns", "show": "one campaign", "start": "resume dialing",
                                     "pause": "no new dials", "stop": "no new dials, agents paused"}[act])
        if act != "list":
            p.add_argument("campaign")
        _common(p)
    p = cs.add_parser("create", help="add a campaign to the running daemon (starts paused; admin)")
    p.add_argument("id")
    p.add_argument("--name", default="", help="the campaign's display name (default: none)")
    p.add_argument("--file", help="campaign file on the daemon's host")
    _knob_args(p)
    _common(p)
    p = cs.add_parser("edit", help="change AMD, ring timeout, caller ID, recording, wrap-up and preview settings or "
                                   "name (admin)")
    p.add_argument("campaign")
    p.add_argument("--name", help="the campaign's display name")
    p.add_argument("--amd", type=_on_off, metavar="on|off", help="answering-machine detection on the next dials")
    p.add_argument("--ring-timeout", type=float, metavar="S", help="seconds an unanswered dial rings (15-120)")
    p.add_argument("--caller-id-name", help="the name shown to the person called")
    p.add_argument("--caller-id-number", help="the number shown to the person called (digits, with + and "
                                              "country code for E.164)")
    p.add_argument("--record", type=_on_off, metavar="on|off", help="record conversations from the next dial on")
    p.add_argument("--wrapup-timeout", type=float, metavar="S", help="seconds an agent has to dispose a call")
    p.add_argument("--after-wrapup-timeout", choices=["pause", "ready"],
                   help="an agent whose wrap-up runs out is paused, or ready at once")
    p.add_argument("--late-disposition", type=float, metavar="S",
                   help="seconds a call closed by a wrap-up that ran out may still be disposed (0: never)")
    p.add_argument("--preview-auto-dial", type=float, metavar="S",
                   help="seconds a previewed lead waits before it is dialed by itself (0: only on Dial)")
    _common(p)
    p = cs.add_parser("revert", help="drop the pacing and settings changes kept across restarts: back to the "
                                     "config file, now")
    p.add_argument("campaign")
    p.add_argument("--run-state", choices=["keep", "config"], default="keep",
                   help="keep (default): running, paused or stopped as now; config: running again as the config "
                   "file starts it (a campaign created at run time: paused)")
    _common(p)
    c.set_defaults(handler=_run(_campaign))

    g = sub.add_parser("pacing", help="show or change pacing knobs live; the decision log; reset the AMD audit")
    gs = g.add_subparsers(dest="action", required=True, metavar="ACTION")
    for act in ("show", "set", "log", "amd-reset"):
        p = gs.add_parser(act, help={"show": "the knobs", "set": "change knobs (next decision uses them)",
                                     "log": "recent decisions and why",
                                     "amd-reset": "forget the AMD audit sample after tuning AMD: the configured "
                                                  "false-positive share applies until enough new audits are in"}[act])
        p.add_argument("campaign")
        if act == "set":
            _knob_args(p)
        if act == "log":
            p.add_argument("--limit", type=int, default=20, help="the last N decisions (default 20)")
        if act == "amd-reset":
            p.add_argument("--reason", required=True, help="why the old sample no longer holds (audit log)")
        _common(p)
    g.set_defaults(handler=_run(_pacing))

    a = sub.add_parser("agents", help="list agents; pause or log one out; unlock a desk login; listen, whisper, "
                                      "barge")
    as_ = a.add_subparsers(dest="action", required=True, metavar="ACTION")
    p = as_.add_parser("list", help="agents and their states")
    p.add_argument("--campaign", help="only this campaign's agents")
    p.add_argument("--state", help="only agents in this state",
                   choices=["ready", "reserved", "previewing", "dialing", "talking", "wrapup", "paused",
                            "logged_out"])
    _common(p)
    p = as_.add_parser("pause", help="pause an agent (after the current call)")
    p.add_argument("agent")
    p.add_argument("--reason", default="supervisor", help="the pause reason recorded (default supervisor)")
    _common(p)
    p = as_.add_parser("logout", help="log an agent out (after the current call)")
    p.add_argument("agent")
    _common(p)
    p = as_.add_parser("unlock", help="lift an agent's desk login lock after too many wrong passwords")
    p.add_argument("agent")
    _common(p)
    for mode in ("listen", "whisper", "barge"):
        p = as_.add_parser(mode, help=f"{mode} on the agent's live call from your phone")
        p.add_argument("agent")
        p.add_argument("--extension", required=True, help="your phone (PJSIP endpoint) that will ring")
        _common(p)
    a.set_defaults(handler=_run(_agents_cmd))

    st = sub.add_parser("store", help="the state store (Redis): its data epoch and persistence; acknowledge a loss "
                                      "of its data")
    sts = st.add_subparsers(dest="action", required=True, metavar="ACTION")
    p = sts.add_parser("show", help="the data epoch, a loss not acknowledged yet, and Redis's persistence")
    _common(p)
    p = sts.add_parser("acknowledge-loss", help="after Redis lost its data and what only it held is restored (do-not-"
                                                "call lists, leads): campaigns dial again (supervisor)")
    p.add_argument("--note", default="", help="what was done about it (kept in the audit log)")
    _common(p)
    st.set_defaults(handler=_run(_store))

    d = sub.add_parser("dnc", help="do-not-call list: add, check, import a file")
    ds = d.add_subparsers(dest="action", required=True, metavar="ACTION")
    p1 = ds.add_parser("add", help="add numbers (final)")
    p1.add_argument("numbers", nargs="+")
    p2 = ds.add_parser("check", help="is a number on the list")
    p2.add_argument("number")
    p3 = ds.add_parser("import", help="add every number of a file (CSV with a number column, or one per line)")
    p3.add_argument("file")
    for p in (p1, p2, p3):
        p.add_argument("--campaign", help="the campaign's own list (default: global)")
        p.add_argument("--region", default="US", help="region of numbers written without +country (default US)")
        _common(p)
    d.set_defaults(handler=_run(_dnc))

    ld = sub.add_parser("leads", help="import a lead file into a campaign; show one lead; recycle capped leads")
    lds = ld.add_subparsers(dest="action", required=True, metavar="ACTION")
    p = lds.add_parser("import", help="import a CSV or JSON Lines (.jsonl) file with the campaign file's column rules")
    p.add_argument("campaign")
    p.add_argument("file")
    p.add_argument("--list-name", help="the list's name in the leads' sources and `dialer lists` (default: the "
                                       "file's name without its extension, each run of characters other than "
                                       "letters, digits, _ . - made one -, at most 64; upload if none is left)")
    p.add_argument("--encoding", help="the file's text encoding when it is not UTF-8, e.g. cp1252 (Windows "
                                      "Western), cp1251 (Windows Cyrillic), latin-1; the dialer reads it so")
    _common(p)
    p = lds.add_parser("show", help="one lead: where it waits and why it may or may not be dialed now")
    p.add_argument("campaign")
    p.add_argument("lead", help="its id, or a number in international form (+14155550123) for a lead imported "
                                "without an id: such a lead is n and its first number's E.164 digits "
                                "(n14155550123), or s-<subscriber_id> when its row has a subscriber_id")
    _common(p)
    p = lds.add_parser("recycle", help="leads that reached the attempt cap get another round, up to the campaign's "
                                       "max_attempts_total as loaded now (raise it in the campaign file first)")
    p.add_argument("campaign")
    _common(p)
    ld.set_defaults(handler=_run(_leads))

    ls = sub.add_parser("lists", help="a campaign's lead lists: show them, pause one (a wrong file), resume it")
    lss = ls.add_subparsers(dest="action", required=True, metavar="ACTION")
    p = lss.add_parser("show", help="each list: its leads, dials, contacts, sales, conversion, finished and "
                                    "remaining, paused or running")
    p.add_argument("campaign")
    _common(p)
    for action, text in (("pause", "its leads wait (except those also in a running list, and due callbacks)"),
                         ("resume", "the leads that waited for it are due again at once")):
        p = lss.add_parser(action, help=f"{action} one list: {text}")
        p.add_argument("campaign")
        p.add_argument("list", help="the list's name (the import's --list-name)")
        _common(p)
    ls.set_defaults(handler=_run(_lists))

    sb = sub.add_parser("subscribers", help="load the subscriber base that cold lists are reconciled against")
    sbs = sb.add_subparsers(dest="action", required=True, metavar="ACTION")
    p = sbs.add_parser("import", help="a CSV: subscriber_id, mobile/home/phone, status (current or former)")
    p.add_argument("file")
    p.add_argument("--region", default="US", help="region of numbers written without +country (default US)")
    _common(p)
    sb.set_defaults(handler=_run(_subscribers))

    cb = sub.add_parser("callbacks", help="scheduled callbacks: list, hand an agent's to another agent, move one")
    cbs = cb.add_subparsers(dest="action", required=True, metavar="ACTION")
    p = cbs.add_parser("list", help="the scheduled callbacks of CAMPAIGN (--agent: those AGENT kept for themselves)")
    p.add_argument("campaign")
    p.add_argument("--agent", help="only the callbacks this agent kept for themselves")
    p.add_argument("--limit", type=int, default=50, help="at most N callbacks (default 50)")
    _common(p)
    p = cbs.add_parser("reassign", help="hand every callback an agent kept to another agent, or to anyone "
                                        "(supervisor)")
    p.add_argument("campaign")
    p.add_argument("--from", dest="from_agent", required=True, metavar="AGENT",
                   help="the agent whose kept callbacks are handed on")
    p.add_argument("--to", metavar="AGENT", help="the agent who keeps them now (default: any agent, at once)")
    _common(p)
    p = cbs.add_parser("move", help="move one scheduled callback to another time and/or agent (supervisor)")
    p.add_argument("campaign")
    p.add_argument("--lead", required=True, help="the lead whose callback moves")
    p.add_argument("--at", help="the new time: ISO-8601 with a UTC offset (2026-11-24T15:30:00-05:00) or epoch "
                                "seconds (default: the time stays)")
    p.add_argument("--to", metavar="AGENT", help="the agent who keeps it from now on (default: any agent)")
    _common(p)
    cb.set_defaults(handler=_run(_callbacks))

    rp = sub.add_parser("report", help=f"a report as CSV ({', '.join(REPORT_KINDS)}); docs/SUPERVISOR.md says what "
                                       "each holds")
    rp.add_argument("kind", choices=REPORT_KINDS)
    rp.add_argument("--campaign", help="one campaign (default: all)")
    rp.add_argument("--since", type=_day_or_epoch, help="from this local date or time (default: today's midnight)")
    rp.add_argument("--until", type=_day_or_epoch, help="up to this local date or time (default: now)")
    _common(rp)
    rp.set_defaults(handler=_run(_report))

    su = sub.add_parser("suppress", help="suppression signals: a trouble ticket, a bill shock, a degraded area")
    sus = su.add_subparsers(dest="action", required=True, metavar="ACTION")
    p = sus.add_parser("set", help="stop calls to SUBJECT for KIND (until lifted, or for --days / --until)")
    p.add_argument("subject", help="subscriber:<id>, number:<E.164>, area:<area> or lead:<campaign>:<lead>")
    p.add_argument("kind", help="trouble_ticket, degradation, bill_shock, declined_offer[:<offer>], contact_cap, other")
    when = p.add_mutually_exclusive_group()
    when.add_argument("--days", type=float, help="for this many days from now (fractions allowed)")
    when.add_argument("--until", help="local date and time, e.g. 2026-12-01T18:00")
    _common(p)
    p = sus.add_parser("lift", help="lift KIND from SUBJECT (the ticket is closed)")
    p.add_argument("subject")
    p.add_argument("kind")
    _common(p)
    p = sus.add_parser("show", help="the suppressions in force for SUBJECT")
    p.add_argument("subject")
    _common(p)
    su.set_defaults(handler=_run(_suppress))


def main(argv: list[str] | None = None, *, out: TextIO | None = None, err: TextIO | None = None) -> int:
    """The same commands alone (`python -m dialer.supervisor.cli status`), for tests and scripts."""
    parser = argparse.ArgumentParser(prog="dialer")
    register(parser.add_subparsers(dest="command", required=True, metavar="COMMAND"))
    args = parser.parse_args(argv)
    args.out, args.err = out, err
    return int(args.handler(args))


if __name__ == "__main__":
    sys.exit(main())
