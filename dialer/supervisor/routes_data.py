"""Routes for reports (JSON, CSV, SVG), what-if replays, DNC management and lead imports."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import Response

from agents.dispositions import DispositionSet
from dialer.amd_audit import is_person
from dialer.supervisor import reports as rp
from dialer.supervisor.auth import Principal, Role
from dialer.supervisor.context import Ctx
from dialer.supervisor.errors import Invalid, http_errors
from dialer.supervisor.records import lead_pseudonym
from dialer.supervisor.report_io import Loaded, load, render_csv, render_svg, safe_json
from dialer.supervisor.routes_callbacks import callback_routes
from dialer.supervisor.routes_leads import lead_routes
from dialer.supervisor.routes_whatif import whatif_routes
from dialer.supervisor.tally import local_midnight
from pacing import Jurisdiction

__all__ = ["data_routes"]

ReportKind = Literal["agents", "pauses", "callbacks", "hours", "lists", "funnel", "reasons", "attempts", "compliance",
                     "cost"]
IdQuery = Annotated[str | None, Query(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]
Epoch = Annotated[float | None, Query(ge=0, le=1e11, description="epoch seconds (daemon clock)")]
Money = Annotated[float, Query(ge=0, le=1e6)]


def build_report(kind: str, data: Loaded, *, cancel_reason_of: dict[str, str], flag_over: int,
                 costs: rp.Costs, cap: float,
                 dispositions_for: Callable[[str], DispositionSet | None] | None = None,
                 pause_labels: Mapping[str, str] | None = None,
                 law: Mapping[str, tuple[Jurisdiction, float]] | None = None,
                 mask: bool = False,
                 ) -> tuple[Any, list[dict[str, Any]]]:
    """(JSON body, flat table for CSV and charts) of one report. `dispositions_for` gives a campaign's
    disposition set (which codes mean an answering machine, which a sale: kind sale or agreed); without it
    the default set's codes do (`machine`; `sale` and `agreed`).
    `pause_labels` gives the pause codes their words (`DeskSettings.pause_labels`). `law` gives each
    campaign its jurisdiction and effective AMD false-positive share (UK: the compliance report counts
    the estimated false positives). `mask` (a read-only caller): a lead id (the attempts report's flagged leads)
    is shown as its pseudonym, as in the call records."""
    recs = data.records
    sales = rp.SaleCodes(dispositions_for)
    if kind == "agents":
        rows = rp.agent_shifts(recs, data.disps, data.journal, data.until, sales)
        return rows, rows
    if kind == "pauses":
        pauses = rp.pause_breakdown(data.journal or [], data.until, pause_labels or {})
        flat = [{"table": "by_reason", **r} for r in pauses["by_reason"]] + \
               [{"table": "by_agent", **r} for r in pauses["by_agent"]]
        return pauses, flat
    if kind == "callbacks":
        kept = rp.callback_punctuality(recs)
        flat = [{"table": "by_campaign", **r} for r in kept["by_campaign"]] + \
               [{"table": "by_agent", **r} for r in kept["by_agent"]]
        return kept, flat
    if kind == "hours":
        by_hour = rp.local_hours(recs)
        return by_hour, list(by_hour["hours"])
    if kind == "lists":
        rows = rp.list_results(recs, data.disps, sales)
        return rows, rows
    if kind == "funnel":
        rows = rp.funnel(recs, data.disps, data.follow_ups, sales)
        return rows, rows
    if kind == "reasons":
        out = rp.reason_breakdown(recs, data.disps, cancel_reason_of, sales)
        flat = [{"table": "refusals", **r} for r in out["refusals"]] + \
               [{"table": "cancel_reasons", **r} for r in out["cancel_reasons"]]
        return out, flat
    if kind == "attempts":
        out2 = rp.attempts_histogram(recs, flag_over, lead_pseudonym if mask else None)
        return out2, list(out2["histogram"])
    if kind == "compliance":
        machines = {d.call_id for d in data.disps.values()
                    if not is_person(d.code, dispositions_for(d.campaign_id) if dispositions_for else None)}
        rows = rp.abandon_compliance(recs, cap, machines, history=data.history, law=law)
        return rows, rows
    shifts = rp.agent_shifts(recs, data.disps, data.journal, data.until, sales)
    agent_s = sum(r["logged_in_s"] for r in shifts)
    row = rp.cost_report(recs, data.disps, agent_s, costs, sales)
    return row, [row]


def _law(ctx: Ctx) -> dict[str, tuple[Jurisdiction, float]]:
    """Each campaign's jurisdiction and effective AMD false-positive share, as its pacer's ledger has them."""
    return {cid: (c.pacer.knobs.jurisdiction, c.pacer.knobs.amd_false_positive)
            for cid, c in ctx.daemon.engine.campaigns.items()}


def data_routes(ctx: Ctx, r: APIRouter) -> None:
    """Add these routes to `r`."""
    reader = ctx.who(Role.READ_ONLY)

    @r.get("/api/reports/{kind}", tags=["reports"],
           responses={200: {"content": {"application/json": {}, "text/csv": {}, "image/svg+xml": {}}}})
    async def report(
        kind: ReportKind,
        who: Principal = reader,
        campaign: IdQuery = None,
        since: Epoch = None,
        until: Epoch = None,
        format: Literal["json", "csv", "svg"] = "json",
        cost_per_minute: Money = 0.0,
        cost_per_agent_hour: Money = 0.0,
        billing_increment_s: Annotated[float, Query(ge=1, le=3600)] = 60.0,
        flag_over: Annotated[int, Query(ge=1, le=1000)] = 6,
    ) -> Response:
        """Reports: `agents` (per agent per shift: contacts, talk/wait/wrap/pause, sales, pace against 120 per
        shift), `pauses` (pause time and count by reason, per agent per day and over everyone), `callbacks`
        (how late after the promised time callbacks were called, and reached; per campaign and owner), `hours`
        (dials, persons, machines, contacts by the called person's local hour: when to call), `lists` (dials,
        contacts, sales, conversion and abandons per lead list), `funnel`,
        `reasons` (refusals; conversion per cancel reason), `attempts` (dials per lead),
        `compliance` (abandon rate per day, worst 24 h; the machines agents heard, their share of the connected
        calls and the strict rate without them), `cost` (per contact and per sale). Default window:
        today. `format=csv` for a spreadsheet, `format=svg` for the chart."""
        now = ctx.sup.now()
        start = local_midnight(now) if since is None else since
        end = now + 1.0 if until is None else until
        with http_errors():
            if end <= start:
                raise Invalid(f"until ({end}) must be after since ({start})")
            if campaign is not None:
                ctx.sup.campaign(campaign)
            data = await load(ctx.daemon.store, campaign=campaign, since=start, until=end)
            cancel = {d.lead_id: d.fields["cancel_reason"] for d in data.follow_ups
                      if d.lead_id and "cancel_reason" in d.fields}  # a call without a lead is no lead's
            cap = ctx.daemon.engine.campaigns[campaign].pacer.knobs.abandon_cap if campaign else 0.03
            body, table = build_report(kind, data, cancel_reason_of=cancel, flag_over=flag_over, cap=cap,
                                       dispositions_for=ctx.daemon.engine.dispositions_for,
                                       pause_labels=ctx.daemon.settings.desk.pause_labels(), law=_law(ctx),
                                       costs=rp.Costs(cost_per_minute, cost_per_agent_hour, billing_increment_s),
                                       mask=not who.may(Role.SUPERVISOR))
        if format == "csv":
            name = f"{kind}-{campaign or 'all'}.csv"
            return Response(render_csv(table), media_type="text/csv; charset=utf-8",
                            headers={"Content-Disposition": f'attachment; filename="{name}"'})
        if format == "svg":
            return Response(render_svg(kind, table, campaign), media_type="image/svg+xml")
        return Response(safe_json({"kind": kind, "campaign": campaign, "since": start, "until": end, "report": body}),
                        media_type="application/json")

    whatif_routes(ctx, r)
    lead_routes(ctx, r)
    callback_routes(ctx, r)
