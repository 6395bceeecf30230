"""What every supervisor route shares: the daemon, the auth dependencies, the audit log, the wallboard."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from fastapi import Depends

from dialer.supervisor.audit import AuditLog
from dialer.supervisor.auth import Credentials, Principal, Role, TokenBook, requirer
from dialer.supervisor.control import Supervisor
from dialer.supervisor.reports import SaleCodes
from dialer.supervisor.tally import Tally
from dialer.supervisor.wallboard import Wallboard

if TYPE_CHECKING:
    from agents.desk.core import Desk
    from dialer.daemon import Daemon

__all__ = ["Ctx"]


@dataclass(slots=True)
class Ctx:
    daemon: Daemon
    sup: Supervisor
    audit: AuditLog
    tally: Tally
    board: Wallboard
    need: Callable[[Role], Callable[[Credentials], Principal]]
    desk: Desk | None = None  # the agent desk the same app serves, if any

    @classmethod
    def build(cls, daemon: Daemon, *, desk: Desk | None = None, interval_s: float = 1.0) -> Ctx:
        sup = Supervisor(daemon)
        # a sale is what the campaign's disposition set says (kind sale or agreed), as in the reports; the sales
        # counter counts those disposed from now on (the streams hold the whole history, read for the day's figures)
        tally = Tally(daemon.store, is_sale=SaleCodes(daemon.engine.dispositions_for, lambda: daemon.engine.campaigns),
                      sales_from=daemon.clock.now())
        return cls(
            daemon=daemon,
            sup=sup,
            audit=AuditLog(daemon.store, daemon.clock),
            tally=tally,
            board=Wallboard(daemon, sup, tally, interval_s=interval_s),
            need=requirer(TokenBook(daemon.settings.api_tokens)),
            desk=desk,
        )

    def who(self, role: Role) -> Any:
        """A route parameter default: `who: Principal = ctx.who(Role.SUPERVISOR)` (401/403 otherwise)."""
        return Depends(self.need(role))
