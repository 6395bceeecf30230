"""Schemathesis against the published OpenAPI spec: generated requests (valid and invalid, with an admin
token) never get a 5xx, and every status code and content type is one the spec documents.

The daemon is served over real HTTP from a thread with its own event loop (real Redis, fake AMI), with
agents on calls, call records and a campaign file, so the generated requests reach real code paths.
The what-if replay is left out (each request spawns a simulation process; it has its own tests)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
import uvicorn
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import content_type_conformance, status_code_conformance
from sup_fakes import AUTH, HookedDaemon, make_rig, put_on_call, scene
from sup_fakes import settings as dialer_settings

from dialer.config import CampaignSettings, PacingSettings
from dialer.http import EmbeddedServer, build_app
from dialer.store import connect_redis
from pacing import Mode

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "campaigns" / "base_upsell.toml"


@contextlib.contextmanager
def served(redis_url: str, campaign_file: Path) -> Iterator[str]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    holder: dict[str, uvicorn.Server] = {}
    built = threading.Event()

    async def main() -> None:
        redis = connect_redis(redis_url)
        cfg = dialer_settings([CampaignSettings(id="upsell", name="Upsell", file=campaign_file,
                                                pacing=PacingSettings(mode=Mode.POWER, ratio=1.5)),
                               CampaignSettings(id="winback")])
        rig = make_rig(redis, cfg=cfg, daemon_cls=HookedDaemon)
        for read in rig.daemon.ledger_ready.values():  # the daemon is not run: its read-backs are taken as done
            read.set()
        scene(rig, calls=120)
        rig.login("z1", "3001")
        put_on_call(rig, n=77)
        await rig.flush()
        server = EmbeddedServer(uvicorn.Config(build_app(rig.daemon), log_level="error", lifespan="on",
                                               timeout_graceful_shutdown=1))
        holder["server"] = server
        built.set()
        try:
            await server.serve(sockets=[sock])
        finally:
            await redis.aclose()

    thread = threading.Thread(target=asyncio.run, args=(main(),), name="api-under-test")
    thread.start()
    try:
        assert built.wait(30), "the app under test did not start"
        yield url
    finally:
        holder["server"].should_exit = True
        thread.join(30)
        sock.close()


@pytest.fixture(scope="module")
def api_schema(redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[schemathesis.BaseSchema]:
    campaign = tmp_path_factory.mktemp("camp") / "upsell.toml"
    campaign.write_text(EXAMPLE.read_text().replace('id = "upsell-fiber"', 'id = "upsell"'))
    with served(redis_url, campaign) as url:
        schema = schemathesis.openapi.from_url(f"{url}/api/openapi.json")
        # the supervisor API only (the agent desk shares the spec and has its own tests)
        yield schema.exclude(path_regex=r"/whatif$").exclude(path_regex=r"^/api/desk").exclude(
            path_regex=r"/wallboard/stream$")  # an endless event stream: test_live_daemon reads it


# Examples per operation and generation mode: 6 keeps the run to seconds; SUPERVISOR_FUZZ_EXAMPLES=200 for a soak.
EXAMPLES = int(os.environ.get("SUPERVISOR_FUZZ_EXAMPLES", "6"))


def test_no_server_errors_and_documented_answers(api_schema: schemathesis.BaseSchema) -> None:
    problems: list[str] = []
    operations = [r.ok() for r in api_schema.get_all_operations()]
    assert len(operations) >= 25
    for op in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @given(case=op.as_strategy(generation_mode=mode))
            @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                      phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
            def check(case: schemathesis.Case) -> None:
                response = case.call(headers=AUTH["admin"], timeout=20)
                assert response.status_code < 500, (
                    f"{case.method} {case.formatted_path}: {response.status_code} {response.text[:300]}")
                case.validate_response(response, checks=[status_code_conformance, content_type_conformance],
                                       headers=AUTH["admin"])

            try:
                check()
            except Unsatisfiable:
                continue  # nothing invalid to generate for this operation (no parameters, no body)
            except (KeyboardInterrupt, SystemExit):
                raise
            except BaseException as exc:  # collect every operation's failure (schemathesis raises groups)
                problems.append(f"{op.label} ({mode.value}): {str(exc)[:1500]}")
    assert not problems, "\n".join(problems)
