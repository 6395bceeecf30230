"""The contact policy: may this lead be dialed now, on which number, and what follows a dial.

Pure (h11-style): `check(view, now)` and `plan_result(view, index, result, now)` take a snapshot and a
time and return a decision; the hopper does all reading and writing. The same `check` runs when the
hopper fills and again right before each originate, so a DNC request, a suppression or the end of the
calling day that arrives in between still stops the dial.

Order of the checks: final blocks first (finished, DNC, current subscriber, no dialable number, consent,
recidivist, attempts exhausted), then the temporary ones. For a temporary block the verdict carries
`not_before`, the first instant at which every block that holds now has passed and the hours allow a call, so
a deferred lead is looked at again exactly when it can be dialed, not polled.

Conservative choices, on purpose: a person's time zones are all those of all their numbers (we do not
know which one they are in), an abandoned call locks every number of that lead for 72 hours (the person
is the one who was abandoned), and a DNC disposition marks the person and all their numbers everywhere.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable
from dataclasses import replace
from datetime import datetime

from dialer.campaigns.kinds import RECIDIVIST_MARKS, is_recidivist
from dialer.campaigns.models import CampaignConfig
from dialer.campaigns.vocab import Consent, Disposition, Outcome, SuppressionKind
from dialer.errors import PolicyViolation
from dialer.policy.hours import Hours
from dialer.policy.types import Block, DialResult, LeadView, ResultPlan, Verdict

__all__ = ["MAX_CALLBACK_DAYS", "ContactPolicy", "held_by_paused_lists"]

DAY = 86400.0
MAX_CALLBACK_DAYS = 60
SUPPRESSION_RECHECK_S = 3600.0
LIST_PAUSE_PARK_S = 30 * DAY  # a resume brings the lead back at once; this only bounds a lost resume


_NO_MARKS: dict[str, str] = {}


def held_by_paused_lists(lists: Iterable[str], paused: Collection[str]) -> bool:
    """Whether a lead from `lists` waits for a resume: it came from some list, and every one is `paused`."""
    named = tuple(lists)
    return bool(named) and all(x in paused for x in named)


class ContactPolicy:
    """The contact rules of one campaign."""

    def __init__(self, campaign: CampaignConfig) -> None:
        self.campaign = campaign
        self.hours = Hours(campaign.calling_hours, campaign.jurisdiction)
        self._winback = campaign.kind == "winback"
        self._is_base = campaign.is_base
        self._lock_s = campaign.retry.abandon_lock_h * 3600.0
        # whether some 24-hour cap may hold (the campaign's, a region's): only then are dial times kept
        self._keeps_recent = campaign.retry.max_attempts_per_24h is not None or any(
            r.max_attempts_per_24h is not None for r in campaign.calling_hours.regions.values())
        # A campaign without an offer name is its own offer: its refusals stop only itself.
        self.offer = campaign.offer or campaign.id
        self._decline_kind = f"{SuppressionKind.DECLINED_OFFER.value}:{self.offer}"

    # -- may we dial? ---------------------------------------------------------------------------------

    def suppression_applies(self, kind: str) -> bool:
        """A "declined_offer:<offer>" signal stops only the campaign selling that offer (a campaign without an
        offer name sells itself, its id); every other signal, and a bare "declined_offer", stops all."""
        base, _, offer = kind.partition(":")
        if base == SuppressionKind.DECLINED_OFFER.value and offer:
            return offer == self.offer
        return True

    def check(self, view: LeadView, now: float, *, callback: bool = False, agent_reserved: bool = False,
              paused_lists: frozenset[str] = frozenset()) -> Verdict:
        """Whether `view` may be dialed at `now`; `callback` for a due callback (exempt from caps and from
        paused lists: the person asked for it). A lead whose every list is in `paused_lists` (the
        supervisor's list pauses, which the hopper reads) waits for one of them to resume."""
        final = self._final(view, callback)
        if final is not None:
            return final
        marks = RECIDIVIST_MARKS if self._winback and self._recidivist(view) else _NO_MARKS
        numbers = view.numbers
        blocks: list[tuple[Block, float, str]] = []
        if paused_lists and not callback and held_by_paused_lists(view.lists, paused_lists):
            # first, so that the hopper parks the lead (see Hopper.resume_list) whatever else holds it
            blocks.append((Block.LIST_PAUSED, now + LIST_PAUSE_PARK_S, ", ".join(view.lists)))
        if view.suppressions:
            active = [(k, u) for k, u in view.suppressions.items() if u > now and self.suppression_applies(k)]
            if active:
                until = max(u for _, u in active)
                kinds = ", ".join(sorted(k for k, _ in active))
                blocks.append((Block.SUPPRESSED, min(until, now + SUPPRESSION_RECHECK_S), kinds))
        c = self.campaign
        if not callback and self._is_base and view.last_base_contact > 0:
            until = view.last_base_contact + c.base_contact_days * DAY
            if now < until:
                blocks.append((Block.BASE_CONTACT, until, f"for {c.base_contact_days} days"))
        cap = c.max_contacts_per_month
        if (not callback and cap is not None and view.contacts_in_month >= cap
                and view.month == self.hours.local_month(view.zones, now)):
            until = self.hours.next_month(view.zones, now)
            blocks.append((Block.CONTACT_CAP, until, f"{view.contacts_in_month} of {cap}"))
        n = len(numbers)
        chosen: int | None = None
        earliest = math.inf
        for k in range(n):
            i = (view.next_index + k) % n
            num = numbers[i]
            if num.dnc or num.dead:
                continue
            if agent_reserved or num.locked_until <= now:
                chosen = i
                break
            earliest = min(earliest, num.locked_until)
        if chosen is None:
            blocks.append((Block.ABANDON_LOCK, earliest, "every dialable number"))
        regions = self.regions_of(view)
        if not callback:
            if view.attempts_day >= c.retry.max_attempts_per_day and view.day == self.hours.local_day(view.zones, now):
                until = self.hours.next_midnight(view.zones, now)
                blocks.append((Block.DAY_CAP, until, f"{view.attempts_day} today"))
            rolling = self._rolling_cap(regions)
            if rolling is not None:
                inside = [t for t in view.recent_attempts if t > now - DAY]
                if len(inside) >= rolling:
                    blocks.append((Block.ROLLING_CAP, inside[-rolling] + DAY, f"{len(inside)} in 24 hours"))
            if view.retry_at > now:
                blocks.append((Block.NOT_DUE, view.retry_at, ""))
        elif view.callback_at is not None and view.callback_at > now:
            blocks.append((Block.NOT_DUE, view.callback_at, "callback"))
        if blocks:
            latest = max(t for _, t, _ in blocks)
            opens = self.hours.next_open(view.zones, latest, regions)
            block, _, detail = blocks[0]
            return Verdict(False, block=block, not_before=opens if opens is not None else latest + DAY, detail=detail)
        if not self.hours.allowed(view.zones, now, regions):
            opens = self.hours.next_open(view.zones, now, regions)
            return Verdict(
                False,
                block=Block.OUTSIDE_HOURS,
                not_before=opens if opens is not None else now + DAY,
                detail=f"{self.hours.describe(regions)} in {', '.join(view.zones)}",
            )
        assert chosen is not None
        return Verdict(True, number_index=chosen, marks=marks)

    def regions_of(self, view: LeadView) -> tuple[str, ...]:
        """The regions whose stricter rules hold for the person of `view` (their numbers', their address's)."""
        return self.hours.regions_of((n.e164 for n in view.numbers), view.region)

    def _recidivist(self, view: LeadView) -> bool:
        return self.campaign.kind == "winback" and is_recidivist(view.prev_leaves, view.won_back, view.jumper_now)

    def _final(self, view: LeadView, callback: bool) -> Verdict | None:
        if view.finished is not None:
            return Verdict(False, block=Block.FINISHED, detail=view.finished)
        if view.person_dnc:
            return Verdict(False, block=Block.DNC, detail=f"{view.person} asked not to be called")
        live = [n for n in view.numbers if not n.dead]
        if live and all(n.dnc for n in live):
            return Verdict(False, block=Block.DNC, detail="every number is on a do-not-call list")
        if self.campaign.reconcile and view.base_persons:
            # A cold list leaves out current subscribers when it is imported; one who became a subscriber since
            # (the base is refreshed nightly) must not get the cold pitch either: final, as the import's removal.
            return Verdict(False, block=Block.CURRENT_SUBSCRIBER, detail=f"{view.base_persons[0]} is in the base")
        if not live:
            return Verdict(False, block=Block.NO_NUMBER, detail="every number is invalid or wrong")
        if self.campaign.consent_required and view.consent is not Consent.GRANTED:
            return Verdict(False, block=Block.NO_CONSENT, detail=f"consent is {view.consent.value}")
        wb = self.campaign.winback
        if wb is not None and wb.recidivist == "exclude" and self._recidivist(view):
            return Verdict(False, block=Block.RECIDIVIST, detail="left for a discount more than once")
        if not callback and view.attempts >= self.campaign.retry.max_attempts_total:
            return Verdict(False, block=Block.MAX_ATTEMPTS, detail=f"{view.attempts} attempts")
        return None

    # -- manual dialing ----------------------------------------------------------------------------------

    def check_manual(self, number: str, zones: tuple[str, ...], *, dnc: bool, now: float,
                     dialed_by: str | None = None) -> None:
        """A number an agent typed (manual dialing): refused when it is on any do-not-call list, when another
        dial has it out now (`dialed_by` says whose: the hopper's take of a lead, a predictive dial or a preview
        on an agent's screen; the person would get two calls at once), or when `now` is outside the calling
        hours in the callee's local time (every zone of the number). Raises PolicyViolation saying why and what
        to do."""
        if dnc:
            raise PolicyViolation(f"{number} is on the do-not-call list; it must not be dialed")
        if dialed_by is not None:
            raise PolicyViolation(f"{number} is being dialed right now ({dialed_by}); dial it again once that "
                                  "call has ended")
        if not zones:
            raise PolicyViolation(f"no time zone is known for {number}, so its calling hours cannot be checked; "
                                  "it must not be dialed manually")
        regions = self.hours.regions_of((number,))
        if not self.hours.allowed(zones, now, regions):
            where = ", ".join(zones + regions)
            raise PolicyViolation(f"it is outside the calling hours for {number} ({where}) now; "
                                  "schedule a callback instead")

    # -- callbacks -------------------------------------------------------------------------------------

    def validate_callback(self, zones: tuple[str, ...], at: float, now: float, *, numbers: Iterable[str],
                          region: str | None = None) -> None:
        """Refuse a callback time that is past, too far ahead, or outside the calling hours of the person
        (their `zones`, and the stricter rules of the regions of their `numbers` and address `region`)."""
        if not math.isfinite(at) or at <= now:
            raise PolicyViolation("the callback time is in the past; pick a time later than now")
        if at > now + MAX_CALLBACK_DAYS * DAY:
            raise PolicyViolation(f"the callback is more than {MAX_CALLBACK_DAYS} days ahead; pick an earlier time")
        regions = self.hours.regions_of(numbers, region)
        if not self.hours.allowed(zones, at, regions):
            local = ", ".join(
                f"{datetime.fromtimestamp(at, self.hours._zone(z)).strftime('%a %Y-%m-%d %H:%M')} {z}" for z in zones
            )
            if zones and self.hours.is_holiday(datetime.fromtimestamp(at, self.hours._zone(zones[0])).date()):
                local += " (a holiday)"
            nxt = self.hours.next_open(zones, at, regions)
            hint = ""
            if nxt is not None:
                z0 = self.hours._zone(zones[0])
                hint = f"; the next allowed time is {datetime.fromtimestamp(nxt, z0).strftime('%a %Y-%m-%d %H:%M')}"
            rules = self.hours.describe(regions)
            raise PolicyViolation(f"a callback at {local} is outside calling hours ({rules}){hint}")

    # -- after a dial ----------------------------------------------------------------------------------

    def plan_result(
        self, view: LeadView, index: int, result: DialResult, now: float, *, lost: bool = False
    ) -> ResultPlan:
        """Decide counters, locks, DNC, the next step and follow-ups after dialing `view.numbers[index]`.

        `lost` marks a dial whose result never came (the engine died mid-call): it counts as an attempt
        and is retried after the "lost" delay. Raises `PolicyViolation` (and decides nothing) when a
        callback time is not allowed.
        """
        c = self.campaign
        if not 0 <= index < len(view.numbers):
            raise PolicyViolation(f"number index {index} is not one of lead {view.lead_id}'s numbers")
        disp = result.disposition
        if disp is Disposition.CALLBACK:
            assert result.callback_at is not None
            self.validate_callback(view.zones, result.callback_at, now, numbers=(n.e164 for n in view.numbers),
                                   region=view.region)
        day = self.hours.local_day(view.zones, now)
        dead = {i for i, n in enumerate(view.numbers) if n.dead}
        plan = ResultPlan(
            attempts=view.attempts + 1,
            day=day,
            month=self.hours.local_month(view.zones, now),
            attempts_day=(view.attempts_day if view.day == day else 0) + 1,
            next_index=index,
            dead=frozenset(dead),
            next="finish",
            last_outcome=disp.value if disp is not None else result.outcome.value,
            recent_attempts=self._recent(view, now),
        )
        numbers = tuple(n.e164 for n in view.numbers)
        if result.outcome is Outcome.ABANDONED or result.abandoned:
            # The lock itself keeps the retry away for 72 hours (check() defers to its end); the retry
            # delay stays the configured one so a single rule, the lock, decides. A person connected too
            # late was abandoned too, though they then talked: the lock goes with their disposition.
            plan = replace(plan, lock_numbers=numbers, lock_until=now + self._lock_s)
        if result.outcome is Outcome.LIVE and disp is None:
            return replace(plan, finish_reason="answered", contacted=True, base_contact=c.is_base)
        if result.outcome is Outcome.LIVE and disp is not None and disp.reached_person:
            plan = replace(plan, contacted=True, base_contact=c.is_base)
            follow = self._follow_ups(view, disp, now)
            if disp is Disposition.CALLBACK:
                assert result.callback_at is not None
                return replace(
                    plan,
                    next="callback",
                    at=result.callback_at,
                    callback_agent=result.callback_agent,
                    follow_ups=follow,
                )
            if disp is Disposition.DNC:
                return replace(plan, finish_reason="dnc", dnc_numbers=numbers, dnc_person=True)
            decline_until = 0.0
            if disp is Disposition.REFUSED and c.decline_suppress_days > 0:
                decline_until = now + c.decline_suppress_days * DAY
            return replace(
                plan,
                finish_reason=disp.value,
                sale=disp.is_success,
                won_back=disp.is_success and c.kind == "winback" and view.jumper_now,
                decline_kind=self._decline_kind if decline_until else None,
                decline_until=decline_until,
                follow_ups=follow,
            )
        cause = "lost" if lost else disp.value if disp is not None else result.outcome.value
        if cause in ("invalid", "wrong_number"):
            dead.add(index)
        delay = c.retry.delay(cause)
        n = len(view.numbers)
        alive = [i for i in range(n) if i not in dead and not view.numbers[i].dnc]
        first = 1 if cause in c.retry.next_number_on else 0
        nxt = next((i for i in ((index + k) % n for k in range(first, n + first)) if i in alive), index)
        plan = replace(plan, next_index=nxt, dead=frozenset(dead))
        if not alive:
            return replace(plan, finish_reason="no dialable number")
        if plan.attempts >= c.retry.max_attempts_total:
            return replace(plan, finish_reason="attempts exhausted")
        return replace(plan, next="retry", at=now + delay)

    def plan_amendment(self, view: LeadView, index: int, result: DialResult, now: float) -> ResultPlan:
        """Decide anew for an attempt already counted: a contact first recorded without its disposition
        (`other`: the agent's wrap-up ran out), now that the agent has sent it late, or a dial given up as
        lost whose real result came after all. The attempt and its day stay counted once; the contact
        counters of an amended contact were written the first time (`write_plan(amending=...)` leaves them).
        Raises `PolicyViolation` as `plan_result` does."""
        earlier = replace(view, attempts=max(0, view.attempts - 1), attempts_day=max(0, view.attempts_day - 1))
        plan = self.plan_result(earlier, index, result, now)
        return replace(plan, day=view.day, attempts_day=view.attempts_day, recent_attempts=None)

    def _rolling_cap(self, regions: tuple[str, ...]) -> int | None:
        """Dials allowed in any 24 hours: the lowest of the campaign's cap and its person's regions' caps."""
        if not self._keeps_recent:  # no cap anywhere (the default): nothing to look at on every check
            return None
        rules = self.campaign.calling_hours.regions
        caps = [self.campaign.retry.max_attempts_per_24h, *(rules[r].max_attempts_per_24h for r in regions)]
        return min((x for x in caps if x is not None), default=None)

    def _recent(self, view: LeadView, now: float) -> tuple[float, ...] | None:
        """The dial times to keep after a dial at `now`: those of the last 24 hours, this one included (only
        when a 24-hour cap may hold: the campaign's, or a region's)."""
        if not self._keeps_recent:
            return None
        return (*(t for t in view.recent_attempts if t > now - DAY), now)

    def _follow_ups(self, view: LeadView, disp: Disposition, now: float) -> tuple[tuple[str, float], ...]:
        out: list[tuple[str, float]] = []
        for fu in self.campaign.follow_ups:
            if fu.on is not disp:
                continue
            if fu.delay_s is not None:
                out.append((fu.campaign, now + fu.delay_s))
            else:
                assert fu.next_day_at is not None
                minute = fu.next_day_at.hour * 60 + fu.next_day_at.minute
                out.append((fu.campaign, self.hours.at_local(view.zones, now, 1, minute)))
        return tuple(out)
