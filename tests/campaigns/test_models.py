"""Campaign files: the shipped examples load, and bad files fail with the file, the setting and the fix."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from dialer.campaigns import CampaignConfig, load_campaign, load_campaigns, parse_campaign
from dialer.errors import ConfigError

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "campaigns"
BASE: dict[str, Any] = {
    "id": "c1",
    "kind": "base_upsell",
    "name": "C",
    "caller_id_name": "Acme",
    "caller_id_number": "+12125550100",
    "jurisdiction": "us",
}


def test_examples_cover_every_kind_and_link_up() -> None:
    cs = load_campaigns(EXAMPLES)
    assert {c.kind for c in cs.values()} == {"base_upsell", "winback", "cold", "confirmation"}
    for c in cs.values():
        for fu in c.follow_ups:
            assert cs[fu.campaign].kind == "confirmation"
    wb = cs["winback"]
    assert wb.winback is not None
    assert wb.report_by == "cancel_reason"
    assert cs["cold-fiber"].consent_required
    assert cs["cold-fiber"].reconcile
    assert cs["upsell-fiber"].is_base
    assert not cs["winback"].is_base
    assert cs["confirm-order"].max_contacts_per_month is None  # YAML null


def test_defaults_follow_the_brief() -> None:
    c = parse_campaign(BASE)
    assert str(c.calling_hours.window) == "09:00-21:00"
    assert c.retry.abandon_lock_h == 72
    assert c.base_contact_days == 62
    assert c.caller_id_number == "+12125550100"
    national = parse_campaign({**BASE, "caller_id_number": "(212) 555-0100"})
    assert national.caller_id_number == "+12125550100"


@pytest.mark.parametrize(
    ("change", "where", "hint"),
    [
        ({"ring_timeout_s": 25}, "(top level)", "ring_timeout_s is not read from a campaign file"),
        ({"amd": False}, "(top level)", "[[campaigns]] entry of dialer.toml"),
        ({"script": "upsell", "amd": True}, "(top level)", "amd, script are not read from a campaign file"),
        ({"calling_hours": {"window": "07:30-21:00"}}, "(top level)", "leaves the legal 08:00-21:00"),
        ({"calling_hours": {"by_day": {"sat": "09:00-22:00"}}}, "(top level)", "legal"),
        ({"calling_hours": {"window": "21:00-09:00"}}, "calling_hours.window", "ends before it starts"),
        ({"calling_hours": {"window": "9 to 5"}}, "calling_hours.window", "must look like 09:00-21:00"),
        ({"retry": {"abandon_lock_h": 48}}, "retry.abandon_lock_h", "greater than or equal to 72"),
        ({"retry": {"delays_s": {"busy": -1}}}, "retry.delays_s", "delays are seconds >= 0"),
        ({"retry": {"delays_s": {"ringing": 5}}}, "retry.delays_s.ringing.[key]", "Input should be"),
        ({"kind": "survey"}, "kind", "Input should be"),
        ({"colour": "red"}, "colour", "Extra inputs are not permitted"),
        ({"caller_id_number": "12"}, "(top level)", "caller_id_number"),
        ({"default_region": "XX"}, "default_region", "not an ISO 3166 region"),
        ({"default_timezone": "Mars/Base"}, "default_timezone", "unknown time zone"),
        ({"winback": {}}, "(top level)", "only applies to kind winback"),
        ({"follow_ups": [{"on": "sale", "campaign": "other"}]}, "follow_ups.0", "exactly one of delay_s"),
        ({"follow_ups": [{"on": "sale", "campaign": "c1", "delay_s": 1}]}, "(top level)", "this campaign itself"),
        ({"id": "Has Space"}, "id", "String should match pattern"),
    ],
)
def test_invalid_settings_are_named(change: dict[str, Any], where: str, hint: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_campaign({**BASE, **change}, "camp.toml")
    text = str(info.value)
    assert f"camp.toml: {where}:" in text
    assert hint in text


def test_file_errors_name_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('id = "x"\nkind = \n')
    with pytest.raises(ConfigError, match=r"bad.toml: TOML syntax error"):
        load_campaign(bad)
    with pytest.raises(ConfigError, match=r"must end in \.toml"):
        load_campaign(tmp_path / "c.ini")
    with pytest.raises(ConfigError, match="cannot read"):
        load_campaign(tmp_path / "missing.toml")
    latin = tmp_path / "latin.yaml"
    latin.write_bytes(b"name: caf\xe9\n")
    with pytest.raises(ConfigError, match="not UTF-8"):
        load_campaign(latin)
    listy = tmp_path / "list.yaml"
    listy.write_text("- 1\n- 2\n")
    with pytest.raises(ConfigError, match="one campaign table"):
        load_campaign(listy)


def test_campaign_sets_check_ids_and_follow_up_targets(tmp_path: Path) -> None:
    (tmp_path / "a.toml").write_text(
        'id = "a"\nkind = "base_upsell"\nname = "A"\ncaller_id_name = "A"\ncaller_id_number = "+12125550100"\n'
        'jurisdiction = "us"\n[[follow_ups]]\non = "sale"\ncampaign = "missing"\ndelay_s = 60\n'
    )
    with pytest.raises(ConfigError, match=r"a.toml: follow_ups: on sale points at campaign 'missing'"):
        load_campaigns(tmp_path)
    (tmp_path / "a.toml").unlink()
    for name in ("one.yaml", "two.yaml"):
        (tmp_path / name).write_text(
            "id: same\nkind: cold\nname: X\ncaller_id_name: X\ncaller_id_number: '+12125550100'\njurisdiction: us\n"
        )
    with pytest.raises(ConfigError, match="already used by"):
        load_campaigns(tmp_path)


def test_models_are_frozen() -> None:
    c = parse_campaign(BASE)
    with pytest.raises(ValueError, match="frozen"):
        c.name = "other"  # type: ignore[misc]
    assert isinstance(c, CampaignConfig)


def test_uk_campaign_and_winback_defaults() -> None:
    c = parse_campaign(
        {**BASE, "kind": "winback", "jurisdiction": "uk", "default_region": "gb", "caller_id_number": "020 7946 0123"}
    )
    assert c.caller_id_number == "+442079460123"
    assert c.default_region == "GB"
    assert c.winback is not None
    assert c.winback.reason_rank["price"] == 0


def test_dialing_settings_in_a_campaign_file_are_refused_naming_dialer_toml(tmp_path: Path) -> None:
    # amd, ring_timeout_s and script were accepted here and never read: the daemon takes them from the
    # [[campaigns]] entry of dialer.toml, so an operator's `amd = false` in a campaign file did nothing
    f = tmp_path / "upsell.toml"
    f.write_text('id = "c1"\nkind = "base_upsell"\nname = "C"\ncaller_id_name = "Acme"\n'
                 'caller_id_number = "+12125550100"\njurisdiction = "us"\namd = false\n', encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_campaign(f)
    text = str(info.value)
    assert f"{f}: (top level): Value error, amd is not read from a campaign file" in text
    assert "[[campaigns]] entry of dialer.toml" in text
    assert not hasattr(parse_campaign(BASE), "amd")
