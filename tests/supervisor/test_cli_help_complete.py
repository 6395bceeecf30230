"""`dialer --help` names every report kind `dialer report` takes (it left out `lists`), and every option
of the supervisor commands says what it does."""

from __future__ import annotations

import argparse

from dialer.supervisor import cli


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="dialer")
    cli.register(parser.add_subparsers(dest="command", required=True, metavar="COMMAND"))
    return parser


def _subparsers(p: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    return next(a for a in p._actions if isinstance(a, argparse._SubParsersAction)).choices


def test_the_report_commands_help_names_every_kind() -> None:
    parser = _parser()
    listed = next(a for a in next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
                  ._choices_actions if a.dest == "report")
    for kind in cli.REPORT_KINDS:
        assert f"{kind}," in listed.help or f"{kind})" in listed.help, (kind, listed.help)


def test_every_option_has_a_help_text() -> None:
    missing = []

    def walk(p: argparse.ArgumentParser, where: str) -> None:
        for a in p._actions:
            if isinstance(a, argparse._SubParsersAction):
                for name, sub in a.choices.items():
                    walk(sub, f"{where} {name}")
            elif a.option_strings and not isinstance(a, argparse._HelpAction) and not a.help:
                missing.append(f"{where} {a.option_strings[0]}")

    walk(_parser(), "dialer")
    assert missing == []
