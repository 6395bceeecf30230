"""Read the real Asterisk 22 transcript (tests/fixtures/ami) into scenarios, and normalise events to compare.

A scenario is everything between `### ... SCENARIO <name>` and `### ... END <name>`: the actions the
probe sent (`### ... >>> SENT Action: A | Key: V | ...   (comment)`) and the blocks Asterisk sent,
in order. Both streams, the real one and the simulator's, are reduced to signatures that leave out what
legitimately differs (timestamps, channel counters, generated Uniqueids, the lab's context names and
priorities): channels and Uniqueids become roles (`C1`/`C2` for the customer Local pair, `A1`/`A2` for
the agent's), and only the headers a dialer reads are kept.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from dialer.ami.wire import Block, Framer

TRANSCRIPT = Path(__file__).resolve().parents[1] / "fixtures" / "ami" / "real-asterisk-22-transcript.txt"

# Events the simulator does not emit (dialplan noise and cosmetic updates).
IGNORED = frozenset({"Newexten", "VarSet", "DeviceStateChange", "NewCallerid", "NewConnectedLine"})
# UserEvents of our dialplan that the lab's could not send: its `sim-pstn` played the far end itself, with
# no carrier `Dial()`, so nothing like `dialer-outbound`'s DialerTrunkResult exists in the transcript.
IGNORED_USER_EVENTS = frozenset({"DialerTrunkResult"})

_CHAN = re.compile(r"^Local/(\d+)@(sim-pstn|dialer-outbound|agent|dialer-agent)-[0-9a-f]{8};([12])$")
_DIAL = re.compile(r"^Local/(\d+)@(sim-pstn|dialer-outbound|agent|dialer-agent)(/n)?$")
_KEYS = (
    "ChannelStateDesc",
    "DestChannelStateDesc",
    "Cause",
    "Cause-txt",
    "DialStatus",
    "Reason",
    "Response",
    "UserEvent",
    "BridgeNumChannels",
    "LocalOptimization",
)
_ROLE_KEYS = ("Channel", "DestChannel", "LocalOneChannel", "LocalTwoChannel")
_ID_KEYS = (
    "Uniqueid",
    "Linkedid",
    "DestUniqueid",
    "DestLinkedid",
    "LocalOneUniqueid",
    "LocalOneLinkedid",
    "LocalTwoUniqueid",
    "LocalTwoLinkedid",
)


@dataclass
class Scenario:
    name: str
    items: list[Block | dict[str, str]] = field(default_factory=list)  # dict: an action we sent

    @property
    def blocks(self) -> list[Block]:
        return [i for i in self.items if isinstance(i, Block)]

    @property
    def actions(self) -> list[dict[str, str]]:
        return [i for i in self.items if isinstance(i, dict)]


def _parse_sent(line: str) -> dict[str, str]:
    text = line.split(">>> SENT ", 1)[1]
    text = re.sub(r"\s{3,}\(.*\)\s*$", "", text)
    action: dict[str, str] = {}
    for part in text.split(" | "):
        key, _, value = part.partition(": ")
        action[key.strip()] = value.strip()
    return action


def load_scenarios(path: Path = TRANSCRIPT) -> dict[str, Scenario]:
    scenarios: dict[str, Scenario] = {}
    current: Scenario | None = None
    framer = Framer()
    for raw in path.read_bytes().split(b"\r\n"):
        line = raw.decode()
        if line.startswith("###"):
            if m := re.search(r"=+ SCENARIO (\S+) =+", line):
                current = scenarios.setdefault(m.group(1), Scenario(m.group(1)))
                framer = Framer()
            elif re.search(r"=+ END \S+", line):
                current = None
            elif current is not None and ">>> SENT " in line:
                current.items.append(_parse_sent(line))
            continue
        if current is not None:
            current.items.extend(framer.feed(raw + b"\r\n"))
    return scenarios


def role_of_channel(name: str) -> str | None:
    m = _CHAN.match(name)
    if m is None:
        return None
    side = "A" if "agent" in m.group(2) else "C"
    return f"{side}{m.group(3)}"


class Roles:
    """Maps one stream's channel names and Uniqueids to roles, learning from Newchannel events."""

    def __init__(self) -> None:
        self.by_uid: dict[str, str] = {}
        self.names: dict[str, str] = {}  # role -> channel name in this stream

    def learn(self, block: Block) -> None:
        if block.get("Event") == "Newchannel":
            name, uid = block.get("Channel") or "", block.get("Uniqueid") or ""
            role = role_of_channel(name)
            if role:
                self.by_uid[uid] = role
                self.names[role] = name

    def chan(self, value: str) -> str:
        role = role_of_channel(value)
        if role:
            return role
        m = _DIAL.match(value)
        if m:
            return "DIAL:" + ("A" if "agent" in m.group(2) else "C")
        return value

    def uid(self, value: str) -> str:
        return self.by_uid.get(value, value)


def is_meaningful(block: Block) -> bool:
    """Counted when pacing the replay: responses and every event the simulator is expected to send."""
    event = block.get("Event")
    if event is None:
        return block.get("Response") is not None
    return event not in IGNORED and block.get("UserEvent") not in IGNORED_USER_EVENTS


def signature(block: Block, roles: Roles) -> tuple[tuple[str, str], ...] | None:
    """What must match between the real stream and the simulator's; None for ignored blocks."""
    roles.learn(block)
    name = block.get("Event")
    if name is None:
        response = block.get("Response")
        return None if response is None else (("Response", response), ("Message", block.get("Message") or ""))
    if name in IGNORED or block.get("UserEvent") in IGNORED_USER_EVENTS:
        return None
    sig: list[tuple[str, str]] = [("Event", name)]
    for key in _ROLE_KEYS:
        if (v := block.get(key)) is not None:
            sig.append((key, roles.chan(v)))
    for key in _ID_KEYS:
        if (v := block.get(key)) is not None:
            sig.append((key, roles.uid(v)))
    user = block.get("UserEvent")
    for key in _KEYS:
        # The lab's `h` extensions report other headers than the contract's DialerLegEnd; the
        # headers of UserEvents are compared one by one below.
        if (v := block.get(key)) is not None and not (user and key == "DialStatus"):
            sig.append((key, v))
    if user == "DialerAMD":
        sig.append(("AMDStatus", block.get("AMDStatus") or ""))
    if user == "DialerLegEnd":  # Where: the context the leg ended in (the engine reads it for agentless calls)
        sig.append(("HangupCause", block.get("HangupCause") or ""))
        sig.append(("Where", block.get("Where") or ""))
    if name == "OriginateResponse":
        sig.append(("CallerIDNum", block.get("CallerIDNum") or ""))
    return tuple(sig)


def signatures(blocks: list[Block]) -> list[tuple[tuple[str, str], ...]]:
    roles = Roles()
    out = []
    for block in blocks:
        sig = signature(block, roles)
        if sig is not None:
            out.append(sig)
    return out


def by_role(sigs: list[tuple[tuple[str, str], ...]]) -> dict[str, list[tuple[tuple[str, str], ...]]]:
    """Each role's own sequence: the order within a channel is fixed; across channels threads race."""
    out: dict[str, list[tuple[tuple[str, str], ...]]] = {}
    for sig in sigs:
        d = dict(sig)
        event = d.get("Event")
        if event is None:
            continue
        keys: set[str] = set()
        if event == "OriginateResponse":
            keys.add(f"OriginateResponse {d.get('Channel')}")
        elif event in ("BridgeCreate", "BridgeDestroy"):
            keys.add("Bridge")
        else:
            keys.update(d[k] for k in _ROLE_KEYS if k in d)
        for key in keys:
            out.setdefault(key, []).append(sig)
    return out
