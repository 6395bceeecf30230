"""Reading asterisk_conf/ with pyst2's parser, and the checks pyst2 does not make itself.

pyst2's `asterisk.config.Config` is a line parser: `[name]` starts a category, `name = value` and
`name => value` are items, `;` starts a comment anywhere on a line. It raises `ParseError` on
`[name](template)` categories and on `#include`/`#exec` lines (no `=`), but it silently cuts a
value at an escaped `\\;` and silently drops items that come before the first category. `load`
turns its errors into a test failure that says what to change; `raw_problems` catches the silent
cases from the raw text.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from asterisk.config import Category, Config, ParseError

REPO = Path(__file__).resolve().parents[2]
CONF_DIR = REPO / "asterisk_conf"
DOCKER_DIR = REPO / "docker"

# Files in asterisk_conf/ that are not Asterisk configuration.
NOT_CONFIG = {"README.md"}


def conf_files() -> list[Path]:
    return sorted(p for p in CONF_DIR.iterdir() if p.is_file() and p.name not in NOT_CONFIG)


def load(name: str | Path) -> Config:
    path = CONF_DIR / name if isinstance(name, str) else name
    try:
        return Config(str(path))
    except ParseError as exc:
        line, why = exc.args if len(exc.args) == 2 else ("?", str(exc))
        pytest.fail(
            f"{_show(path)}:{line}: pyst2 cannot parse this line ({why}). pyst2 does not "
            "understand templates `[name](!)`/`[name](tmpl)` nor `#include`/`#exec`: write the "
            "sections out in full in this one file."
        )


def raw_problems(path: Path) -> list[str]:
    """Lines pyst2 would misread without an error."""
    problems: list[str] = []
    seen_category = False
    for number, raw in enumerate(path.read_text().splitlines(), start=1):
        where = f"{_show(path)}:{number}"
        line = raw.strip()
        if "\\;" in line:
            problems.append(f"{where}: escaped semicolon: pyst2 cuts the value there")
        if line.startswith(";--") or line.endswith("--;"):
            problems.append(f"{where}: block comment: pyst2 reads the lines inside as items")
        body = line.split(";", 1)[0].strip()
        if not body:
            continue
        if body.startswith("#"):
            problems.append(f"{where}: `{body.split()[0]}`: pyst2 cannot follow includes")
        elif body.startswith("["):
            seen_category = True
            if not body.endswith("]"):
                problems.append(f"{where}: category with options or template: pyst2 refuses it")
        elif not seen_category:
            problems.append(f"{where}: item before any [category]: pyst2 drops it")
    return problems


def _show(path: Path) -> str:
    return str(path.relative_to(REPO)) if path.is_relative_to(REPO) else str(path)


def categories(cfg: Config, name: str) -> list[Category]:
    return [c for c in cfg.categories if c.name == name]


def one(cfg: Config, name: str) -> Category:
    found = categories(cfg, name)
    assert len(found) == 1, f"{cfg.filename}: expected one [{name}], found {len(found)}"
    return found[0]


def values(cat: Category, key: str) -> list[str]:
    """Every value of `key` in a category (manager.conf repeats permit, modules.conf require...)."""
    return [item.value.strip() for item in cat.items if item.name == key]


def value(cat: Category, key: str) -> str:
    found = values(cat, key)
    assert len(found) == 1, f"[{cat.name}] should set {key} exactly once, sets it {len(found)} times"
    return found[0]


def as_dict(cat: Category) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in cat.items:
        assert item.name not in out, f"[{cat.name}] sets {item.name} twice"
        out[item.name] = item.value.strip()
    return out


def typed(cfg: Config, type_: str) -> dict[str, dict[str, str]]:
    """pjsip.conf objects of one `type`, by name (an endpoint, its auth and aor share a name)."""
    out: dict[str, dict[str, str]] = {}
    for cat in cfg.categories:
        d = as_dict(cat)
        if d.get("type") == type_:
            assert cat.name not in out, f"two pjsip {type_} objects named {cat.name}"
            out[cat.name] = d
    return out


def csv_set(text: str) -> set[str]:
    return {part.strip() for part in re.split(r",", text) if part.strip()}
