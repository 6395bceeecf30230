"""LeadStore: leads, do-not-call lists, suppression signals and the subscriber base, in Redis.

The demo, the API and the MQTT signal handler use this; the hopper reads what it writes. Imports stream
the file in batches (bounded memory for any file size); each rejected row is reported with its line
number and reason, and every batch written stays written, so a failure late in a file loses nothing
that was accepted before it.

Subjects of suppression signals are strings: `lead:<campaign>:<lead id>`, `subscriber:<id>`,
`number:<E.164>`, `area:<area code of the operator's network>`. A signal is a kind (see
`SuppressionKind`; `declined_offer:<offer>` stops only the campaign selling that offer) and an end time
(None: until `unsuppress`).
"""

from __future__ import annotations

import asyncio
import csv
import io
import math
from collections.abc import AsyncIterator, Collection, Iterable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, Literal

from redis.asyncio import Redis

from dialer.campaigns.models import CampaignConfig
from dialer.campaigns.vocab import SuppressionKind
from dialer.errors import LeadError
from dialer.hopper._redis import redis_call
from dialer.hopper.imports import Importer
from dialer.hopper.keys import CampaignKeys, GlobalKeys
from dialer.hopper.list_figures import list_figures
from dialer.hopper.lists import base_row, dnc_numbers, kind_text, subject_for
from dialer.hopper.results import queue_dnc_marks
from dialer.hopper.subscriber_dnc import SubscriberDnc, subscriber_dnc
from dialer.hopper.types import LeadList
from dialer.hopper.views import S, text
from dialer.leads.files import RawRow, detect_format, list_name_of_file, read_rows
from dialer.leads.model import Lead, decode_lead
from dialer.leads.phone import normalize
from dialer.leads.report import MAX_LISTED, BaseReport, DncReport, ImportReport, ImportTally
from dialer.leads.rows import Excluded, Rejected, RowIssue, RowParser, required_columns
from dialer.policy.signals import SuppressionSignal

if TYPE_CHECKING:
    from dialer.store import RedisStore

__all__ = ["BaseCsv", "LeadStore", "subject_for"]

# A former subscriber's number leaves the base only while it is still theirs: a recycled number may belong
# to a current subscriber by now. KEYS[1] the base bucket, ARGV[1] its field, ARGV[2] the former subscriber,
# ARGV[3] the prefix, ARGV[4] the number. Returns "" (removed, or not in the base) or the subscriber who holds
# it now. Off the former subscriber's numbers (`GlobalKeys.base_account`) either way.
_BASE_FORGET = """
redis.call('SREM', ARGV[3] .. ':basea:' .. ARGV[2], ARGV[4])
local held = redis.call('HGET', KEYS[1], ARGV[1])
if not held then return '' end
if held == ARGV[2] then
  redis.call('HDEL', KEYS[1], ARGV[1])
  return ''
end
return held
"""

# A current subscriber's number: theirs in the base and in their numbers (`GlobalKeys.base_account`), and off
# the numbers of the subscriber who had it before (a recycled number). KEYS[1] the base bucket, ARGV[1] its
# field, ARGV[2] the subscriber, ARGV[3] the prefix, ARGV[4] the number.
_BASE_SET = """
local held = redis.call('HGET', KEYS[1], ARGV[1])
if held and held ~= ARGV[2] then redis.call('SREM', ARGV[3] .. ':basea:' .. held, ARGV[4]) end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('SADD', ARGV[3] .. ':basea:' .. ARGV[2], ARGV[4])
return ''
"""


class BaseCsv:
    """A subscriber-base CSV read row by row, for `LeadStore.import_base_rows`: each row a `RawRow` with the
    file line it starts on, numbered as the lead and DNC imports number theirs (the header is line 1, a quoted
    value may span lines, blank rows are skipped but counted). Header names are stripped and lower-cased.
    `line_num` is the last line read, to name where a decoding or CSV error (raised as is) was met."""

    def __init__(self, lines: Iterable[str]) -> None:
        self._reader = csv.reader(lines)

    @property
    def line_num(self) -> int:
        return self._reader.line_num

    def __iter__(self) -> Iterator[RawRow]:
        header: list[str] | None = None
        end = 0
        for row in self._reader:
            line, end = end + 1, self._reader.line_num
            if not any(x.strip() for x in row):
                continue
            if header is None:
                header = [h.strip().lower() for h in row]
                continue
            # as csv.DictReader did: a missing value is no value, one beyond the header is ignored
            yield RawRow(line, dict(zip(header, row, strict=False)))


class LeadStore:
    """Leads and contact lists in Redis, shared by every campaign under one key prefix."""

    def __init__(self, redis: Redis, *, prefix: str = "dialer", timeout_s: float = 30.0, chunk: int = 2000) -> None:
        self._r = redis
        self._prefix = prefix
        self._g = GlobalKeys(prefix)
        self._timeout = timeout_s
        self._chunk = chunk
        self._base_forget = redis.register_script(_BASE_FORGET)
        self._base_set = redis.register_script(_BASE_SET)

    @classmethod
    def of(cls, store: RedisStore, *, timeout_s: float = 30.0) -> LeadStore:
        """The lead keys of the daemon's Redis: `store`'s connection and key prefix, so the daemon and the
        supervisor's routes name the leads they want instead of handing a Redis client around. `timeout_s`
        bounds each Redis call as in the constructor (longer than the store's own: an import batch or a
        subscriber's walk is a bigger command than a record's write)."""
        return cls(store.r, prefix=store.prefix, timeout_s=timeout_s)

    @property
    def redis(self) -> Redis:
        return self._r

    @property
    def prefix(self) -> str:
        return self._prefix

    # -- leads -----------------------------------------------------------------------------------------

    async def import_file(
        self,
        campaign: CampaignConfig,
        path: str | Path,
        *,
        now: float,
        list_name: str | None = None,
        source: str | None = None,
        fmt: Literal["csv", "jsonl"] | None = None,
        encoding: str = "utf-8",
    ) -> ImportReport:
        """Import a CSV or JSON Lines file; `list_name` defaults to the file's name (`list_name_of_file`)."""
        p = Path(path)
        try:
            fh = await asyncio.to_thread(p.open, "rb")
        except OSError as exc:
            raise LeadError(f"{p}: cannot open the lead file ({exc.strerror}); check the path") from exc
        with fh:
            return await self.import_stream(
                campaign,
                fh,
                name=str(p),
                now=now,
                list_name=list_name or list_name_of_file(p.name),
                source=source or "file",
                fmt=fmt or detect_format(p.name),
                encoding=encoding,
            )

    async def import_stream(
        self,
        campaign: CampaignConfig,
        stream: BinaryIO,
        *,
        name: str,
        now: float,
        list_name: str,
        source: str,
        fmt: Literal["csv", "jsonl"],
        encoding: str = "utf-8",
    ) -> ImportReport:
        """Import an open binary stream (an upload); file-level problems raise `LeadError` before any write."""
        cols = campaign.leads
        rows = read_rows(
            stream,
            fmt,
            name=name,
            required=required_columns(campaign),
            number_columns=(*cols.number_columns, cols.numbers_column),
            encoding=encoding,
            max_row_chars=cols.max_row_chars,
        )
        return await self._import(campaign, rows, now=now, list_name=list_name, source=source)

    async def import_rows(
        self,
        campaign: CampaignConfig,
        rows: Iterable[Mapping[str, object]],
        *,
        now: float,
        list_name: str = "api",
        source: str = "api",
    ) -> ImportReport:
        """Import rows given as mappings (the API); item numbers start at 1."""
        raw = (RawRow(i, {str(k).strip().lower(): v for k, v in r.items()}) for i, r in enumerate(rows, start=1))
        return await self._import(campaign, raw, now=now, list_name=list_name, source=source)

    async def add_leads(
        self,
        campaign: CampaignConfig,
        leads: Iterable[Lead],
        *,
        now: float,
        list_name: str = "generated",
        source: str = "generated",
    ) -> ImportReport:
        """Add already-normalised leads (demo, benchmark, other services): same dedup and merge rules."""
        tally = ImportTally(campaign.id, list_name, source)
        importer = Importer(self._r, campaign, self._prefix, self._timeout)
        batch: list[tuple[int, Lead]] = []
        for i, lead in enumerate(leads, start=1):
            tally.rows += 1
            batch.append((i, lead))
            if len(batch) >= self._chunk:
                await importer.write(batch, tally, now)
                batch = []
        if batch:
            await importer.write(batch, tally, now)
        return tally.freeze()

    async def _import(
        self,
        campaign: CampaignConfig,
        rows: Iterable[RawRow | RowIssue],
        *,
        now: float,
        list_name: str,
        source: str,
    ) -> ImportReport:
        tally = ImportTally(campaign.id, list_name, source)
        parser = RowParser(campaign, list_name, source, now)
        importer = Importer(self._r, campaign, self._prefix, self._timeout)
        it = iter(rows)
        while True:
            # Reading and parsing (phonenumbers, zones) is CPU and file work: do it off the event loop,
            # one chunk at a time, so a large import never stalls the dialer's AMI handling.
            batch, done = await asyncio.to_thread(self._parse_chunk, it, parser, tally)
            if batch:
                await importer.write(batch, tally, now)
            if done:
                return tally.freeze()

    def _parse_chunk(
        self, it: Iterator[RawRow | RowIssue], parser: RowParser, tally: ImportTally
    ) -> tuple[list[tuple[int, Lead]], bool]:
        batch: list[tuple[int, Lead]] = []
        for item in it:
            tally.rows += 1
            if isinstance(item, RowIssue):
                tally.error(item)
                continue
            parsed = parser.parse(item.line, item.data)
            if isinstance(parsed, Rejected):
                tally.error(parsed.error)
            elif isinstance(parsed, Excluded):
                tally.excluded += 1
                tally.skip(RowIssue(parsed.line, parsed.reason))
            else:
                tally.warn(parsed.warnings)
                batch.append((parsed.line, parsed.lead))
                if len(batch) >= self._chunk:
                    return batch, False
        return batch, True

    async def get_lead(self, campaign_id: str, lead_id: str) -> Lead | None:
        """A lead as stored, or None."""
        async with redis_call(f"reading lead {lead_id}", self._timeout):
            blob = await self._r.get(CampaignKeys(self._prefix, campaign_id).lead(lead_id))
        return None if blob is None else decode_lead(lead_id, text(blob))

    async def lead_state(self, campaign_id: str, lead_id: str) -> dict[str, str]:
        """A lead's raw contact state (attempts, next step); {} while untouched."""
        async with redis_call(f"reading state of lead {lead_id}", self._timeout):
            raw = await self._r.hgetall(CampaignKeys(self._prefix, campaign_id).state(lead_id))
        return {text(k): text(v) for k, v in raw.items()}

    async def lead_count(self, campaign_id: str) -> int:
        async with redis_call(f"counting leads of {campaign_id}", self._timeout):
            value = await self._r.get(CampaignKeys(self._prefix, campaign_id).n)
        return int(value or 0)

    async def iter_lead_ids(self, campaign_id: str, batch: int = 1000) -> AsyncIterator[str]:
        """Every lead id of a campaign (SCAN; for reports and tests, not the dialing path). Each SCAN call has
        the store's deadline, as every other read here: a Redis gone or hung is StateStoreError, not a redis-py
        error or a wait for ever."""
        pattern = CampaignKeys(self._prefix, campaign_id).lead("*")
        cut = len(pattern) - 1
        cursor = 0
        while True:
            async with redis_call(f"listing the leads of {campaign_id}", self._timeout):
                after, keys = await self._r.scan(cursor, match=pattern, count=batch)
            for key in keys:
                yield text(key)[cut:]
            cursor = int(after)
            if cursor == 0:
                return

    async def list_figures(self, campaign_id: str, paused: Collection[str]) -> list[LeadList]:
        """The campaign's lead lists with their figures, paused when named in `paused` (a set the caller has
        read already: see `dialer.hopper.list_figures`)."""
        return await list_figures(self._r, campaign_id, paused, prefix=self._prefix, timeout_s=self._timeout)

    # -- do not call -------------------------------------------------------------------------------------

    async def add_dnc(self, numbers: Iterable[str], *, region: str = "US", campaign_id: str | None = None) -> DncReport:
        """Add numbers to the global list (or one campaign's); a DNC entry is final."""
        return await self._dnc_lines(((i, n, None) for i, n in enumerate(numbers, start=1)), region, campaign_id)

    async def import_dnc_file(
        self, path: str | Path, *, region: str = "US", campaign_id: str | None = None, encoding: str = "utf-8"
    ) -> DncReport:
        """A DNC list: CSV with a number column (number, phone, e164, msisdn...), or one number per line."""
        p = Path(path)
        try:
            data = await asyncio.to_thread(p.read_bytes)
        except OSError as exc:
            raise LeadError(f"{p}: cannot read the DNC file ({exc.strerror})") from exc
        return await self._dnc_lines(dnc_numbers(data, encoding), region, campaign_id)

    async def _dnc_lines(
        self, items: Iterable[tuple[int, str, str | None]], region: str, campaign_id: str | None
    ) -> DncReport:
        """(line, number, column or None) each: a file's numbers name their column in the report's errors."""
        key = CampaignKeys(self._prefix, campaign_id).dnc if campaign_id else self._g.dnc
        added = already = rejected = 0
        errors: list[RowIssue] = []
        batch: list[str] = []

        async def flush() -> tuple[int, int]:
            if not batch:
                return 0, 0
            async with redis_call("adding DNC numbers", self._timeout):
                n = int(await self._r.sadd(key, *batch))
            size = len(batch)
            batch.clear()
            return n, size - n

        for line, raw, column in items:
            try:
                batch.append(normalize(raw, region))
            except LeadError as exc:
                rejected += 1
                if len(errors) < MAX_LISTED:
                    plural = "s" if column and ", " in column else ""
                    why = str(exc) if raw.strip() or column is None else f"no number in column{plural} {column}"
                    errors.append(RowIssue(line, why, column))
                continue
            if len(batch) >= self._chunk:
                a, b = await flush()
                added, already = added + a, already + b
        a, b = await flush()
        return DncReport(added=added + a, already=already + b, rejected=rejected, errors=tuple(errors))

    async def dnc_person(self, person: str, numbers: Iterable[str] = ()) -> None:
        """Mark a person (`subscriber:<id>` or `number:<e164>`) and their numbers as do-not-call everywhere."""
        nums = [normalize(n, "ZZ") for n in numbers]
        async with redis_call(f"marking {person} do-not-call", self._timeout):
            pipe = self._r.pipeline(transaction=True)
            pipe.sadd(self._g.dncp, person)
            pipe.hset(self._g.person(person), S.P_DNC, "1")
            if nums:
                pipe.sadd(self._g.dnc, *nums)
            await pipe.execute()

    async def dnc_request(self, person: str, numbers: Iterable[str] = ()) -> None:
        """A person's own do-not-call request, final across all campaigns: the person, their numbers on the
        global list, and the person each number names (`number:<e164>`), in one transaction. The last is what
        stops a lead of another list or campaign that knows them by one of these numbers only (no account id)
        and has another number: the hopper blocks a whole lead when any of its numbers' persons is marked
        (`dnc_person` alone would leave that lead dialed on its other number), as a result's do-not-call
        marks them (`queue_dnc_marks`). The subscribers the operator's base lists for those numbers are marked
        too: a lead of the account on another of its numbers is the same person."""
        nums = list(dict.fromkeys(normalize(n, "ZZ") for n in numbers))
        async with redis_call(f"marking {person} do-not-call", self._timeout):
            subs = await self._base_persons(nums)
            pipe = self._r.pipeline(transaction=True)
            queue_dnc_marks(pipe, self._g, person, nums, also=subs)
            if nums:
                pipe.sadd(self._g.dnc, *nums)
            await pipe.execute()

    async def subscriber_dnc(self, subscriber_id: str, numbers: Iterable[str] = ()) -> SubscriberDnc:
        """Subscriber `subscriber_id`'s own do-not-call request on every number they have, their leads in any
        campaign finished (`dialer.hopper.subscriber_dnc`). StateStoreError: the marks written stay, and the
        same request again completes it."""
        return await subscriber_dnc(self._r, subscriber_id, numbers, prefix=self._prefix, timeout_s=self._timeout)

    async def is_dnc(self, number: str, *, campaign_id: str | None = None, region: str = "US") -> bool:
        e164 = normalize(number, region)
        async with redis_call("checking DNC", self._timeout):
            if await self._r.sismember(self._g.dnc, e164):
                return True
            if campaign_id is not None:
                return bool(await self._r.sismember(CampaignKeys(self._prefix, campaign_id).dnc, e164))
        return False

    # -- suppression signals -----------------------------------------------------------------------------

    async def suppress(self, subject: str, kind: SuppressionKind | str, until: float | None) -> None:
        """Stop calls to `subject` for `kind` until `until` (epoch; None: until lifted). Takes effect at once,
        also for leads already in a hopper (they are re-checked before each dial)."""
        name = subject_for(subject)
        key = self._g.sup(name)
        kind_name = kind_text(kind)
        end = math.inf if until is None else float(until)
        async with redis_call(f"suppressing {subject}", self._timeout):
            old = await self._r.hget(key, kind_name)
            if old is not None and float(text(old)) >= end:
                return
            pipe = self._r.pipeline(transaction=True)
            pipe.hset(key, kind_name, "inf" if math.isinf(end) else repr(end))
            pipe.sadd(self._g.supk, name)
            await pipe.execute()

    async def unsuppress(self, subject: str, kind: SuppressionKind | str | None = None) -> None:
        """Lift one kind of signal (or all) from `subject`; leads become callable at their next check."""
        name = subject_for(subject)
        key = self._g.sup(name)
        async with redis_call(f"lifting suppression of {subject}", self._timeout):
            if kind is not None:
                await self._r.hdel(key, kind_text(kind))
                if await self._r.exists(key):
                    return
            pipe = self._r.pipeline(transaction=True)
            pipe.delete(key)
            pipe.srem(self._g.supk, name)
            await pipe.execute()

    async def apply_signal(self, signal: SuppressionSignal) -> None:
        """Apply a parsed suppression signal (MQTT or API; see `dialer.policy.signals`)."""
        if signal.action == "lift":
            await self.unsuppress(signal.subject, signal.kind)
        else:
            await self.suppress(signal.subject, signal.kind, signal.until)

    def suppression_keys(self, subject: str) -> tuple[str, str]:
        """The keys a signal about `subject` writes: its hash of kinds, and the set of subjects."""
        return self._g.sup(subject_for(subject)), self._g.supk

    async def suppressions(self, subject: str) -> dict[str, float]:
        async with redis_call(f"reading suppressions of {subject}", self._timeout):
            raw = await self._r.hgetall(self._g.sup(subject_for(subject)))
        return {text(k): float(text(v)) for k, v in raw.items()}

    # -- the operator's own subscriber base (cold-list reconciliation) --------------------------------------

    async def import_base_rows(
        self, rows: Iterable[Mapping[str, object] | RawRow], *, region: str = "US"
    ) -> BaseReport:
        """Rows with subscriber_id, number columns (mobile/home/phone/phones) and optional status
        (current, default; or former, which removes the numbers from the base while they are still that
        subscriber's: a number another subscriber holds now stays, and the row is listed in `skipped`). An
        issue names a `RawRow`'s line (a file read with `BaseCsv`), else the row's place in `rows`, from 1
        (the API's items). Rows are applied in order."""
        n = current = former = rejected = held = 0
        errors: list[RowIssue] = []
        skipped: list[RowIssue] = []
        pipe = self._r.pipeline(transaction=False)
        # per command queued: None (a current row's write) or a former row's (line, number) to check
        queued: list[tuple[int, str] | None] = []

        async def flush() -> None:
            nonlocal held
            async with redis_call("loading the subscriber base", self._timeout):
                replies = await pipe.execute()
            lines: set[int] = set()  # a row's numbers are always in one flush
            for slot, reply in zip(queued, replies, strict=True):
                if slot is None or not (holder := text(reply)):
                    continue
                line, e164 = slot
                lines.add(line)
                if len(skipped) < MAX_LISTED:
                    skipped.append(RowIssue(line, f"{e164} now belongs to subscriber {holder}: kept in the base"))
            held += len(lines)
            queued.clear()

        for i, item in enumerate(rows, start=1):
            line, row = (item.line, item.data) if isinstance(item, RawRow) else (i, item)
            n += 1
            try:
                got = base_row(row, region)
            except LeadError as exc:
                rejected += 1
                if len(errors) < MAX_LISTED:
                    errors.append(RowIssue(line, str(exc)))
                continue
            sub, status, nums = got.subscriber, got.status, got.numbers
            for column, why in got.bad:  # the row's other numbers are loaded: only this one is left out
                if len(errors) < MAX_LISTED:
                    errors.append(RowIssue(line, f"{why}: left out, the row's other numbers loaded", column))
            for e164 in nums:
                bkey, field = self._g.base(e164)
                if status == "current":
                    await self._base_set(keys=[bkey], args=[field, sub, self._prefix, e164], client=pipe)
                    queued.append(None)
                else:
                    await self._base_forget(keys=[bkey], args=[field, sub, self._prefix, e164], client=pipe)
                    queued.append((line, e164))
            current += status == "current"
            former += status == "former"
            if len(queued) >= self._chunk:
                await flush()
        await flush()
        return BaseReport(
            rows=n,
            current=current,
            former=former,
            rejected=rejected,
            former_held=held,
            errors=tuple(errors),
            skipped=tuple(skipped),
        )

    async def import_base_file(self, path: str | Path, *, region: str = "US", encoding: str = "utf-8") -> BaseReport:
        """The subscriber base as CSV (subscriber_id, mobile/home/phone, status). A UTF-8 file may start with a
        byte-order mark (Excel's "CSV UTF-8"): it is dropped, as by the lead and DNC imports."""
        p = Path(path)
        codec = "utf-8-sig" if encoding.lower().replace("_", "-") in ("utf-8", "utf8") else encoding
        try:
            text_data = (await asyncio.to_thread(p.read_bytes)).decode(codec)
        except (OSError, UnicodeDecodeError) as exc:
            raise LeadError(f"{p}: cannot read the subscriber base ({exc}); it must be a {encoding} CSV") from exc
        rows = BaseCsv(io.StringIO(text_data, newline=""))
        try:
            return await self.import_base_rows(rows, region=region)
        except csv.Error as exc:
            raise LeadError(
                f"{p}: unreadable as CSV at line {rows.line_num}: {exc} (the rows before are loaded; loading "
                "twice is harmless)"
            ) from None

    async def _base_persons(self, numbers: list[str]) -> list[str]:
        """The persons (`subscriber:<id>`) the base lists for `numbers` (E.164), each once."""
        if not numbers:
            return []
        pipe = self._r.pipeline(transaction=False)
        for e164 in numbers:
            pipe.hget(*self._g.base(e164))
        return list(dict.fromkeys(f"subscriber:{text(s)}" for s in await pipe.execute() if s is not None))

    async def subscriber_for(self, number: str, *, region: str = "US") -> str | None:
        e164 = normalize(number, region)
        bkey, field = self._g.base(e164)
        async with redis_call("reading the subscriber base", self._timeout):
            value = await self._r.hget(bkey, field)
        return None if value is None else text(value)
