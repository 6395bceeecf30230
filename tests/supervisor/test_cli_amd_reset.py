"""`dialer pacing amd-reset CAMPAIGN --reason ...`: the AMD audit sample forgotten after tuning AMD, in a line."""

from __future__ import annotations

import asyncio
import io

from sup_fakes import TOKENS, Rig, live_server

from dialer.http import build_app
from dialer.supervisor import cli


async def test_cli_amd_reset_says_what_was_forgotten_and_what_applies_now(rig: Rig):
    rig.daemon.ledger_ready["upsell"].set()  # the sample was read back from Redis
    for person in (True, False):
        rig.daemon.audits["upsell"].record(person)
    async with live_server(build_app(rig.daemon)) as url:
        def run(*argv: str) -> tuple[int, str, str]:
            out, err = io.StringIO(), io.StringIO()
            code = cli.main(["pacing", "amd-reset", "upsell", *argv, "--url", url, "--token", TOKENS["supervisor"]],
                            out=out, err=err)
            return code, out.getvalue(), err.getvalue()

        code, out, err = await asyncio.to_thread(run, "--reason", "AMD retuned")
        no_reason = await asyncio.to_thread(lambda: _exit_code(run))
    assert code == 0, err
    assert out.startswith("upsell: AMD audit sample reset (1 persons in 2 audits forgotten); AMD false-positive "
                          "share 1.00% as configured (0 of 50 audits needed for an estimate)"), out
    assert rig.daemon.audits["upsell"].audited == 0
    assert no_reason == 2  # argparse: --reason is required


def _exit_code(run) -> int:
    try:
        return run()[0]
    except SystemExit as exc:
        return int(exc.code or 0)
