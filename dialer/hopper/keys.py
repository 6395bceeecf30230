"""Redis key layout of leads, the hopper and the contact state (one place, so scripts and code agree).

Global (across campaigns), under `<prefix>`:
    dnc                 SET   E.164 numbers nobody may call
    dncp                SET   person keys ("subscriber:<id>", "number:<e164>") who asked not to be called
                              (the list; the check reads the person hash's `dnc` field, written together)
    ab                  ZSET  E.164 -> end of the 72-hour lock after an abandoned call
    sup:<subject>       HASH  suppression kind -> until (epoch, "inf" = until lifted)
    supk                SET   subjects that have a sup:<subject> hash (one membership test per lead)
    p:<person>          HASH  cross-campaign person state: dnc, bc (last base contact), m/mc (month,
                              contacts that month), wb (times won back); a contact writes bc and m/mc on
                              the lead's person, on the `number:<e164>` person of each of its numbers and
                              on the `subscriber:<id>` the base lists for any of them
    bcp                 SET   those `number:<e164>` persons with a contact written (the gather reads their
                              bc, m/mc only for members, and keeps the most restrictive)
    base:<bucket>       HASH  number -> subscriber id of a current subscriber (cold-list reconciliation; and
                              the gather reads it per number: that subscriber is one of the lead's persons)
    acct:<subscriber>   SET   campaign and lead id (joined by 0x1f) of every lead whose person is
                              `subscriber:<id>`, written by the imports, the follow-ups that write the lead and
                              the manual dials that make one (`Hopper.take_manual`);
                              a hint its reader checks against the lead, dropping the stale (a lead deleted)
    basea:<subscriber>  SET   the numbers the base gives the subscriber (written with `base:<bucket>`; a hint
                              checked the same way): a do-not-call request reads these two, not the keyspace
    acix                STRING marker: the leads and the base written before those two indexes were indexed
                              once (by the first `subscriber_dnc` since)
    campaigns           SET   campaign ids that have leads (dedup scope "all" looks in each)
    dncs                HASH  subscriber id -> do-not-call dispositions written on a lead of theirs (their own,
                              or one whose number the base lists for them) whose spread to every number and
                              lead of theirs (`subscriber_dnc`) is not done yet: written with the result, in
                              its script, and deleted once done (by the hopper right after, else by a fill)
    out:<e164>          STRING the take that has the number out being dialed (its campaign and lead, joined by
                              0x1f), with a TTL a little over `inflight_timeout_s`: no other take gets a lead
                              with that number meanwhile, in any campaign (see `scripts._OUT`)

Per campaign, under `<prefix>:c:<campaign>:`:
    l:<lead>            STRING the lead (header + JSON, see dialer.leads.model)
    s:<lead>            HASH  its contact state; absent while the lead was never touched (saves memory)
    nx:<bucket>         HASH  number -> lead id (merge by number)
    f:<zones>           ZSET  fresh leads of one zone set, score = rank * 1e9 + import sequence
    d:<zones>           ZSET  retries and deferred leads of one zone set, score = when to look again
    zk                  SET   the zone sets in use: every write to an f:/d: queue adds its zone set (a fill
                              reads only these)
    cb                  ZSET  callbacks, score = callback time
    r                   ZSET  the ready queue (the hopper), score = band * 1e15 + fill sequence
    i                   ZSET  in flight (taken, result not yet recorded), score = take time
    fin, why            HASH  finished leads by reason; deferred leads by last block reason
    dnc                 SET   this campaign's own do-not-call numbers
    cbo:<agent>         ZSET  the callbacks kept for one agent, by time (an index of some of `cb`)
    cba                 ZSET  the callbacks for anyone, by time (an index of the others: the pacer's take reads
                              it when callbacks kept for agents fill its scan of `cb`)
    cbk                 ZSET  every callback kept for an agent, by time: exact, not a hint (kept by every write
                              of `cb` or of a callback's agent), so the status counts those waiting for their
                              agent with one ZCOUNT
    capped              SET   leads finished at the attempt cap (what a recycle may revive)
    cbix, capix, cbaix, cbkix  STRING markers: the indexes above were built once for data older than them
    zkix                STRING marker: `zk` was completed once with the zone sets of queues written before
                              every queue write named its zone set there
    lists               HASH  list name (`list_key`) -> the new leads its imports brought (the supervisor's lists;
                              `(manual dial)`: the leads agents' manual dials made)
    lstats              HASH  "<list>\x1f<metric>" -> what became of the leads each list brought (`ListMetric`:
                              dials, contacts, sales, finished), counted for the lead's first list only
    lpaused             SET   the lists a supervisor paused: their leads wait (unless also in a running list)
    parked              SET   leads deferred because their lists are paused (in `d:<zones>`, far ahead),
                              which a resume brings back at once
    conv, stats         HASH  contacts and sales by report field value; dial outcomes
    seq, rseq, n        STRING import sequence, ready sequence, number of leads

Keys of one campaign share the prefix `<prefix>:c:<campaign>:` so another campaign's number index is
found by its id (dedup scope "all"). Leads are split by their zone set so that a fill only reads leads
that may be called now: with 10 million leads across time zones, no out-of-hours lead is ever touched
while the west coast sleeps.
Number indexes are bucketed by the last six digits (the number's first digits are the field), which
keeps the hashes small enough for Redis's compact encoding: about 15 numbers per bucket at 10 million
leads instead of one key per number.
"""

from __future__ import annotations

__all__ = ["CampaignKeys", "GlobalKeys", "bucket", "lead_ref", "subscriber_of"]


def bucket(e164: str) -> tuple[str, str]:
    """(bucket, field) of a number in the bucketed number indexes."""
    digits = e164[1:]
    return digits[-6:], digits[:-6]


def subscriber_of(person: str) -> str | None:
    """The subscriber id of a person key (`subscriber:<id>`), else None (`number:<e164>`)."""
    return person[len("subscriber:"):] if person.startswith("subscriber:") else None


def lead_ref(campaign_id: str, lead_id: str) -> str:
    """A lead as the account index (`GlobalKeys.account`) names it."""
    return f"{campaign_id}\x1f{lead_id}"


class GlobalKeys:
    """Keys shared by all campaigns."""

    __slots__ = ("ab", "acix", "bcp", "campaigns", "dnc", "dncp", "dncs", "prefix", "supk")

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.dnc = f"{prefix}:dnc"
        self.dncp = f"{prefix}:dncp"
        self.dncs = f"{prefix}:dncs"  # subscribers whose do-not-call disposition is still to spread
        # the `number:<e164>` persons a contact was written on (base-contact time, monthly count): the gather
        # reads only those persons' hashes
        self.bcp = f"{prefix}:bcp"
        self.ab = f"{prefix}:ab"
        self.supk = f"{prefix}:supk"
        self.campaigns = f"{prefix}:campaigns"
        self.acix = f"{prefix}:acix"  # marker: leads and base from before the account indexes were indexed

    def account(self, subscriber_id: str) -> str:
        """The leads of a subscriber, each its campaign and lead id (`lead_ref`)."""
        return f"{self.prefix}:acct:{subscriber_id}"

    def base_account(self, subscriber_id: str) -> str:
        """The numbers the base gives a subscriber."""
        return f"{self.prefix}:basea:{subscriber_id}"

    def sup(self, subject: str) -> str:
        return f"{self.prefix}:sup:{subject}"

    def out(self, e164: str) -> str:
        """The mark of a number out being dialed (see `scripts._OUT`)."""
        return f"{self.prefix}:out:{e164}"

    def person(self, person: str) -> str:
        return f"{self.prefix}:p:{person}"

    def base(self, e164: str) -> tuple[str, str]:
        b, f = bucket(e164)
        return f"{self.prefix}:base:{b}", f


class CampaignKeys:
    """Keys of one campaign."""

    __slots__ = (
        "capix",
        "capped",
        "cb",
        "cba",
        "cbaix",
        "cbk",
        "cbkix",
        "conv",
        "dnc",
        "fin",
        "i",
        "lists",
        "lpaused",
        "lstats",
        "n",
        "p",
        "parked",
        "r",
        "rseq",
        "seq",
        "stats",
        "why",
        "zk",
        "zkix",
    )

    def __init__(self, prefix: str, campaign_id: str) -> None:
        self.p = f"{prefix}:c:{campaign_id}:"
        p = self.p
        self.zk = p + "zk"
        self.zkix = p + "zkix"  # marker: zone sets of queues written before every write added them are in `zk`
        self.cb = p + "cb"
        self.cba = p + "cba"  # the callbacks for anyone (see `scripts._ANY`)
        self.cbaix = p + "cbaix"  # marker: callbacks for anyone scheduled before `cba` existed were added to it
        self.cbk = p + "cbk"  # every callback kept for an agent (exact: see `scripts._KEPT`)
        self.cbkix = p + "cbkix"  # marker: callbacks kept before `cbk` existed were added to it
        self.capped = p + "capped"  # leads finished at the attempt cap: what `Hopper.recycle` may revive
        self.capix = p + "capix"  # marker: leads capped before `capped` existed were added to it
        self.r = p + "r"
        self.i = p + "i"
        self.fin = p + "fin"
        self.why = p + "why"
        self.dnc = p + "dnc"
        self.conv = p + "conv"
        self.stats = p + "stats"
        self.seq = p + "seq"
        self.rseq = p + "rseq"
        self.n = p + "n"
        self.lists = p + "lists"
        self.lpaused = p + "lpaused"
        self.lstats = p + "lstats"
        self.parked = p + "parked"

    def lead(self, lead_id: str) -> str:
        return f"{self.p}l:{lead_id}"

    def state(self, lead_id: str) -> str:
        return f"{self.p}s:{lead_id}"

    def own(self, agent_id: str) -> str:
        """The callbacks kept for `agent_id`, by time (an index of some of `cb`; see `scripts._OWN`)."""
        return f"{self.p}cbo:{agent_id}"

    def fresh(self, zone_key: str) -> str:
        return f"{self.p}f:{zone_key}"

    def due(self, zone_key: str) -> str:
        return f"{self.p}d:{zone_key}"

    def nx(self, e164: str) -> tuple[str, str]:
        b, f = bucket(e164)
        return f"{self.p}nx:{b}", f
