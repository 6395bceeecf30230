"""The campaign's Redis hopper behind the daemon's `LeadSource` port.

The daemon asks for `n` numbers and reports results; this adapter keeps the hopper filled ahead of
need, translates call records and dispositions into the contact policy's vocabulary, and holds a
connected call's result until its disposition arrives (the policy wants both together, once). A call the
record says was abandoned (a person connected too late) keeps that with the agent's disposition: the
number gets the abandon lock. A result Redis cannot take now (it is away) is written again until it is:
each result is the daemon's task of its own, so one waiting holds up no other. A lead given back while Redis
is away (a Skip, a dial that never went out) is given back at the source's next use (`depth`, `take`: the
pacer's every step), not left taken until the hopper recovers it as a lost dial an hour later; the hopper
writes a give-back once per take, so a try whose reply was lost does no harm. The takes a crashed process left
are released by the daemon that starts after it (`release_dead_takes`), once it took over that process's calls.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import math
from collections import deque
from collections.abc import Awaitable, Callable, Collection, Iterable
from typing import Any

import redis.asyncio as aioredis

from agents.dispositions import DEFAULT_DISPOSITIONS, DispositionKind, DispositionSet
from dialer.campaigns.models import CampaignConfig
from dialer.campaigns.vocab import Disposition as PolicyDisposition
from dialer.campaigns.vocab import Outcome
from dialer.config import CampaignSettings
from dialer.engine.commands import DispositionMade
from dialer.engine.core import DialRequest
from dialer.engine.records import CallRecord
from dialer.errors import DialerError, LeadError, PolicyViolation, StateStoreError
from dialer.hopper import DialResult, DialTarget, Hopper
from dialer.hopper.hopper import MANUAL_LEAD_PREFIX, DeadTakes, SettleDials
from dialer.hopper.types import CallbackMove, LeadList, NumberInUse, RecycleReport, ScheduledCallback
from dialer.leads.phone import normalize, zones_for
from dialer.policy.contact import ContactPolicy
from dialer.store import refused_for_good, until_stored

__all__ = ["HopperLeadSource", "open_hopper_source"]

log = logging.getLogger(__name__)

_OUTCOMES = {
    "connected": Outcome.LIVE,
    "transfer_failed": Outcome.LIVE,  # talked to an agent, then a blind transfer found nobody
    "abandoned": Outcome.ABANDONED,
    "hung_up_waiting": Outcome.ABANDONED,  # hung up before an agent came: an abandon (72-hour lock)
    "hung_up_screening": Outcome.NO_ANSWER,
    "machine": Outcome.MACHINE,
    "busy": Outcome.BUSY,
    "no_answer": Outcome.NO_ANSWER,
    "congestion": Outcome.CONGESTION,
    "invalid": Outcome.INVALID,
    "failed": Outcome.CONGESTION,
    "lost": Outcome.NO_ANSWER,
    "delivered": Outcome.LIVE,  # agentless: the person got the message (no disposition follows)
    "machine_message": Outcome.MACHINE,  # agentless: left on a machine; retried as machines are
    "hung_up_before_message": Outcome.NO_ANSWER,  # agentless: gone before the message started; retried
}


def _listed(c: ScheduledCallback) -> dict[str, Any]:
    """A scheduled callback as the desk's and the supervisors' lists show it."""
    return {"lead_id": c.lead_id, "at": c.at, "number": c.number_e164, "lead": dict(c.fields)}


def _request(t: DialTarget) -> DialRequest:
    return DialRequest(lead_id=t.lead_id, number=t.number_e164, attempt=t.attempt, number_index=t.number_index,
                       fields=t.fields, callback_agent=t.callback_agent, target=t, callback_at=t.callback_at,
                       zone=t.zone, lead_list=t.lead_list)


class HopperLeadSource:
    """`LeadSource` over one campaign's `Hopper`.

    `dispositions` is the campaign's disposition set (its script's, else the default one): an agent's
    code means what its *kind* says (`_policy_disposition`), so a campaign's own codes of kind callback,
    sale, refused... are callbacks, sales and refusals for the contact policy."""

    def __init__(self, hopper: Hopper, *, low_watermark: int = 50, refill_every_s: float = 5.0,
                 retry_s: float = 1.0, max_retry_s: float = 30.0,
                 dispositions: DispositionSet = DEFAULT_DISPOSITIONS) -> None:
        self.hopper = hopper
        self.dispositions = dispositions
        self._low = low_watermark
        self._every = refill_every_s
        self._retry_s, self._max_retry_s = retry_s, max_retry_s  # a result's writes while Redis is away
        self._last_fill = -math.inf
        self._held: dict[str, tuple[DialTarget, CallRecord]] = {}
        # connected calls whose disposition came before the record (the agent transferred the call to the
        # supervisor): its result waits for the record, which says whether the person was abandoned
        self._disposed_early: dict[str, DialResult] = {}
        self._writing: dict[str, asyncio.Event] = {}  # calls whose first disposition is being written
        # leads given back while Redis was away, to give back at the next use: (target, when, skip's wait)
        self._unreturned: deque[tuple[DialTarget, float, float | None]] = deque()

    async def _maybe_fill(self, depth: int, now: float) -> int:
        if depth >= self._low and now - self._last_fill < self._every:
            return depth
        if now - self._last_fill < 0.5:  # an empty hopper is not refilled more than twice a second
            return depth
        self._last_fill = now
        report = await self.hopper.fill(now)
        return report.depth

    async def depth(self, now: float) -> int:
        await self._return_waiting()
        return await self._maybe_fill(await self.hopper.depth(), now)

    async def take(self, n: int, now: float) -> list[DialRequest]:
        await self._return_waiting()
        return [_request(t) for t in await self.hopper.take(n, now)]

    async def take_previews(self, n: int, now: float) -> list[DialRequest]:
        """As `take`, for agents' preview screens: not dialed until the agent dials (`recheck` says so), so a
        restart after a crash gives them back with no attempt counted (`release_dead_takes`)."""
        await self._return_waiting()
        return [_request(t) for t in await self.hopper.take(n, now, preview=True)]

    async def note_calls(self, calls: Iterable[tuple[object, str]]) -> None:
        """Keep each predictive dial's call id on its take (`Hopper.note_calls`: `(request target, call id)`), for
        the restart after a crash. Best effort: while Redis is away the take keeps its dialed flag only, and a crash
        then records it lost, as before call ids were kept; everything else says Redis is away."""
        placed = [(t, call_id) for t, call_id in calls if isinstance(t, DialTarget)]
        try:
            await self.hopper.note_calls(placed)
        except DialerError as exc:
            log.debug("call ids not kept on their takes", extra={"campaign_id": self.hopper.campaign_id,
                                                                 "error": repr(exc)})

    async def release_dead_takes(self, now: float, *, keep_leads: Collection[str] = (),
                                 keep_numbers: Collection[str] = (), settle: SettleDials | None = None) -> DeadTakes:
        """The takes an earlier process of the dialer left in flight, released at once (`Hopper.release_dead_takes`:
        call it once that process's calls still up in Asterisk are taken over, their leads in `keep_leads`; its
        dials with a call id go to `settle`), and said at INFO."""
        done = await self.hopper.release_dead_takes(now, keep_leads=keep_leads, keep_numbers=keep_numbers,
                                                    settle=settle)
        where = {"campaign_id": done.campaign_id}
        if done.released:
            log.info(f"campaign {done.campaign_id}: {done.released} lead(s) an earlier daemon process took "
                     f"(run {', '.join(done.runs)}, gone) released at once, not after inflight_timeout_s: "
                     f"{done.returned} never dialed back in the queue and {done.callbacks} callback(s) never dialed "
                     "back among the callbacks, kept for their agents (no attempt counted), "
                     f"{done.settled} dialed ended by their answer marks or the record that process wrote, and "
                     f"{done.lost} whose dial may have gone out recorded lost (a no-answer, retried)", extra=where)
        if done.up or done.unstamped:
            log.info(f"campaign {done.campaign_id}: of the leads an earlier daemon process took, {done.up} are left "
                     f"to their calls still up in Asterisk and {done.unstamped} taken by a version without run "
                     "stamps are recovered as lost dials after inflight_timeout_s", extra=where)
        return done

    async def take_own_callbacks(self, agent_ids: Iterable[str], now: float) -> dict[str, DialRequest]:
        return {a: _request(t) for a, t in (await self.hopper.take_own_callbacks(agent_ids, now)).items()}

    async def reassign_callbacks(self, from_agent: str, to_agent: str | None) -> int:
        return await self.hopper.reassign_callbacks(from_agent, to_agent)

    async def due_own_callbacks(self, agent_ids: Iterable[str], now: float) -> dict[str, list[str]]:
        return await self.hopper.due_own_callbacks(agent_ids, now)

    async def recycle(self, now: float) -> RecycleReport:
        return await self.hopper.recycle(now)

    async def explain(self, lead_id: str, now: float) -> dict[str, Any]:
        return await self.hopper.explain(lead_id, now)

    async def lists(self) -> list[LeadList]:
        return await self.hopper.lists()

    async def pause_list(self, name: str, now: float) -> LeadList:
        return await self.hopper.pause_list(name, now)

    async def resume_list(self, name: str, now: float) -> tuple[LeadList, int]:
        return await self.hopper.resume_list(name, now)

    async def move_callback(self, lead_id: str, at: float | None, keep_for: str | None, *,
                            kept_for: str | None = None, now: float | None = None) -> CallbackMove:
        return await self.hopper.move_callback(lead_id, at, keep_for, kept_for=kept_for, now=now)

    async def own_callbacks(self, agent_id: str, limit: int = 50) -> list[dict[str, Any]]:
        return [_listed(c) for c in await self.hopper.own_callbacks(agent_id, limit)]

    async def scheduled_callbacks(self, limit: int = 50) -> list[dict[str, Any]]:
        return [{**_listed(c), "kept_for": c.kept_for} for c in await self.hopper.scheduled_callbacks(limit)]

    async def record_result(self, record: CallRecord, target: object | None, now: float) -> None:
        if not isinstance(target, DialTarget):
            return
        early = self._disposed_early.pop(record.call_id, None)
        if early is not None:  # transferred to the supervisor: the disposition came first, and says more
            await self._report(target, dataclasses.replace(early, abandoned=record.abandoned), now)
            return
        if record.outcome in ("connected", "transfer_failed"):  # a person talked: the disposition says more
            self._held[record.call_id] = (target, record)  # completed by the disposition
            return
        await self._report(target, DialResult(outcome=_OUTCOMES.get(record.outcome, Outcome.NO_ANSWER),
                                               agent=record.agent_id, abandoned=record.abandoned), now)

    async def record_disposition(self, disposition: DispositionMade, now: float) -> None:
        if disposition.amends is not None:
            await self._amend(disposition, now)
            return
        held = self._held.pop(disposition.call_id, None)
        target = held[0] if held is not None else disposition.target
        if not isinstance(target, DialTarget):
            if disposition.final:  # no lead to write it on: say so, rather than drop it without a word
                log.warning(f"disposition {disposition.code!r} of call {disposition.call_id} is kept in the call's "
                            "record only: the call has no lead in the hopper (a call an earlier daemon process left, "
                            "whose lead could not be read back); a callback or follow-up it asks for is not scheduled",
                            extra={"call_id": disposition.call_id, "campaign_id": disposition.campaign_id,
                                   "code": disposition.code})
            return
        if not disposition.final:
            return
        result = _result_of(disposition, self.dispositions)
        if held is None:  # the call is still up (its agent transferred it to the supervisor)
            # Written with the record, which says whether the person was abandoned (connected too late):
            # the abandon lock goes with the disposition. The engine writes every call's record, at the
            # latest when it stops.
            self._disposed_early[disposition.call_id] = result
            return
        # the call was an abandon though the person then talked to an agent: the number is locked as after
        # any abandon, and the disposition (a sale, a callback...) counts as well
        result = dataclasses.replace(result, abandoned=held[1].abandoned)
        # a late disposition may follow this one at once, in a task of its own: it waits for this write
        written = self._writing[disposition.call_id] = asyncio.Event()
        try:
            await self._report(target, result, now)
        finally:
            written.set()
            self._writing.pop(disposition.call_id, None)

    async def _amend(self, disposition: DispositionMade, now: float) -> None:
        """A late disposition (the agent's wrap-up had run out): it replaces the first result's
        `no_disposition`. Nothing already recorded is lost when it cannot: the call's record keeps the
        late code either way."""
        target = disposition.target
        if not isinstance(target, DialTarget):
            return
        first = self._writing.get(disposition.call_id)
        if first is not None:
            await first.wait()
        try:
            # no abandon lock to repeat: the first result wrote it, and a lock is only ever lengthened
            result = _result_of(disposition, self.dispositions)
            await self._until_stored(f"late disposition of call {disposition.call_id}", target,
                                     lambda: self.hopper.amend_result(target, result, now))
        except PolicyViolation as exc:  # e.g. a callback outside the person's calling hours
            log.warning("late disposition refused by the contact policy; the lead keeps its first result",
                        extra={"lead_id": target.lead_id, "call_id": disposition.call_id, "error": str(exc)})
        except DialerError as exc:
            log.warning("late disposition not applied to the lead",
                        extra={"lead_id": target.lead_id, "call_id": disposition.call_id, "error": str(exc)})

    async def give_back(self, request: DialRequest, now: float) -> None:
        """A lead an agent skipped in preview mode goes back to the hopper; no attempt is counted. While Redis
        is away it is given back at the next `depth` or `take`."""
        if isinstance(request.target, DialTarget):
            await self._give_back(request.target, now, None)

    async def put_back(self, request: DialRequest, now: float) -> None:
        """A lead nobody looked at (its dial never went out, its campaign paused, its agent paused) goes back
        due at once, a callback at its time still: no attempt is counted, and no skip's wait. While Redis is
        away it is given back at the next `depth` or `take`."""
        if isinstance(request.target, DialTarget):
            await self._give_back(request.target, now, 0.0)

    async def _give(self, target: DialTarget, now: float, after_s: float | None) -> None:
        if after_s is None:
            await self.hopper.give_back(target, now)
        else:
            await self.hopper.give_back(target, now, after_s=after_s)

    async def _give_back(self, target: DialTarget, now: float, after_s: float | None) -> None:
        try:
            await self._give(target, now, after_s)
        except StateStoreError as exc:
            if refused_for_good(exc):
                raise
            log.warning("lead not given back yet (Redis away); it is at the lead source's next use",
                        extra={"lead_id": target.lead_id, "campaign_id": target.campaign_id, "error": repr(exc)})
            self._unreturned.append((target, now, after_s))

    async def _return_waiting(self) -> None:
        """Give back the leads Redis could not take back earlier, as they were given (their time, their wait);
        stops at the first that meets Redis away still. One the hopper refuses (the lead deleted, a write Redis
        refuses for good) is dropped with an ERROR: the hopper recovers it as a lost dial."""
        while self._unreturned:
            target, at, after_s = self._unreturned.popleft()
            try:
                await self._give(target, at, after_s)
            except StateStoreError as exc:
                if not refused_for_good(exc):
                    self._unreturned.appendleft((target, at, after_s))
                    return
                log.error("lead not given back", extra={"lead_id": target.lead_id, "error": repr(exc)})
            except DialerError as exc:
                log.error("lead not given back", extra={"lead_id": target.lead_id, "error": repr(exc)})

    async def recheck(self, request: DialRequest, now: float) -> None:
        """A previewed lead, right before the agent dials it: the hopper's whole contact policy again (as
        `take` checks it). Raises PolicyViolation when it no longer passes; the hopper has then released it
        (finished, or deferred until it may be dialed) with the reason."""
        if not isinstance(request.target, DialTarget):
            return
        verdict = await self.hopper.recheck(request.target, now)
        if verdict.ok:
            return
        why = f"{verdict.block}" + (f" ({verdict.detail})" if verdict.detail else "")
        after = "it will not be called again" if verdict.final else "it went back to the hopper until it may be"
        raise PolicyViolation(f"lead {request.lead_id} may not be dialed now: {why}; {after}. "
                              "Take the next lead.")

    async def check_number(self, number: str, now: float, *, own: DialRequest | None = None) -> None:
        """Manual dialing: refuse a number on a do-not-call list, out being dialed by a take of the hopper (a
        predictive dial, a preview on another agent's screen, in any campaign sharing the Redis prefix), or
        outside its calling hours now.

        The daemon also checks the number of a preview its agent is about to dial here (`own`, the preview):
        that preview's own take has the number out, and is not another dial."""
        own_target = own.target if own is not None and isinstance(own.target, DialTarget) else None
        try:
            e164 = normalize(number, "ZZ")
            zones = zones_for(e164)
        except LeadError as exc:
            raise PolicyViolation(f"{number!r} cannot be dialed: {exc}") from exc
        use = await self.hopper.number_in_use(e164)
        dialed_by = None
        if not (own_target is not None and use.out_lead is not None
                and (use.out_campaign, use.out_lead) == (own_target.campaign_id, own_target.lead_id)):
            dialed_by = _dialed_by(use)
        self.hopper.policy.check_manual(e164, zones, dnc=use.dnc, now=now, dialed_by=dialed_by)

    async def take_manual(self, number: str, agent_id: str, now: float) -> DialRequest:
        """Manual dialing, once `check_number` passed: the lead of `agent_id`'s call (`Hopper.take_manual`), a lead
        of its own in the campaign's hopper taken for this dial, its number marked out as a take marks its lead's
        (no take, in any campaign sharing the Redis prefix, dials the person while the call is up). The call's
        result is then written on it as any dial's: a callback, a follow-up, the attempt, the contact rules.
        Raises PolicyViolation when another dial marked the number since the check. Give the request to
        `drop_manual` when the dial never begins."""
        try:
            e164 = normalize(number, "ZZ")
            target, use = await self.hopper.take_manual(e164, agent_id, now)
        except LeadError as exc:
            raise PolicyViolation(f"{number!r} cannot be dialed: {exc}") from exc
        if target is None:
            raise PolicyViolation(f"{e164} is being dialed right now ({_dialed_by(use)}); dial it again once that "
                                  "call has ended")
        return _request(target)

    async def drop_manual(self, request: DialRequest) -> None:
        """A manual dial whose lead `take_manual` made never began (the agent could not dial after all): the lead
        goes, as if never made. Redis away: a WARNING; the lead is recovered as a lost dial after the campaign's
        `inflight_timeout_s`, and finished (`manual dial`), not dialed."""
        if not isinstance(request.target, DialTarget):
            return
        try:
            await self.hopper.drop_manual(request.target)
        except StateStoreError as exc:
            log.warning("lead of a manual dial that never began not dropped (Redis away); it is recovered as a lost "
                        "dial later and finished, not dialed",
                        extra={"lead_id": request.lead_id, "campaign_id": request.target.campaign_id,
                               "error": repr(exc)})

    def callback_refusal(self, target: object | None, at: float, now: float) -> str | None:
        """Why a callback at `at` to the person of `target` would not be kept, or None: the contact policy's
        refusal (outside their calling hours, too far ahead...), or no lead in the hopper to keep it on. Checked
        when the agent sets it, so that they pick another time or disposition instead of the callback being
        dropped when the result is written."""
        campaign = self.hopper.campaign
        if not isinstance(target, DialTarget):
            return (f"this call has no lead in campaign {campaign.id}'s hopper to keep a callback on (a call an "
                    "earlier daemon process left, whose lead could not be read back), so it would never be made; "
                    "choose another disposition and note the time the customer asked for")
        if campaign.consent_required and target.lead_id.startswith(MANUAL_LEAD_PREFIX):
            # the hopper dials no lead of this campaign without the person's recorded consent, callbacks included
            return (f"campaign {campaign.id} calls only people whose consent is recorded, and a number dialed by "
                    "hand has none, so the callback would never be made; choose another disposition and note the "
                    "time the customer asked for")
        if not target.zones:
            return None
        try:
            self.hopper.policy.validate_callback(target.zones, at, now, numbers=target.numbers, region=target.region)
        except PolicyViolation as exc:
            return str(exc)
        return None

    async def _until_stored(self, what: str, target: DialTarget, write: Callable[[], Awaitable[object]]) -> None:
        """`write()`, again while Redis is away (StateStoreError) until it is written: the result was
        accepted (the agent saw it saved), and dropped, the lead would be recovered later as a lost
        attempt (a callback never made, a sale dialed again). Cancelled when the daemon stops."""
        await until_stored(f"{what} (lead {target.lead_id} of {target.campaign_id})", write, retry_s=self._retry_s,
                           max_retry_s=self._max_retry_s,
                           extra={"lead_id": target.lead_id, "campaign_id": target.campaign_id}, logger=log)

    async def _report(self, target: DialTarget, result: DialResult, now: float) -> None:
        try:
            await self._until_stored("result", target, lambda: self.hopper.record_result(target, result, now))
        except PolicyViolation as exc:
            # e.g. a callback outside the person's calling hours: keep the contact, drop the callback,
            # so the lead does not stay in flight until recovered as a lost attempt.
            log.warning("result refused by the contact policy; recorded without the callback",
                        extra={"lead_id": target.lead_id, "error": str(exc)})
            fallback = DialResult(outcome=result.outcome, disposition=PolicyDisposition.OTHER, agent=result.agent,
                                  abandoned=result.abandoned)
            try:
                await self._until_stored("result", target, lambda: self.hopper.record_result(target, fallback, now))
            except DialerError as again:
                log.error("hopper could not record a result", extra={"lead_id": target.lead_id, "error": repr(again)})
        except DialerError as exc:  # e.g. a LeadError: the lead was deleted meanwhile
            log.error("hopper could not record a result", extra={"lead_id": target.lead_id, "error": repr(exc)})


def _dialed_by(use: NumberInUse) -> str | None:
    """Whose dial has a number out, as a manual dial's refusal says it (None: nobody's)."""
    if use.out_agent is not None:
        return f"a manual call of agent {use.out_agent} in campaign {use.out_campaign}"
    if use.out_lead is not None and use.out_lead.startswith(MANUAL_LEAD_PREFIX):
        return f"an agent's manual call in campaign {use.out_campaign}, lead {use.out_lead}"
    if use.out_lead is not None:
        return f"lead {use.out_lead} of campaign {use.out_campaign}"
    return None


# the contact policy's words that no disposition kind has: a code spelled so keeps its word (a confirmation
# campaign's `confirmed` is not a second sale, and a follow-up's `on` may name it)
_OWN_WORDS = frozenset({PolicyDisposition.CONFIRMED.value, PolicyDisposition.NOT_CONFIRMED.value})
# the code of a call whose wrap-up ended without the agent's disposition (dialer.engine.agentside): a
# contact whose result is unknown, `other` by design
_NO_DISPOSITION = "no_disposition"


def _policy_disposition(disposition: DispositionMade, dispositions: DispositionSet) -> PolicyDisposition:
    """The contact policy's word for an agent's code: its kind in the campaign's disposition set (the
    kinds are the policy's words), except that `confirmed` and `not_confirmed` keep their own words unless
    their kind is callback or dnc (whose fields carry the callback time, the opt-out). A code the set does
    not know means what it spells when that is a policy word, else `other` with a WARNING (but for
    `no_disposition`, which is `other` by design)."""
    code = disposition.code
    spec = dispositions.get(code)
    if spec is None:
        try:
            return PolicyDisposition(code)
        except ValueError:
            if code != _NO_DISPOSITION:
                log.warning("disposition code unknown to the campaign's dispositions; the lead's result is 'other'",
                            extra={"call_id": disposition.call_id, "campaign_id": disposition.campaign_id,
                                   "code": code})
            return PolicyDisposition.OTHER
    if code in _OWN_WORDS and spec.kind not in (DispositionKind.CALLBACK, DispositionKind.DNC):
        return PolicyDisposition(code)
    try:
        return PolicyDisposition(spec.kind.value)
    except ValueError:  # a kind the contact policy has no word for
        log.warning("disposition kind unknown to the contact policy; the lead's result is 'other'",
                    extra={"call_id": disposition.call_id, "campaign_id": disposition.campaign_id, "code": code,
                           "kind": spec.kind.value})
        return PolicyDisposition.OTHER


def _result_of(disposition: DispositionMade, dispositions: DispositionSet = DEFAULT_DISPOSITIONS) -> DialResult:
    """The contact policy's view of an agent's disposition of a connected call."""
    code = _policy_disposition(disposition, dispositions)
    f = disposition.fields
    epoch = f.get("callback_epoch") if code is PolicyDisposition.CALLBACK else None
    callback_at = float(epoch) if epoch else None
    if code is PolicyDisposition.CALLBACK and callback_at is None:
        log.warning("callback disposition without a callback time; the lead's result is 'other'",
                    extra={"call_id": disposition.call_id, "code": disposition.code})
        code = PolicyDisposition.OTHER
    return DialResult(
        outcome=Outcome.LIVE,
        disposition=code,
        refusal_reason=(f.get("reason") or None) if code is PolicyDisposition.REFUSED else None,
        callback_at=callback_at,
        callback_agent=(f.get("callback_agent") or None) if callback_at is not None else None,
        agent=disposition.agent_id,
    )


async def open_hopper_source(
    campaign: CampaignSettings, redis: aioredis.Redis, prefix: str = "dialer"
) -> HopperLeadSource:
    """Put the hopper of the campaign's file (as its settings were settled with it, else read now) behind the
    LeadSource port, with the dispositions of the campaign's script (the default set without one), which the
    desk's codes are checked against: a code's kind says what it means for the contact policy."""
    from agents.scripts import load_script

    # the file as `dialer run` read and checked it at start-up, not a second reading that may differ
    config: CampaignConfig = campaign.file_config()
    if config.id != campaign.id:
        config = config.model_copy(update={"id": campaign.id})
    dispositions = load_script(campaign.script).dispositions if campaign.script is not None else DEFAULT_DISPOSITIONS
    return HopperLeadSource(Hopper(redis, config, ContactPolicy(config), prefix=prefix), dispositions=dispositions)
