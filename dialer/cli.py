"""The `dialer` command.

    dialer demo      a whole simulated shift on embedded services, with its report
    dialer run       the daemon, as configured (real Asterisk, Redis, MQTT; or embedded ones)
    dialer pbxsim    the PBX simulator alone, speaking AMI on a TCP port
    dialer hash-password, dialer hash-token
                     the hashed lines of an agent's password and an API token, for the config file
    (and the supervisor's daily commands: campaign, pacing, status, agents, dnc)
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
from pathlib import Path

from dialer import __version__
from dialer.config import DEFAULT_AMI_SECRET, AmiSettings
from dialer.demo_speed import MAX_AGENTS_X_SPEED
from dialer.errors import ConfigError, DialerError
from dialer.logs import configure_logging
from pacing import Mode

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="dialer",
        description="Predictive auto-dialer for telecom outbound contact centers, driving Asterisk over AMI.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Start with: dialer demo --agents 10 --hours 4",
    )
    p.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    d = sub.add_parser("demo", help="run a whole simulated shift (embedded Redis, MQTT broker and PBX simulator)",
                       description="Run a simulated shift end to end and print the end-of-shift report.")
    d.add_argument("--agents", type=int, default=10, help="simulated agents (default 10)")
    d.add_argument("--hours", type=float, default=4.0, help="simulated shift length in hours (default 4)")
    d.add_argument("--seed", type=int, default=1, help="random seed of the called population (default 1)")
    d.add_argument("--json", type=Path, default=None, metavar="FILE", help="also write the report as JSON")
    d.add_argument("--speed", type=float, default=None,
                   help="virtual seconds per real second (default: fit the shift into about 105 s, but at "
                        f"most {MAX_AGENTS_X_SPEED:g}/agents, or the host's latency turns into abandons)")
    d.add_argument("--mode", type=Mode, choices=list(Mode), default=Mode.PREDICTIVE,
                   help="pacing mode (default predictive)")
    d.add_argument("--log-level", default="WARNING", choices=["DEBUG", "INFO", "WARNING", "ERROR"])

    r = sub.add_parser("run", help="run the daemon from a TOML config file (DIALER_* env vars override it)")
    r.add_argument("--config", type=Path, default=None, metavar="FILE", help="TOML configuration file")
    r.add_argument("--check-config", action="store_true", help="validate the configuration, print one line, exit 0/1")

    s = sub.add_parser("pbxsim", help="run the PBX simulator alone (AMI on a TCP port)")
    s.add_argument("--host", default="127.0.0.1",
                   help="address to listen on (default 127.0.0.1; 0.0.0.0 for every interface)")
    s.add_argument("--port", type=int, default=5038, help="AMI TCP port to listen on (default 5038, Asterisk's)")
    s.add_argument("--seed", type=int, default=1,
                   help="seed of the called people's draws: the same seed replays who answers, rings, is busy, "
                        "and for how long (default 1)")
    s.add_argument("--speed", type=float, default=1.0, help="virtual seconds per real second (default 1)")
    # the daemon's built-in [ami] credentials by default: a config with its own must be matched here
    ami_user = str(AmiSettings.model_fields["username"].default)
    s.add_argument("--username", default=ami_user,
                   help=f"AMI user the simulator accepts (default {ami_user}, as [ami] username); "
                        "give your config's [ami] username")
    s.add_argument("--secret", default=DEFAULT_AMI_SECRET,
                   help=f"that user's secret (default {DEFAULT_AMI_SECRET}, the built-in [ami] secret); give your "
                        "config's [ami] secret (or DIALER_AMI__SECRET), else the daemon's login is refused with "
                        "'Authentication failed'. Other users of this host can see it in the process list: "
                        "use a test secret")

    h = sub.add_parser(
        "hash-password", help="print the password_hash line of an agent's [[agents]] entry (Argon2id)",
        description="Read an agent's password (asked twice, without echo, on a terminal; else the first line of "
                    "standard input, for scripts) and print the line to put in the agent's [[agents]] entry in "
                    "place of `password`: password_hash = \"$argon2id$...\". Each run gives another hash (a new "
                    "random salt); any of them verifies the password.")
    h.set_defaults(handler=_hash_password)
    t = sub.add_parser(
        "hash-token", help="print the token_sha256 line of an [[api_tokens]] entry",
        description="Read an API token (without echo on a terminal; else the first line of standard input) and "
                    "print the line to put in its [[api_tokens]] entry in place of `token`: token_sha256 = "
                    "\"<64 hex digits>\". Give the token itself to the API's clients (dialer --token, "
                    "DIALER_API_TOKEN); the config keeps only its hash. Make the token long and random, e.g. "
                    "python3 -c 'import secrets; print(secrets.token_urlsafe(32))'.")
    t.set_defaults(handler=_hash_token)

    # FastAPI is a hard dependency: an ImportError here is a bug or a broken install, and must say so
    # rather than leave `dialer status` an "invalid choice"
    from dialer.supervisor.cli import register

    register(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "demo":
            return _demo(args)
        if args.command == "run":
            return _run(args)
        if args.command == "pbxsim":
            return _pbxsim(args)
        handler = getattr(args, "handler", None)
        if handler is not None:
            return int(handler(args))
    except ConfigError as exc:
        print(f"dialer: configuration error: {exc}", file=sys.stderr)
        return 1
    except DialerError as exc:
        print(f"dialer: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return 2


def _demo(args: argparse.Namespace) -> int:
    from dialer.demo import run_demo, write_report

    configure_logging(args.log_level)
    report = asyncio.run(run_demo(agents=args.agents, hours=args.hours, seed=args.seed, speed=args.speed,
                                  mode=args.mode))
    print(report.table())
    if args.json:
        write_report(report, args.json)
        print(f"\nreport written to {args.json}")
    return 0


def _run(args: argparse.Namespace) -> int:
    from dialer.config import (
        check_agents,
        check_credentials,
        check_placeholder_secrets,
        check_services,
        load_settings,
        read_campaign_files,
    )

    settings = load_settings(args.config)
    warnings = (check_services(settings) + check_agents(settings) + check_credentials(settings)
                + check_placeholder_secrets(settings))
    # each campaign file read once: the daemon runs the campaigns as checked here, with the files read here
    files = read_campaign_files(settings)
    settings = files.settings
    warnings += files.warnings
    # refused here, before --check-config answers, as the daemon would refuse them before connecting to anything
    if not settings.campaigns:
        raise ConfigError("no [[campaigns]] configured: add at least one campaign to the config file")
    from dialer.app import build_screenpop

    build_screenpop(settings)  # each campaign's call script, read as the daemon reads it at start
    if args.check_config:
        for warning in warnings:
            print(f"WARNING: {warning}", file=sys.stderr)
        print(f"config OK: {len(settings.campaigns)} campaign(s) ({files.loaded} campaign file(s) loaded"
              f"{f', {len(warnings)} warning(s)' if warnings else ''}), AMI {settings.ami.host}:{settings.ami.port}, "
              f"redis {_redact(settings.redis.url)}, mqtt {_redact(settings.mqtt.url)}")
        return 0
    configure_logging(settings.log_level)
    for warning in warnings:
        logging.getLogger(__name__).warning("%s", warning)
    from dialer.runner import run_forever

    asyncio.run(run_forever(settings))
    return 0


def _pbxsim(args: argparse.Namespace) -> int:
    from dialer.demo import demo_traffic
    from dialer.pbxsim import run_pbxsim

    configure_logging("INFO")
    logging.getLogger(__name__).info("PBX simulator on %s:%d", args.host, args.port)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run_pbxsim(args.host, args.port, demo_traffic(), args.seed, args.speed,
                               username=args.username, secret=args.secret))
    return 0


def _read_secret(what: str, *, confirm: bool) -> str:
    """A password or token from the terminal without echo (asked twice when `confirm`), or else the first
    line of standard input (its line ending dropped, nothing else: spaces may belong to it)."""
    import getpass

    if sys.stdin.isatty():
        secret = getpass.getpass(f"{what}: ")
        if confirm and getpass.getpass(f"{what} again: ") != secret:
            raise DialerError(f"the two {what}s differ; nothing printed, run the command again")
    else:
        secret = sys.stdin.readline().removesuffix("\n").removesuffix("\r")
    if not secret:
        raise DialerError(f"empty {what}; type it at the prompt or pass it on standard input")
    return secret


# shorter than this, a token could be found from its SHA-256 by guessing
_MIN_TOKEN_CHARS = 20


def _hash_password(args: argparse.Namespace) -> int:
    from dialer.credentials import hash_password

    print(f'password_hash = "{hash_password(_read_secret("password", confirm=True))}"')
    return 0


def _hash_token(args: argparse.Namespace) -> int:
    from dialer.credentials import hash_token

    token = _read_secret("API token", confirm=False)
    if len(token) < _MIN_TOKEN_CHARS:
        print(f"dialer: warning: the token is {len(token)} characters long; a fast hash guards only a long random "
              f"token (at least {_MIN_TOKEN_CHARS}): make a new one with python3 -c 'import secrets; "
              "print(secrets.token_urlsafe(32))'", file=sys.stderr)
    print(f'token_sha256 = "{hash_token(token)}"')
    return 0


def _redact(url: str) -> str:
    if "@" in url:
        scheme, _, rest = url.partition("://")
        return f"{scheme}://***@{rest.rpartition('@')[2]}"
    return url


def install_stop_signals(stop: asyncio.Event) -> None:
    """SIGTERM and SIGINT set `stop` (the daemon then drains and exits)."""
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)


if __name__ == "__main__":
    sys.exit(main())
