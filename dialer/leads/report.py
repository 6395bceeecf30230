"""What an import did, row by row where it matters: the answer an operator reads after loading a list."""

from __future__ import annotations

from dataclasses import dataclass, field

from dialer.leads.rows import RowIssue

__all__ = ["BaseReport", "DncReport", "ImportReport", "ImportTally"]

MAX_LISTED = 1000


@dataclass(frozen=True, slots=True)
class ImportReport:
    """Counts of one import and the first `MAX_LISTED` rejected, skipped and warned rows.

    new: leads created. merged: rows folded into an existing lead within the dedup window (history
    kept). rearmed: rows that matched a lead last loaded before the window: merged and called again.
    skipped_duplicates: numbers another campaign loaded within the window (dedup scope "all").
    removed_subscribers: cold-list rows that are current subscribers (reconciliation). excluded: valid
    rows the campaign does not want (an excluded cancel reason, a recidivist). on_dnc: accepted leads
    with a number on the global DNC list (kept; that number is never dialed).
    """

    campaign_id: str
    list_name: str
    source: str
    rows: int = 0
    new: int = 0
    merged: int = 0
    rearmed: int = 0
    skipped_duplicates: int = 0
    removed_subscribers: int = 0
    excluded: int = 0
    on_dnc: int = 0
    rejected: int = 0
    errors: tuple[RowIssue, ...] = ()
    skipped: tuple[RowIssue, ...] = ()
    warnings: tuple[RowIssue, ...] = ()

    @property
    def accepted(self) -> int:
        return self.new + self.merged + self.rearmed

    def summary(self) -> str:
        return (
            f"{self.campaign_id}/{self.list_name}: {self.rows} rows: {self.new} new, {self.merged} merged, "
            f"{self.rearmed} re-armed, {self.rejected} rejected, {self.excluded} excluded, "
            f"{self.removed_subscribers} current subscribers removed, {self.skipped_duplicates} duplicates "
            f"of other campaigns skipped, {self.on_dnc} on DNC"
        )


@dataclass(slots=True)
class ImportTally:
    """The mutable counter an import fills in; `freeze()` makes the report."""

    campaign_id: str
    list_name: str
    source: str
    rows: int = 0
    new: int = 0
    merged: int = 0
    rearmed: int = 0
    skipped_duplicates: int = 0
    removed_subscribers: int = 0
    excluded: int = 0
    on_dnc: int = 0
    rejected: int = 0
    errors: list[RowIssue] = field(default_factory=list)
    skipped: list[RowIssue] = field(default_factory=list)
    warnings: list[RowIssue] = field(default_factory=list)

    def error(self, issue: RowIssue) -> None:
        self.rejected += 1
        if len(self.errors) < MAX_LISTED:
            self.errors.append(issue)

    def skip(self, issue: RowIssue) -> None:
        if len(self.skipped) < MAX_LISTED:
            self.skipped.append(issue)

    def warn(self, issues: tuple[RowIssue, ...]) -> None:
        room = MAX_LISTED - len(self.warnings)
        if room > 0:
            self.warnings.extend(issues[:room])

    def freeze(self) -> ImportReport:
        return ImportReport(
            campaign_id=self.campaign_id,
            list_name=self.list_name,
            source=self.source,
            rows=self.rows,
            new=self.new,
            merged=self.merged,
            rearmed=self.rearmed,
            skipped_duplicates=self.skipped_duplicates,
            removed_subscribers=self.removed_subscribers,
            excluded=self.excluded,
            on_dnc=self.on_dnc,
            rejected=self.rejected,
            errors=tuple(self.errors),
            skipped=tuple(self.skipped),
            warnings=tuple(self.warnings),
        )


@dataclass(frozen=True, slots=True)
class DncReport:
    """A DNC list load: numbers added, already listed, rejected (with line numbers)."""

    added: int = 0
    already: int = 0
    rejected: int = 0
    errors: tuple[RowIssue, ...] = ()


@dataclass(frozen=True, slots=True)
class BaseReport:
    """A subscriber-base load: current subscribers' numbers indexed, former ones removed.

    former_held: former rows with a number left in the base because another subscriber holds it now (a
    recycled number); `skipped` lists the first `MAX_LISTED` of them, with the number and its holder.
    """

    rows: int = 0
    current: int = 0
    former: int = 0
    rejected: int = 0
    former_held: int = 0
    errors: tuple[RowIssue, ...] = ()
    skipped: tuple[RowIssue, ...] = ()
