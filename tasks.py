#!/usr/bin/env python3
"""One entry point for a fresh machine that has only Python.

    python3 tasks.py demo [dialer demo options]   # a whole simulated shift, with its report
    python3 tasks.py test [pytest options]        # ruff, mypy and the whole test suite
    python3 tasks.py bench-engine | bench-pacing | bench-hopper [options]

It creates `.venv/` beside this file on first use (and again whenever pyproject.toml changes),
installs the project with its dev extras into it, then runs the command inside it. Nothing is
installed outside `.venv/`.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
STAMP = VENV / ".installed-from"


def _ensure_venv() -> None:
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if STAMP.exists() and STAMP.read_text() == digest:
        return
    if not (BIN / "python").exists():
        print(f"tasks: creating {VENV}", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    pip = [str(BIN / "python"), "-m", "pip", "--disable-pip-version-check", "-q"]
    print("tasks: installing the project and its dev tools into .venv (first run only)", flush=True)
    subprocess.run([*pip, "install", "--upgrade", "pip"], check=True)
    subprocess.run([*pip, "install", "-e", f"{ROOT}[dev]"], check=True)
    STAMP.write_text(digest)


def _run(argv: list[str]) -> int:
    return subprocess.run(argv, cwd=ROOT).returncode


def main(args: list[str]) -> int:
    if not args or args[0] in {"-h", "--help", "help"}:
        print(__doc__)
        return 0
    cmd, rest = args[0], args[1:]
    _ensure_venv()
    py = str(BIN / "python")
    if cmd == "demo":
        return _run([str(BIN / "dialer"), "demo", *rest])
    if cmd == "test":
        for step in (
            [py, "-m", "ruff", "check", "dialer", "pacing", "agents", "tests", "bench"],
            [py, "-m", "mypy"],
        ):
            print("tasks:", " ".join(step[2:]), flush=True)
            if (rc := _run(step)) != 0:
                return rc
        return _run([py, "-m", "pytest", *rest])
    if cmd.startswith("bench-"):
        return _run([py, "-m", f"bench.{cmd.removeprefix('bench-')}", *rest])
    print(f"tasks: unknown command {cmd!r}; try: python3 tasks.py --help", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
