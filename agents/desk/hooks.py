"""What the desktop needs from the daemon beyond agent commands, as `Protocol`s it checks at run time.

`dialer.daemon.Daemon` implements all of them. The desk checks `isinstance(daemon, PreviewDialing)` (and
so on) on every request, so a daemon without one (an older or a trimmed one) answers 501 naming the
method it lacks, and the snapshot's `features` tell the page to grey the button out. Each method applies
at once or raises `IllegalTransition` (the agent or the call is in the wrong state: 409),
`PolicyViolation` (the contact policy forbids the dial: 403) or another `DialerError`, like
`Daemon.agent_command`. The dialing methods are coroutines: they read the contact policy's lists in
Redis before they dial.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

__all__ = ["BlindTransfer", "CallbackList", "CallbackMoves", "ManualDialing", "PreviewDialing"]


@runtime_checkable
class PreviewDialing(Protocol):
    """Preview mode: the agent sees the lead first (a `preview` feed message), then dials or skips it.

    The daemon is expected to publish, for an agent in a preview campaign who is READY, the feed kind
    `preview` with `ScreenPopRenderer.preview(...)`'s payload (lead, script, dispositions; no call id),
    and to keep that lead reserved for the agent until `preview_dial` or `preview_skip`.
    """

    async def preview_dial(self, agent_id: str, lead_id: str, number_index: int) -> str:
        """Originate the previewed lead's number (agent leg first); return the new call id."""
        ...

    async def preview_skip(self, agent_id: str, lead_id: str, reason: str) -> None:
        """Give the previewed lead back to the hopper unused and offer the agent the next one."""
        ...


@runtime_checkable
class ManualDialing(Protocol):
    async def manual_dial(self, agent_id: str, number: str) -> str:
        """Call an E.164 number for this (paused or ready) agent, after the contact policy (DNC, hours)
        allows it; return the call id. Raises PolicyViolation when it does not."""
        ...


@runtime_checkable
class BlindTransfer(Protocol):
    def blind_transfer(self, agent_id: str, call_id: str, target: str) -> None:
        """Move the customer of `call_id` to `target` (another agent id, or "supervisor"): a Redirect of
        the customer leg, the call's agent becomes the target, the first agent goes to wrap-up."""
        ...


@runtime_checkable
class CallbackList(Protocol):
    async def own_callbacks(self, agent_id: str, campaign_id: str) -> list[dict[str, Any]]:
        """The callbacks the agent kept for themselves in the campaign, earliest first: `lead_id`, `at`
        (epoch), `number`, `lead` (its fields). Empty when the campaign's lead source keeps none."""
        ...


@runtime_checkable
class CallbackMoves(Protocol):
    async def move_callback(self, campaign_id: str, lead_id: str, at: str | None, keep_for: str | None, *,
                            agent_id: str | None = None) -> dict[str, Any]:
        """Move one scheduled callback kept for `agent_id` to `at` (ISO-8601 with an offset; None: same time),
        kept for `keep_for` from now on (None: any agent). Raises DispositionRejected for a bad time (422) and
        CallbackNotMovable when it is not theirs (404) or not waiting to be called (409)."""
        ...
