"""The demo's stand-in for the operator's ticketing system: trouble tickets, published on MQTT.

Every `every_s` of simulated time it opens a trouble ticket for a subscriber whose lead is near the head
of a campaign's ready queue, exactly as a production ticketing system would: one JSON signal on the
daemon's `[mqtt] signals_topic` (docs/CAMPAIGNS.md, "Suppression signals"). It picks leads about to be
dialed so that the report can show the hold at work: none of them is dialed while the ticket is open.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from urllib.parse import urlparse

import aiomqtt
import redis.asyncio as aioredis

from dialer.clock import Clock
from dialer.hopper.keys import CampaignKeys
from dialer.hopper.store import LeadStore
from dialer.hopper.views import text

__all__ = ["Ticket", "TicketingSystem", "dialed_while_ticketed"]

# A lead the hopper handed out in the instant before its ticket landed is dialed anyway (it was checked
# when taken). The ticket goes to a lead tenth in the queue, so that it lands first, and it lands within
# a second of simulated time: a dial later than this is a miss.
IN_FLIGHT_S = 5.0
QUEUE_POSITION = 10


@dataclass(frozen=True, slots=True)
class Ticket:
    campaign_id: str
    lead_id: str
    subject: str
    opened_at: float


class TicketingSystem:
    def __init__(self, mqtt_url: str, topic: str, redis: aioredis.Redis, prefix: str, campaign_id: str,
                 clock: Clock, *, every_s: float = 1200.0) -> None:
        self._mqtt = urlparse(mqtt_url)
        self._topic, self._redis, self._prefix = topic, redis, prefix
        self._campaign, self._clock, self._every = campaign_id, clock, every_s
        self.tickets: list[Ticket] = []

    async def run(self) -> None:
        """Open a ticket every `every_s` until cancelled."""
        store = LeadStore(self._redis, prefix=self._prefix)
        ready = CampaignKeys(self._prefix, self._campaign).r
        async with aiomqtt.Client(self._mqtt.hostname or "127.0.0.1", self._mqtt.port or 1883,
                                  identifier="demo-ticketing") as client:
            while True:
                await self._clock.sleep(self._every)
                ticketed = {t.lead_id for t in self.tickets}
                queued = [text(x) for x in await self._redis.zrange(ready, 0, 2 * QUEUE_POSITION)]
                lead_id = next((x for x in queued[QUEUE_POSITION:] + queued[::-1] if x not in ticketed), None)
                lead = await store.get_lead(self._campaign, lead_id) if lead_id is not None else None
                if lead is None or lead.subscriber_id is None:
                    continue
                subject = lead.person
                await client.publish(self._topic, json.dumps({"subject": subject, "kind": "trouble_ticket"}),
                                     qos=1)
                self.tickets.append(Ticket(self._campaign, lead.lead_id, subject, self._clock.now()))


def dialed_while_ticketed(tickets: list[Ticket], records: list[dict[str, str]]) -> int:
    """Ticketed leads dialed after their ticket opened (a ticket is never closed in the demo)."""
    opened = {(t.campaign_id, t.lead_id): t.opened_at for t in tickets}
    return len({(r["campaign_id"], r["lead_id"]) for r in records
                if (at := opened.get((r["campaign_id"], r["lead_id"]))) is not None
                and float(r["created_at"]) > at + IN_FLIGHT_S})
