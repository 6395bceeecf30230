"""The simulator against the real Asterisk 22 transcript, scenario by scenario.

Each scenario's actions are replayed over TCP at the point where the real probe sent them (after the
same number of meaningful blocks), with the far end forced by the traffic model into the scenario's
fate. Then the simulator's stream must equal the real one, once both are reduced to signatures (event
name, channel roles, states, causes, dial statuses, reasons, user events; see `pbxsim_transcript`):

- for every channel (and for the bridge, and each OriginateResponse), the sequence of its events is
  identical;
- for the scenarios where Asterisk's own threads do not race, the whole interleaved stream is identical.
  `human_bridge` (two Originates in flight at once) and `early_hangup` (answer events of the two legs
  in the other order than in every other scenario of the same transcript) are compared per channel only.
"""

from __future__ import annotations

import pytest
from pbxsim_client import AmiTestClient, people, running
from pbxsim_transcript import Roles, by_role, is_meaningful, load_scenarios, role_of_channel, signatures

from dialer.ami.wire import Block
from dialer.pbxsim import FarEndOptions, SimOutcome
from pacing.traffic import TrafficModel

SCENARIOS = load_scenarios()
RACY = {"human_bridge", "early_hangup"}

LIVE = people(p_live=1.0)
FATES: dict[str, tuple[TrafficModel, FarEndOptions]] = {
    "human_redirect": (LIVE, FarEndOptions()),
    "human_bridge": (LIVE, FarEndOptions()),
    "machine": (people(p_machine=1.0), FarEndOptions(machine_greeting_s=(1e5, 1e5))),
    "busy": (people(p_busy=1.0), FarEndOptions()),
    "congestion": (people(p_congestion=1.0), FarEndOptions()),
    "noanswer": (people(), FarEndOptions()),
    "noanswer_remote": (people(remote_noanswer_s=(30.0, 30.0)), FarEndOptions()),
    "early_hangup": (LIVE, FarEndOptions(early_hangup_share=1.0)),
    "human_noamd": (LIVE, FarEndOptions()),
    "random": (LIVE, FarEndOptions()),
    "bad_channel": (LIVE, FarEndOptions()),
}
OUTCOMES = {
    "human_redirect": SimOutcome.CONNECTED,
    "human_bridge": SimOutcome.CONNECTED,
    "machine": SimOutcome.HUNG_UP_BY_DIALER,
    "busy": SimOutcome.BUSY,
    "congestion": SimOutcome.CONGESTION,
    "noanswer": SimOutcome.NO_ANSWER_TIMEOUT,
    "noanswer_remote": SimOutcome.NO_ANSWER_REMOTE,
    "early_hangup": SimOutcome.EARLY_HANGUP,
    "human_noamd": SimOutcome.HUNG_UP_BY_DIALER,
    "random": SimOutcome.HUNG_UP_BY_DIALER,
    "bad_channel": SimOutcome.FAILED,
}


def test_the_transcript_has_every_scenario():
    assert set(SCENARIOS) == set(FATES)
    assert all(SCENARIOS[name].actions for name in SCENARIOS)


def _rewrite(action: dict[str, str], roles: Roles) -> dict[str, str]:
    """The lab's names to the contract's: sim-pstn -> dialer-outbound, agent -> dialer-agent."""
    out = dict(action)
    for key in ("Channel", "Channel1", "Channel2"):
        value = out.get(key)
        if value is None:
            continue
        role = role_of_channel(value)
        if role is not None:
            out[key] = roles.names[role]
        else:
            out[key] = value.replace("@sim-pstn", "@dialer-outbound").replace("@agent", "@dialer-agent")
    return out


async def _replay(name: str) -> tuple[list[Block], list[Block]]:
    scenario = SCENARIOS[name]
    traffic, far = FATES[name]
    async with running(traffic, far_end=far, agent_answer_delay_s=0.0) as sim:
        client = await AmiTestClient.connect(sim.port)
        await client.login(events="on")
        await client.wait_event("SuccessfulAuth")
        start = len(client.log)
        roles = Roles()
        expected = got = 0
        for item in scenario.items:
            if isinstance(item, Block):
                expected += is_meaningful(item)
                continue
            while got < expected:  # the real probe sent this action after `expected` blocks
                block = await client.next_block()
                roles.learn(block)
                got += is_meaningful(block)
            client.send(_rewrite(item, roles))
        while got < expected:
            got += is_meaningful(await client.next_block())
        # Anything the simulator sent beyond the transcript arrives before the answer to this Ping.
        pong = await client.action({"Action": "Ping", "ActionID": "end"})
        ours = client.log[start : client.log.index(pong)]
        for action in scenario.actions:
            if action["Action"] == "Originate" and "ChannelId" in action:
                assert sim.calls[action["ChannelId"]].outcome is OUTCOMES[name]
        assert sim.stats.calls_live == 0
        assert sim.stats.channels_live == 0
        await client.close()
    return scenario.blocks, ours


@pytest.mark.parametrize("name", sorted(FATES))
async def test_each_channel_sees_the_events_of_real_asterisk(name):
    real, ours = await _replay(name)
    real_sigs, our_sigs = signatures(real), signatures(ours)
    assert by_role(our_sigs) == by_role(real_sigs)
    if name not in RACY:
        assert our_sigs == real_sigs
