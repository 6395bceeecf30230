"""Every file in asterisk_conf/ is read by pyst2's parser, completely and without silent losses."""

from __future__ import annotations

from pathlib import Path

import pytest
from astconf_files import CONF_DIR, NOT_CONFIG, conf_files, load, raw_problems

EXPECTED = {
    "amd.conf",
    "asterisk.conf",
    "extensions.conf",
    "indications.conf",
    "logger.conf",
    "manager.conf",
    "modules.conf",
    "pjsip.conf",
    "rtp.conf",
}


def test_folder_holds_the_expected_configuration_and_nothing_unparsed():
    names = {p.name for p in CONF_DIR.iterdir()}
    assert names - NOT_CONFIG - EXPECTED == set(), "new file in asterisk_conf/: add it to EXPECTED"
    assert names >= EXPECTED
    assert all(p.suffix == ".conf" for p in conf_files())


@pytest.mark.parametrize("path", conf_files(), ids=lambda p: p.name)
def test_file_parses_with_pyst2(path: Path):
    cfg = load(path)
    assert cfg.categories, f"{path.name} has no [section]"
    items = sum(len(c.items) for c in cfg.categories)
    assert items > 0, f"{path.name} sets nothing"


@pytest.mark.parametrize("path", conf_files(), ids=lambda p: p.name)
def test_file_has_nothing_pyst2_would_silently_misread(path: Path):
    assert raw_problems(path) == []


@pytest.mark.parametrize("path", conf_files(), ids=lambda p: p.name)
def test_every_value_line_is_an_item_of_a_category(path: Path):
    # pyst2 keeps items before the first category out of every category: count them all back.
    cfg = load(path)
    in_categories = sum(len(c.items) for c in cfg.categories)
    value_lines = sum(
        1
        for raw in path.read_text().splitlines()
        if (body := raw.split(";", 1)[0].strip()) and not body.startswith("[")
    )
    assert in_categories == value_lines


@pytest.mark.parametrize(
    ("text", "hint"),
    [
        ("[endpoint-common](!)\ntype = endpoint\n", "templates"),
        ("[1001](endpoint-common)\nauth = 1001\n", "templates"),
        ("[general]\n#include pjsip_agents.conf\n", "#include"),
    ],
)
def test_what_pyst2_cannot_parse_fails_with_a_message_saying_what_to_change(tmp_path, text, hint):
    path = tmp_path / "probe.conf"
    path.write_text(text)
    with pytest.raises(pytest.fail.Exception, match=hint):
        load(path)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("[a]\nx = one\\;two\n", "escaped semicolon"),
        ("x = 1\n[a]\ny = 2\n", "before any"),
        ("[a]\n;--\nx = 1\n--;\n", "block comment"),
    ],
)
def test_silent_misreads_are_reported(tmp_path, text, problem):
    path = tmp_path / "probe.conf"
    path.write_text(text)
    found = raw_problems(path)
    assert any(problem in p for p in found), found
