"""DNC management, lead imports, suppression signals and the subscriber base, through the hopper's
`LeadStore` (same Redis, same key prefix).

A do-not-call entry is final, across all campaigns (the law and the brief): the API adds and checks
entries and has no way to remove one. Lead imports need the campaign's file (its lead columns, dedup
and contact rules): a campaign configured without `file` cannot take imports, and says so.
Suppression signals are the messages the operator's systems also send over MQTT
(`dialer.signals_feed`); the subscriber base is what cold lists are reconciled against on import.
"""

from __future__ import annotations

import codecs
import csv
import math
import tempfile
from dataclasses import asdict, replace
from typing import IO, Annotated, Any, Literal

import phonenumbers
from fastapi import APIRouter, Query, Request
from fastapi import Path as PathParam
from pydantic import Field, model_validator

from dialer.campaigns import CampaignConfig, load_campaign
from dialer.errors import ConfigError, LeadError, StateStoreError
from dialer.hopper import LeadStore
from dialer.hopper.store import BaseCsv
from dialer.hopper.subscriber_dnc import LeadRef, SubscriberDnc
from dialer.hopper.types import LeadList
from dialer.leads.report import MAX_LISTED, BaseReport, DncReport, ImportReport
from dialer.leads.rows import RowIssue
from dialer.leadsource import LeadAdminSource
from dialer.policy import signal_of
from dialer.supervisor.auth import Principal, Role
from dialer.supervisor.context import Ctx
from dialer.supervisor.errors import Conflict, Invalid, NotFound, Unavailable, http_errors
from dialer.supervisor.schemas import CampaignId, _In

__all__ = ["lead_routes"]

MAX_UPLOAD = 64 * 1024 * 1024
Region = Annotated[str, Field(pattern=r"^[A-Z]{2}$", description="ISO region for numbers without +country")]
Number = Annotated[str, PathParam(min_length=3, max_length=32, pattern=r"^\+?[0-9 ()./-]+$")]
ListName = Annotated[str, Query(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")]
Encoding = Annotated[str | None, Query(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_.:-]+$",
                                       description="the file's text encoding (utf-8, cp1252, latin-1, ...); "
                                                   "overrides a charset in the Content-Type")]


def _media_type(header: str) -> tuple[str, str | None]:
    """A Content-Type's media type (lower case) and its charset parameter, if any."""
    kind, *params = header.split(";")
    charset = None
    for param in params:
        key, _, value = param.partition("=")
        if key.strip().lower() == "charset" and value.strip().strip('"'):
            charset = value.strip().strip('"')
    return kind.strip().lower(), charset


def _text_codec(name: str, where: str) -> str:
    """`name` if Python reads text in it, else `Invalid` saying what to send."""
    try:
        info = codecs.lookup(name)
    except LookupError:
        info = None
    # a codec that is not a text encoding (rot13, base64) cannot read a file either
    if info is None or not getattr(info, "_is_text_encoding", True):
        raise Invalid(f"{where} {name!r} is not a text encoding; name one such as utf-8, windows-1252 (cp1252), "
                      "iso-8859-1 (latin-1) or utf-16")
    return info.name
Value = str | int | float | bool | list[str] | None


DNC_CHARS = 1_000_000  # the numbers of one `POST /api/dnc`, all told (`dialer dnc import` sends less)
NUMBER_CHARS = 64  # no phone number is longer: a longer item is refused by its length, not echoed


class DncAdd(_In):
    # any string per item: a bad one (a `-`, a note) is rejected alone by `add_dnc`, by position, and the
    # others are added; a constraint here made one such cell a 422 for a whole file's batch
    numbers: list[str] = Field(min_length=1, max_length=10_000)
    region: Region = "US"
    campaign: CampaignId | None = Field(None, description="only this campaign's list (default: global)")
    subscriber_id: str | None = Field(None, min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$",
                                      description="also mark this subscriber do-not-call everywhere")

    @model_validator(mode="after")
    def _bounded(self) -> DncAdd:
        size = sum(len(n) for n in self.numbers)
        if size > DNC_CHARS:
            raise ValueError(f"the numbers come to {size:,} characters; send at most {DNC_CHARS:,} per request "
                             "(split the list)")
        return self


class LeadRows(_In):
    rows: list[dict[Annotated[str, Field(min_length=1, max_length=64)], Value]] = Field(min_length=1,
                                                                                       max_length=10_000)
    list_name: str = Field("api", min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")


class Signals(_In):
    signals: list[dict[Annotated[str, Field(min_length=1, max_length=32)], Value]] = Field(
        min_length=1, max_length=10_000, description="suppression signals, as sent over MQTT (docs/CAMPAIGNS.md)")


class BaseRows(_In):
    rows: list[dict[Annotated[str, Field(min_length=1, max_length=64)], Value]] = Field(
        min_length=1, max_length=10_000, description="subscriber_id, mobile/home/phone(s), status current|former")
    region: Region = "US"


def _region(code: str) -> str:
    if code not in phonenumbers.SUPPORTED_REGIONS:
        raise Invalid(f"region {code!r} is not a region phonenumbers knows (e.g. US, GB)")
    return code


def _issues(items: Any) -> list[dict[str, Any]]:
    return [{"line": i.line, "reason": i.reason, "column": i.column} for i in items]


def _dnc_out(rep: DncReport) -> dict[str, Any]:
    return {"added": rep.added, "already": rep.already, "rejected": rep.rejected, "errors": _issues(rep.errors)}


async def _add_dnc(store: LeadStore, numbers: list[str], region: str,
                   campaign: str | None) -> tuple[DncReport, list[str]]:
    """`add_dnc` of the items that may be numbers, and the report of all by their position in `numbers`: an
    item longer than any number is rejected by its length. Also the items tried."""
    fit = [(i, n) for i, n in enumerate(numbers, start=1) if len(n) <= NUMBER_CHARS]
    rep = await store.add_dnc([n for _, n in fit], region=region, campaign_id=campaign)
    if len(fit) == len(numbers):
        return rep, numbers
    long = [RowIssue(i, f"{len(n)} characters: no phone number is that long; give the number alone")
            for i, n in enumerate(numbers, start=1) if len(n) > NUMBER_CHARS]
    errors = sorted([RowIssue(fit[e.line - 1][0], e.reason, e.column) for e in rep.errors] + long,
                    key=lambda e: e.line)
    return replace(rep, rejected=rep.rejected + len(long), errors=tuple(errors[:MAX_LISTED])), [n for _, n in fit]


def _subscriber_out(sub: SubscriberDnc) -> dict[str, Any]:
    def refs(leads: tuple[LeadRef, ...]) -> list[dict[str, str]]:
        return [{"campaign_id": x.campaign_id, "lead_id": x.lead_id} for x in leads]

    return {"subscriber_id": sub.subscriber_id, "numbers": list(sub.numbers), "leads_finished": refs(sub.finished),
            "leads_in_flight": refs(sub.in_flight), "leads_already_finished": refs(sub.already_finished)}


def _import_out(rep: ImportReport) -> dict[str, Any]:
    out = {k: v for k, v in asdict(rep).items() if k not in ("errors", "skipped", "warnings")}
    out.update(accepted=rep.accepted, summary=rep.summary(), errors=_issues(rep.errors),
               skipped=_issues(rep.skipped), warnings=_issues(rep.warnings))
    return out


async def _spool(request: Request, fh: IO[bytes]) -> None:
    """The request body into `fh`, rewound; refused when empty or larger than MAX_UPLOAD."""
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_UPLOAD:
            raise Invalid(f"upload larger than {MAX_UPLOAD // (1024 * 1024)} MB: split the file")
        fh.write(chunk)
    if size == 0:
        raise Invalid("empty upload: send the file as the request body")
    fh.seek(0)


def _base_out(rep: BaseReport) -> dict[str, Any]:
    return {"rows": rep.rows, "current": rep.current, "former": rep.former, "rejected": rep.rejected,
            "former_held": rep.former_held, "errors": _issues(rep.errors), "skipped": _issues(rep.skipped)}


ListNameInPath = Annotated[str, PathParam(min_length=1, max_length=200)]  # files name lists after themselves
LeadId = Annotated[str, PathParam(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")]  # as imports allow


def lead_routes(ctx: Ctx, r: APIRouter) -> None:
    """Add these routes to `r`."""
    reader, supervisor = ctx.who(Role.READ_ONLY), ctx.who(Role.SUPERVISOR)

    def store() -> LeadStore:
        return LeadStore.of(ctx.daemon.store)

    def config(campaign_id: str) -> CampaignConfig:
        ctx.sup.campaign(campaign_id)
        cs = ctx.sup.configs.get(campaign_id)
        if cs is None or cs.file is None:
            raise Conflict(f"campaign {campaign_id} has no campaign file (campaigns[].file): lead imports need its "
                           "lead columns and contact rules")
        try:
            cfg = load_campaign(cs.file)
        except ConfigError as exc:
            raise Conflict(str(exc)) from None
        # leads go where the daemon dials them: under the [[campaigns]] id, whatever the file's own `id`
        # (open_hopper_source does the same); refusing the mismatch left the shipped example unimportable
        return cfg if cfg.id == campaign_id else cfg.model_copy(update={"id": campaign_id})

    @r.get("/api/dnc/{number}", tags=["dnc"])
    async def dnc_check(number: Number, who: Principal = reader,
                        region: Annotated[str, Query(pattern=r"^[A-Z]{2}$")] = "US",
                        campaign: Annotated[str | None, Query(pattern=r"^[A-Za-z0-9_-]{1,64}$")] = None,
                        ) -> dict[str, Any]:
        """Is this number on the global do-not-call list (or the campaign's)?"""
        from dialer.leads.phone import normalize

        with http_errors():
            e164 = normalize(number, _region(region))
            listed = await store().is_dnc(e164, campaign_id=campaign, region=region)
        return {"number": e164, "dnc": listed, "campaign": campaign}

    @r.post("/api/dnc", tags=["dnc"])
    async def dnc_add(body: DncAdd, who: Principal = supervisor) -> dict[str, Any]:
        """Add numbers to the do-not-call list (final: there is no removal). Bad numbers are reported by
        position and skipped; the others are added."""
        with http_errors():
            region = _region(body.region)
            if body.campaign is not None:
                ctx.sup.campaign(body.campaign)
            rep, fit = await _add_dnc(store(), body.numbers, region, body.campaign)
            sub: SubscriberDnc | None = None
            if body.subscriber_id is not None:
                from dialer.leads.phone import normalize

                ok = []
                for n in fit:
                    try:
                        ok.append(normalize(n, region))
                    except LeadError:  # already reported in `rep`
                        continue
                # the person's own request, final everywhere: every number the subscriber has (its leads' in
                # any campaign, the base's), not only the ones given, and its leads finished
                sub = await store().subscriber_dnc(body.subscriber_id, ok)
        await ctx.audit.record(who, "dnc.add", body.campaign or "global", added=rep.added, rejected=rep.rejected,
                               subscriber_id=body.subscriber_id,
                               **({} if sub is None else {"subscriber_numbers": len(sub.numbers),
                                                          "leads_finished": len(sub.finished)}))
        return _dnc_out(rep) if sub is None else {**_dnc_out(rep), "subscriber": _subscriber_out(sub)}

    @r.post("/api/suppressions", tags=["suppression"])
    async def suppress(body: Signals, who: Principal = supervisor) -> dict[str, Any]:
        """Apply suppression signals in order (an open trouble ticket, a bill shock, a degraded area, a
        lifted one). Each is checked as the MQTT feed checks it; a bad one is reported by position and
        skipped, the others apply at once, also to leads already in a hopper."""
        now, applied, errors = ctx.sup.now(), 0, []
        counter = ctx.daemon.metrics.suppression_signals
        stopped: tuple[int, StateStoreError] | None = None
        with http_errors():
            for i, item in enumerate(body.signals, start=1):
                try:
                    await store().apply_signal(signal_of(item, now))
                except LeadError as exc:
                    errors.append({"item": i, "reason": str(exc)})
                    continue
                except StateStoreError as exc:  # the ones before it are in: say which, so only the rest is resent
                    stopped = (i, exc)
                    break
                applied += 1
        counter.labels("api", "applied").inc(applied)
        counter.labels("api", "refused").inc(len(errors))
        await ctx.audit.record(who, "suppressions", "global", applied=applied, rejected=len(errors),
                               **({"stopped_at": stopped[0]} if stopped else {}))
        if stopped is not None:
            i, why = stopped
            with http_errors():
                raise Unavailable(f"Redis did not take signal {i} ({why}): signals 1 to {i - 1} are done ({applied} "
                                  f"applied, {len(errors)} refused); send signals {i} to {len(body.signals)} again "
                                  "once Redis answers (applying one twice changes nothing)")
        return {"applied": applied, "rejected": len(errors), "errors": errors}

    @r.get("/api/suppressions/{subject}", tags=["suppression"])
    async def suppressions(subject: Annotated[str, PathParam(min_length=3, max_length=128)],
                           who: Principal = reader) -> dict[str, Any]:
        """The subject's suppressions in force: kind -> until (epoch seconds; null: until lifted)."""
        with http_errors():
            try:
                got = await store().suppressions(subject)
            except LeadError as exc:
                raise Invalid(str(exc)) from None
        now = ctx.sup.now()
        return {"subject": subject,
                "suppressions": {k: None if math.isinf(v) else v for k, v in sorted(got.items()) if v > now}}

    @r.post("/api/subscribers", tags=["subscribers"])
    async def subscribers(body: BaseRows, who: Principal = supervisor) -> dict[str, Any]:
        """Load rows of the operator's subscriber base (cold lists are reconciled against it on import):
        `status` current (the default) indexes the numbers, former removes them. Bad rows are listed."""
        with http_errors():
            rep = await store().import_base_rows(body.rows, region=_region(body.region))
        await ctx.audit.record(who, "subscribers.import", "global", rows=rep.rows, rejected=rep.rejected)
        return _base_out(rep)

    @r.post("/api/subscribers/upload", tags=["subscribers"], openapi_extra={"requestBody": {
        "required": True, "content": {"text/csv": {"schema": {"type": "string"}}}}})
    async def subscribers_upload(request: Request, who: Principal = supervisor,
                                 region: Annotated[str, Query(pattern=r"^[A-Z]{2}$")] = "US") -> dict[str, Any]:
        """The subscriber base as a CSV request body (subscriber_id, mobile/home/phone, status); rejected
        rows are listed by line."""
        kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
        with http_errors():
            if kind not in ("text/csv", "text/plain"):
                raise Invalid(f"Content-Type {kind or '(none)'!r}: send the subscriber base as text/csv")
            reg = _region(region)
            with tempfile.TemporaryFile() as fh:
                await _spool(request, fh)
                rows = BaseCsv(codecs.iterdecode(fh, "utf-8-sig"))  # errors name the file's lines
                try:
                    rep = await store().import_base_rows(rows, region=reg)
                except UnicodeDecodeError as exc:
                    raise Invalid(f"the CSV is not UTF-8 ({exc.reason}) after line {rows.line_num}: save it as "
                                  "UTF-8 and load it again (the rows before are loaded; loading twice is harmless)"
                                  ) from None
                except csv.Error as exc:
                    raise Invalid(f"the CSV is unreadable at line {rows.line_num}: {exc}; fix it and load it again "
                                  "(the rows before are loaded; loading twice is harmless)") from None
        await ctx.audit.record(who, "subscribers.upload", "global", rows=rep.rows, rejected=rep.rejected)
        return _base_out(rep)

    def admin(campaign_id: str) -> LeadAdminSource:
        """The campaign's lead source, which must be one a supervisor can manage lead by lead (the hopper)."""
        ctx.sup.campaign(campaign_id)
        src = ctx.daemon.leads.get(campaign_id)
        if not isinstance(src, LeadAdminSource):
            raise Conflict(f"campaign {campaign_id}'s leads do not come from the Redis hopper: there is no lead "
                           "to look up or recycle, and no list to pause")
        return src

    @r.post("/api/campaigns/{campaign_id}/leads/recycle", tags=["leads"])
    async def recycle(campaign_id: CampaignId, who: Principal = supervisor) -> dict[str, Any]:
        """Give the leads that reached the attempt cap another round, up to the campaign's `max_attempts_total`
        as loaded now (raise it in the campaign file and restart first): due at once, history kept, every other
        rule of the contact policy still checked before each dial."""
        with http_errors():
            rep = await admin(campaign_id).recycle(ctx.sup.now())
        await ctx.audit.record(who, "leads.recycle", campaign_id, revived=rep.revived, still_capped=rep.still_capped)
        return {"campaign_id": campaign_id, "revived": rep.revived, "still_capped": rep.still_capped,
                "max_attempts_total": rep.max_attempts_total}

    def _list_out(x: LeadList) -> dict[str, Any]:
        return {"name": x.name, "leads": x.leads, "paused": x.paused, "dials": x.dials, "contacts": x.contacts,
                "sales": x.sales, "finished": x.finished, "remaining": x.remaining}

    @r.get("/api/campaigns/{campaign_id}/lists", tags=["leads"])
    async def lists(campaign_id: CampaignId, who: Principal = supervisor) -> dict[str, Any]:
        """The campaign's lead lists (each import's `list_name`): the new leads each brought, paused or not,
        and what became of them: results recorded (`dials`), `contacts`, `sales`, leads `finished` (no more
        dials) and `remaining`. A lead imported again through another list counts for the list that brought
        it."""
        with http_errors():
            got = await admin(campaign_id).lists()
        return {"campaign_id": campaign_id, "lists": [_list_out(x) for x in got]}

    @r.post("/api/campaigns/{campaign_id}/lists/{list_name}/pause", tags=["leads"])
    async def pause_list(campaign_id: CampaignId, list_name: ListNameInPath,
                         who: Principal = supervisor) -> dict[str, Any]:
        """Pause a list (a wrong file, consent in doubt): its leads are not dialed until it is resumed, except
        those also in a running list and the callbacks people asked for. Takes effect at once on this daemon,
        within seconds on others sharing the campaign."""
        with http_errors():
            try:
                got = await admin(campaign_id).pause_list(list_name, ctx.sup.now())
            except LeadError as exc:
                raise NotFound(str(exc)) from None
        await ctx.audit.record(who, "lists.pause", campaign_id, list_name=got.name)
        return {"campaign_id": campaign_id, **_list_out(got)}

    @r.post("/api/campaigns/{campaign_id}/lists/{list_name}/resume", tags=["leads"])
    async def resume_list(campaign_id: CampaignId, list_name: ListNameInPath,
                          who: Principal = supervisor) -> dict[str, Any]:
        """Resume a paused list: the leads that waited for it are due again at once (`released`), the contact
        policy checking each before its dial as always."""
        with http_errors():
            try:
                got, released = await admin(campaign_id).resume_list(list_name, ctx.sup.now())
            except LeadError as exc:
                raise NotFound(str(exc)) from None
        await ctx.audit.record(who, "lists.resume", campaign_id, list_name=got.name, released=released)
        return {"campaign_id": campaign_id, **_list_out(got), "released": released}

    @r.get("/api/campaigns/{campaign_id}/leads/{lead_id}", tags=["leads"])
    async def explain(campaign_id: CampaignId, lead_id: LeadId, who: Principal = supervisor) -> dict[str, Any]:
        """One lead: its fields and numbers, attempts, where it waits (ready, retry, callback, in flight,
        finished) and the contact policy's verdict on dialing it now: why not, and until when."""
        with http_errors():
            src = admin(campaign_id)
            try:
                return await src.explain(lead_id, ctx.sup.now())
            except LeadError as exc:
                raise NotFound(str(exc)) from None

    @r.post("/api/campaigns/{campaign_id}/leads", tags=["leads"])
    async def import_rows(campaign_id: CampaignId, body: LeadRows, who: Principal = supervisor) -> dict[str, Any]:
        """Import leads given as JSON rows (column -> value), with the campaign file's column rules."""
        with http_errors():
            rep = await store().import_rows(config(campaign_id), body.rows, now=ctx.sup.now(),
                                            list_name=body.list_name, source="api")
        await ctx.audit.record(who, "leads.import", campaign_id, list_name=body.list_name, rows=rep.rows,
                               accepted=rep.accepted, rejected=rep.rejected)
        return _import_out(rep)

    @r.post("/api/campaigns/{campaign_id}/leads/upload", tags=["leads"], openapi_extra={"requestBody": {
        "required": True, "content": {"text/csv": {"schema": {"type": "string"}},
                                      "text/tab-separated-values": {"schema": {"type": "string"}},
                                      "application/x-ndjson": {"schema": {"type": "string"}}}}})
    async def upload(campaign_id: CampaignId, request: Request, who: Principal = supervisor,
                     list_name: ListName = "upload", encoding: Encoding = None) -> dict[str, Any]:
        """Import a CSV or JSON Lines file sent as the request body (Content-Type text/csv,
        text/tab-separated-values or application/x-ndjson). A CSV is read with the delimiter its header line
        uses (`,`, `;` or tab), a tab-separated-values one with tabs. The text is UTF-8 unless the
        Content-Type names a `charset` (`text/csv; charset=windows-1252`) or `encoding` does (it wins).
        Rejected rows are listed by line; the good ones are imported."""
        kind, charset = _media_type(request.headers.get("content-type", ""))
        fmt: Literal["csv", "jsonl"]
        suffix = "csv"
        if kind in ("text/csv", "text/plain"):
            fmt = "csv"
        elif kind == "text/tab-separated-values":
            fmt, suffix = "csv", "tsv"
        elif kind in ("application/x-ndjson", "application/jsonl", "application/json-lines"):
            fmt = suffix = "jsonl"
        else:
            with http_errors():
                raise Invalid(f"Content-Type {kind or '(none)'!r}: send text/csv, text/tab-separated-values "
                              "or application/x-ndjson")
        with http_errors():
            codec = _text_codec(encoding or charset or "utf-8", "encoding" if encoding else "charset")
        with http_errors(), tempfile.TemporaryFile() as fh:
            cfg = config(campaign_id)
            await _spool(request, fh)
            rep = await store().import_stream(cfg, fh, name=f"{list_name}.{suffix}", now=ctx.sup.now(),
                                              list_name=list_name, source="upload", fmt=fmt, encoding=codec)
        await ctx.audit.record(who, "leads.upload", campaign_id, list_name=list_name, rows=rep.rows,
                               accepted=rep.accepted, rejected=rep.rejected)
        return _import_out(rep)

