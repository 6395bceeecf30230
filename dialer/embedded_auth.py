"""The embedded amqtt broker's authentication: every client on 127.0.0.1 is let in as a known client.

amqtt's own `AnonymousAuthPlugin` marks each client anonymous, and amqtt keeps no queued messages for an
anonymous client's persistent session; Mosquitto does (anonymous or not). The daemon relies on that
queue to get the agents' commands sent while its connection was down (`dialer.bus`), so the embedded
broker must behave as Mosquitto does. It listens on 127.0.0.1 only, for the demo and the tests.

amqtt 0.12 also keeps a resumed session's old clean-session flag: a client id first seen with a clean
session and then resumed with clean session off (what the daemon does to start afresh) is still treated
as clean, and gets no queue. A resumed session (`parent == 1`) is one whose CONNECT had clean session
off, so the flag is set right here, before the broker looks at it.
"""

from __future__ import annotations

from dataclasses import dataclass

from amqtt.plugins.base import BaseAuthPlugin
from amqtt.session import Session

__all__ = ["LocalClients"]


class LocalClients(BaseAuthPlugin):  # type: ignore[misc]  # amqtt ships no type hints
    @dataclass
    class Config:
        pass

    async def authenticate(self, *, session: Session) -> bool:
        session.is_anonymous = False
        if session.parent == 1:
            session.clean_session = False
        return True
