"""The `dialer` console command (subcommands are wired in as they land)."""

from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="dialer", description="Predictive auto-dialer for Asterisk.")
    parser.parse_args(argv)
    return 0


if __name__ == "__main__":
    sys.exit(main())
