"""Getvar on the simulator, as Asterisk answers it: the daemon reads the campaign and lead of calls a crashed
process left behind with it (dialer/engine/orphans.py), so the simulator must answer it too."""

from __future__ import annotations

from pbxsim_client import AmiTestClient, originate, people, running

from pacing.traffic import LognormalSpec


async def test_getvar_reads_a_live_calls_variables_and_words_errors_as_asterisk():
    async with running(people(p_live=1.0, patience=LognormalSpec(1e6, 0.0))) as sim:
        client = await AmiTestClient.connect(sim.port)
        await client.login(events="call,user")
        await client.action(originate("gv-1", "5552100"))
        await client.wait_event("UserEvent", UserEvent="DialerParked")

        async def getvar(channel: str, variable: str) -> tuple[str | None, ...]:
            got = await client.action({"Action": "Getvar", "ActionID": f"g-{variable}", "Channel": channel,
                                       "Variable": variable})
            return got.get("Response"), got.get("Variable"), got.get("Value"), got.get("Message")

        assert await getvar("gv-1", "DIALER_CAMPAIGN") == ("Success", "DIALER_CAMPAIGN", "camp", None)
        assert await getvar("gv-1", "DIALER_CALL_ID") == ("Success", "DIALER_CALL_ID", "gv-1", None)
        assert await getvar("gv-1", "NOT_SET") == ("Success", "NOT_SET", "", None)
        assert await getvar("nobody-1", "DIALER_LEAD") == ("Error", None, None, "No such channel")
        assert (await getvar("gv-1", ""))[3] == "No variable specified"
        await client.close()
