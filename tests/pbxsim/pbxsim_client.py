"""A raw AMI test client over asyncio streams and `dialer.ami.wire.Framer` (no panoramisk).

It reads only when a test awaits something, so there is no background task to own: `next_block()`
feeds the framer until a block is complete. Every block received is kept in `log`, in order, so a test
can compare the whole stream afterwards.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterable

from dialer.ami.wire import Block, Framer, encode_block
from dialer.clock import ScaledClock
from dialer.pbxsim import PbxSimulator
from pacing.traffic import AmdSpec, LognormalSpec, RingMix, TrafficModel

DEADLINE_S = 10.0  # a safety net only: every wait ends as soon as its block arrives


class AmiTestClient:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.framer = Framer(expect_banner=True)
        self.pending: deque[Block] = deque()
        self.log: list[Block] = []
        self.eof = False

    @classmethod
    async def connect(cls, port: int) -> AmiTestClient:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        return cls(reader, writer)

    async def banner(self) -> str:
        async with asyncio.timeout(DEADLINE_S):
            while self.framer.banner is None:
                await self._read()
        return self.framer.banner

    async def _read(self) -> None:
        data = await self.reader.read(65536)
        if not data:
            self.eof = True
            raise ConnectionError("AMI connection closed")
        self.pending.extend(self.framer.feed(data))

    async def next_block(self) -> Block:
        async with asyncio.timeout(DEADLINE_S):
            while not self.pending:
                await self._read()
        block = self.pending.popleft()
        self.log.append(block)
        return block

    async def wait_for(self, pred: Callable[[Block], bool]) -> Block:
        while True:
            block = await self.next_block()
            if pred(block):
                return block

    async def wait_event(self, name: str, **headers: str) -> Block:
        def match(b: Block) -> bool:
            if b.get("Event") != name:
                return False
            return all(b.get(k) == v for k, v in headers.items())

        return await self.wait_for(match)

    async def wait_closed(self) -> None:
        async with asyncio.timeout(DEADLINE_S):
            while not self.eof:
                try:
                    await self._read()
                except ConnectionError:
                    return

    def send(self, headers: Iterable[tuple[str, str]] | dict[str, str]) -> None:
        self.writer.write(encode_block(headers))

    async def action(self, headers: Iterable[tuple[str, str]] | dict[str, str]) -> Block:
        """Send an action with an ActionID and return its Response block."""
        pairs = list(headers.items()) if isinstance(headers, dict) else list(headers)
        aid = next((v for k, v in pairs if k == "ActionID"), None)
        assert aid is not None, "give the action an ActionID"
        self.send(pairs)
        return await self.wait_for(lambda b: b.get("Response") is not None and b.get("ActionID") == aid)

    async def login(self, secret: str = "change-me", events: str | None = None) -> Block:
        await self.banner()
        headers = [("Action", "Login"), ("ActionID", "login"), ("Username", "dialer"), ("Secret", secret)]
        if events is not None:
            headers.append(("Events", events))
        return await self.action(headers)

    async def close(self) -> None:
        self.writer.close()
        try:
            await self.writer.wait_closed()
        except ConnectionError:
            pass


def people(**overrides: object) -> TrafficModel:
    """A traffic model where nothing is random unless asked: every share 0, fixed times, perfect AMD."""
    base: dict[str, object] = {
        "p_live": 0.0,
        "p_machine": 0.0,
        "p_busy": 0.0,
        "p_congestion": 0.0,
        "p_invalid": 0.0,
        "live_ring": RingMix(means=(3.0,), weights=(1.0,), cv=0.0),
        "machine_ring": RingMix(means=(2.0,), weights=(1.0,), cv=0.0),
        "remote_noanswer_s": (1000.0, 1000.0),
        "fail_after_s": (1.0, 1.0),
        "talk": LognormalSpec(1e6, 0.0),
        "patience": LognormalSpec(1e6, 0.0),
        "amd": AmdSpec(false_positive=0.0, false_negative=0.0),
    }
    base.update(overrides)
    return TrafficModel(**base)  # type: ignore[arg-type]


@contextlib.asynccontextmanager
async def running(
    traffic: TrafficModel, *, scale: float = 200.0, seed: int = 1, **kwargs: object
) -> AsyncIterator[PbxSimulator]:
    """A simulator on a free port whose internal errors fail the test."""
    async with PbxSimulator(traffic, clock=ScaledClock(scale), seed=seed, **kwargs) as sim:  # type: ignore[arg-type]
        yield sim
        assert sim.stats.internal_errors == 0, sim.errors


def originate(
    call_id: str,
    number: str,
    *,
    timeout_ms: int = 3_600_000,
    amd: bool = True,
    context: str = "dialer-connect",
    lead: str = "L1",
) -> dict[str, str]:
    """The contract's Originate (docs/DIALPLAN_CONTRACT.md).

    Its ring timeout defaults to an hour, which never fires: the simulator runs its clock 200 to 5000 times
    faster than real time, so the dialer's usual 30 s would be 6 to 150 real ms, and a loaded host lets that
    pass before a test's next step (a hang-up, a carrier's refusal) is handled. A test about the ring timeout
    passes its own `timeout_ms`."""
    return {
        "Action": "Originate",
        "ActionID": call_id,
        "Channel": f"Local/{number}@dialer-outbound/n",
        "Context": context,
        "Exten": "s",
        "Priority": "1",
        "Timeout": str(timeout_ms),
        "CallerID": '"Acme" <5550100>',
        "Async": "true",
        "ChannelId": call_id,
        "OtherChannelId": f"{call_id}-2",
        "Variable": f"DIALER_CALL_ID={call_id},DIALER_CAMPAIGN=camp,DIALER_LEAD={lead},DIALER_AMD={int(amd)}",
    }
