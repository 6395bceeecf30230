"""Read campaign files (TOML or YAML) into validated `CampaignConfig`s, with errors that name the spot.

A pydantic error list is turned into one `ConfigError` whose message has a line per problem:
`<file>: <dotted.setting>: <what is wrong>`, so an operator can fix the file without reading a traceback.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from dialer.campaigns.models import CampaignConfig
from dialer.errors import ConfigError

__all__ = ["load_campaign", "load_campaigns", "parse_campaign"]

_SUFFIXES = (".toml", ".yaml", ".yml")


def _describe(source: str, exc: ValidationError) -> str:
    lines = [f"{source}: invalid campaign ({exc.error_count()} problem(s)):"]
    for err in exc.errors():
        where = ".".join(str(part) for part in err["loc"]) or "(top level)"
        lines.append(f"  {source}: {where}: {err['msg']}")
    return "\n".join(lines)


def parse_campaign(data: Mapping[str, Any], source: str = "<campaign>") -> CampaignConfig:
    """Validate an already-parsed mapping; `source` names it in errors."""
    try:
        return CampaignConfig.model_validate(dict(data))
    except ValidationError as exc:
        raise ConfigError(_describe(source, exc)) from None


def load_campaign(path: str | Path) -> CampaignConfig:
    """Load one campaign file (.toml, .yaml or .yml)."""
    p = Path(path)
    if p.suffix.lower() not in _SUFFIXES:
        raise ConfigError(f"{p}: campaign files must end in .toml, .yaml or .yml")
    try:
        raw = p.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{p}: cannot read the campaign file ({exc.strerror}); check the path") from exc
    try:
        text = raw.decode("utf-8-sig")
        data: Any = tomllib.loads(text) if p.suffix.lower() == ".toml" else yaml.safe_load(text)
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{p}: not UTF-8 at byte {exc.start}; save the file as UTF-8") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{p}: TOML syntax error: {exc}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{p}: YAML syntax error: {exc}") from None
    if not isinstance(data, Mapping):
        raise ConfigError(f"{p}: the file must hold one campaign table/mapping at the top level")
    return parse_campaign(data, str(p))


def load_campaigns(paths: Iterable[str | Path] | str | Path) -> dict[str, CampaignConfig]:
    """Load a directory of campaign files (or a list of files) and check references between them.

    Ids must be unique and every follow-up must point at a campaign in the same set.
    """
    if isinstance(paths, str | Path):
        root = Path(paths)
        files = sorted(f for f in root.iterdir() if f.suffix.lower() in _SUFFIXES) if root.is_dir() else [root]
    else:
        files = [Path(p) for p in paths]
    out: dict[str, CampaignConfig] = {}
    origin: dict[str, Path] = {}
    for f in files:
        cfg = load_campaign(f)
        if cfg.id in out:
            raise ConfigError(f"{f}: campaign id {cfg.id!r} is already used by {origin[cfg.id]}; ids must be unique")
        out[cfg.id] = cfg
        origin[cfg.id] = f
    for cid, cfg in out.items():
        for fu in cfg.follow_ups:
            if fu.campaign not in out:
                raise ConfigError(
                    f"{origin[cid]}: follow_ups: on {fu.on} points at campaign {fu.campaign!r}, which is not "
                    f"loaded (known: {', '.join(sorted(out))}); add its file or fix the id"
                )
    return out
