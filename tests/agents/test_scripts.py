"""Call scripts: validation names the file, the step and the fix; rendering is sandboxed and total."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from agents.commands import Disposition
from agents.dispositions import DispositionRejected
from agents.scripts import ScriptError, StepKind, load_script, load_scripts, parse_script

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "scripts"

GOOD = """
campaign: demo
title: Demo offer
fields: {first_name: Anna, arpu: "64.90", cancel_reason: price}
steps:
  opening:
    kind: opening
    title: Greeting
    text: "Hello {{ lead.first_name }}, this is {{ agent.name }}."
    next: [offer, offer_cheap]
  offer:
    kind: offer
    title: Offer
    when: lead.arpu|float >= 50
    text: "Premium for {{ lead.arpu }}"
    next: [obj_price, agree, refuse]
  offer_cheap:
    kind: offer
    title: Cheap offer
    when: lead.arpu|float < 50
    text: "Basic"
    next: [agree, refuse]
  obj_price:
    kind: objection
    title: Too expensive
    text: "It costs what you pay today."
    next: [agree, refuse]
  agree:
    kind: agreement
    title: Agrees
    disposition: agreed
    collect: [{name: address, label: Address}, {name: slot, label: Time, type: datetime, required: false}]
    next: [closing]
  refuse:
    kind: refusal
    title: Refuses
    disposition: refused
    reasons: [{code: no_minimum_spend, label: No minimum spend}, {code: other, label: Other}]
    next: [closing]
  closing:
    kind: closing
    title: Bye
    text: "Goodbye {{ lead.first_name }}"
"""


def edit(old: str, new: str) -> str:
    assert old in GOOD, old
    return GOOD.replace(old, new, 1)


def test_a_good_script_loads_with_its_graph_and_defaults():
    s = parse_script(GOOD, "demo.yaml")
    assert (s.campaign_id, s.start) == ("demo", "opening")
    assert s.steps["obj_price"].kind is StepKind.OBJECTION
    assert [c.code for c in s.refusal_reasons] == ["no_minimum_spend", "other"]
    assert s.collect_fields == {"address", "slot"}
    assert s.dispositions.get("callback") is not None  # no dispositions: section -> the default set


def test_render_fills_lead_fields_and_hides_steps_whose_condition_is_false():
    s = parse_script(GOOD)
    high = s.render({"first_name": "Eva", "arpu": "70"}, agent={"name": "Bob"})
    assert high["steps"]["opening"]["text"] == "Hello Eva, this is Bob."
    assert high["steps"]["opening"]["next"] == ["offer"]
    assert "offer_cheap" not in high["steps"]
    assert high["steps"]["offer"]["text"] == "Premium for 70"
    low = s.render({"first_name": "Eva", "arpu": "20"})
    assert low["steps"]["opening"]["next"] == ["offer_cheap"]
    assert low["steps"]["refuse"]["reasons"][0] == {"code": "no_minimum_spend", "label": "No minimum spend"}
    assert low["steps"]["agree"]["collect"][1] == {"name": "slot", "label": "Time", "type": "datetime",
                                                   "required": False}
    assert low["steps"]["agree"]["disposition"] == "agreed"


def test_a_missing_field_renders_empty_at_call_time():
    out = parse_script(GOOD).render({})
    assert out["steps"]["opening"]["text"] == "Hello , this is ."
    assert out["steps"]["opening"]["next"] == ["offer_cheap"]  # a missing ARPU reads as 0
    assert "error" not in out["steps"]["opening"]
    numeric = parse_script(edit('text: "Basic"', 'text: "{{ (lead.arpu|float * 2)|round }} {{ lead.arpu|int + 1 }}"'))
    assert numeric.render({})["steps"]["offer_cheap"]["text"] == "0.0 1"


# Fields named like the methods of a dict: Jinja looks an attribute up before an item, so `lead.items` was
# the dict's bound method, shown to the agent with a server memory address, and the load check let it pass.
METHOD_NAMED = """
campaign: c1
title: T
fields: {first_name: Anna, items: "2 SIM cards", get: g, values: v, keys: k, copy: c, update: u, pop: p}
steps:
  opening:
    kind: opening
    title: Hi
    text: "Hello {{ lead.first_name }}, your order: {{ lead.items }}"
    next: [many, few]
  many:
    kind: offer
    title: Many
    when: lead.items|int > 2
    text: "{{ lead.get }} {{ lead.values }} {{ lead.keys }} {{ lead.copy }} {{ lead.update }} {{ lead['pop'] }}"
    next: [closing]
  few:
    kind: offer
    title: Few
    when: lead.items|int <= 2 and lead.get == 'g'
    text: "{{ lead.items }} for {{ agent.name }}"
    next: [closing]
  closing: {kind: closing, title: Bye, text: "Bye"}
"""


def test_fields_named_like_dict_methods_render_their_values_in_texts_and_conditions():
    s = parse_script(METHOD_NAMED)
    many = s.render({"first_name": "Anna", "items": "3", "get": "1", "values": "2", "keys": "3", "copy": "4",
                     "update": "5", "pop": "6"})["steps"]
    assert many["opening"]["text"] == "Hello Anna, your order: 3"
    assert (many["many"]["text"], "few" in many) == ("1 2 3 4 5 6", False)
    few = s.render({"first_name": "Anna", "items": "1", "get": "g"}, agent={"name": "Bob"})["steps"]
    assert (few["few"]["text"], "many" in few) == ("1 for Bob", False)
    # a missing field is empty, as any missing field, not the method it is named like
    missing = s.render({"items": "9"})["steps"]
    assert missing["many"]["text"] == "     "
    assert s.render({})["steps"]["opening"]["text"] == "Hello , your order: "
    # lead data is still text: markup and template syntax in a field are shown as they are
    text = s.render({"first_name": "{{ 7*7 }}{% if 1 %}x{% endif %}<b>", "items": "y"})["steps"]["opening"]["text"]
    assert text == "Hello {{ 7*7 }}{% if 1 %}x{% endif %}<b>, your order: y"


def test_agent_campaign_and_call_have_only_their_fields_too():
    for name in ("agent", "campaign", "call"):
        with pytest.raises(ScriptError, match=f"step 'closing' text: fails with the sample fields: {name} has no "
                                              "field 'items'"):
            parse_script(METHOD_NAMED.replace('text: "Bye"', f'text: "{{{{ {name}.items }}}}"'), "c1.yaml")
    script = parse_script(METHOD_NAMED.replace('text: "Bye"', 'text: "{{ call.attempt }} {{ campaign.title }}"'))
    assert script.render({}, call={"attempt": 2})["steps"]["closing"]["text"] == "2 T"


def test_a_lead_value_that_breaks_the_one_pass_render_falls_back_step_by_step():
    s = parse_script(GOOD)
    out = s.render({"first_name": "a\x1eb", "arpu": "60"})
    assert out["steps"]["opening"]["text"] == "Hello a\x1eb, this is ."
    assert out["steps"]["closing"]["text"] == "Goodbye a\x1eb"


def test_a_step_failing_at_call_time_is_reported_and_the_rest_still_renders():
    s = parse_script(edit('text: "Premium for {{ lead.arpu }}"', 'text: "{{ 100 // ((lead.arpu|int) - 60) }}"'))
    out = s.render({"first_name": "Eva", "arpu": "60"})
    assert out["steps"]["offer"]["text"] == ""
    assert "ZeroDivisionError" in out["steps"]["offer"]["error"]
    assert out["steps"]["closing"]["text"] == "Goodbye Eva"


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("kind: objection", "kind: rebuttal", "steps.obj_price.kind"),
        ("next: [obj_price, agree, refuse]", "next: [obj_prize, agree, refuse]",
         "step 'offer': next 'obj_prize' is not a step"),
        ('text: "It costs what you pay today."', 'text: ""', "objection 'obj_price' needs its retention answer"),
        ("reasons: [{code: no_minimum_spend, label: No minimum spend}, {code: other, label: Other}]", "reasons: []",
         "refusal 'refuse' needs reasons"),
        ("{{ lead.first_name }}, this", "{{ lead.firstname }}, this",
         "reads lead.firstname, which is not declared under fields"),
        ("{{ agent.name }}", "{{ agnet.name }}", "'agnet' is not defined"),
        ("Goodbye {{ lead.first_name }}", "Goodbye {{ lead.first_name }", "step 'closing' text, line 1"),
        ("Goodbye {{ lead.first_name }}", "{{ ''.__class__.__mro__[1].__subclasses__() }}",
         "step 'closing' text: not allowed in a script"),
        ("Goodbye {{ lead.first_name }}", "{{ agent.name.upper().nope }}", "fails with the sample fields"),
        ("    text: \"Goodbye {{ lead.first_name }}\"", "    text: bye\n    next: [opening]",
         "closing; it cannot have next steps"),
        ("    next: [closing]\n  refuse:", "    next: []\n  refuse:", "step 'agree' is a dead end"),
        ("    next: [agree, refuse]\n  agree:", "    next: [obj_price]\n  agree:",
         "from step 'obj_price' no closing can be reached"),
        ("next: [offer, offer_cheap]", "next: [offer]", "step 'offer_cheap' cannot be reached from 'opening'"),
        ("    title: Greeting", "    title: Greeting\n    when: lead.arpu", "start step 'opening' cannot have a when"),
        ("disposition: agreed", "disposition: aggreed", "disposition 'aggreed' is not in this campaign's"),
        ("    title: Agrees", "    title: Agrees\n    reasons: [{code: a, label: A}]",
         "reasons only belong on refusal"),
        ("campaign: demo", "campaign: demo\nsteps_typo: 1", "steps_typo: Extra inputs are not permitted"),
        ("title: Demo offer", "title: Demo offer\nstart: offer", "the start step 'offer' must be kind opening"),
    ],
)
def test_invalid_scripts_are_refused_with_the_step_and_the_fix(old, new, message):
    with pytest.raises(ScriptError) as err:
        parse_script(edit(old, new), "camp.yaml")
    assert message in str(err.value)
    assert str(err.value).startswith("camp.yaml")


def test_yaml_errors_carry_the_line():
    with pytest.raises(ScriptError, match=r"bad\.yaml: line 4: not valid YAML"):
        parse_script("campaign: x\ntitle: y\nsteps: [a, b\n", "bad.yaml")


def test_the_sandbox_stops_a_template_at_call_time_too():
    s = parse_script(GOOD)
    # Lead data is data: a template string inside a field is printed, never evaluated.
    out = s.render({"first_name": "{{ ''.__class__ }}", "arpu": "60"})
    assert out["steps"]["opening"]["text"] == "Hello {{ ''.__class__ }}, this is ."


def test_check_path_accepts_walks_along_next_and_refuses_anything_else():
    s = parse_script(GOOD)
    s.check_path(())
    s.check_path(("opening", "offer", "obj_price", "refuse", "closing"))
    with pytest.raises(DispositionRejected, match=r"must begin at 'opening'"):
        s.check_path(("offer",))
    with pytest.raises(DispositionRejected, match=r"script_path\[2\]: 'closing' does not follow 'offer'"):
        s.check_path(("opening", "offer", "closing"))
    with pytest.raises(DispositionRejected, match=r"'nope' is not a step"):
        s.check_path(("opening", "nope"))


def test_validate_disposition_uses_the_walked_refusal_reasons_and_required_agreement_fields():
    s = parse_script(GOOD)
    ok = s.validate_disposition(
        Disposition("a1", "c1", "refused", {"reason": "no_minimum_spend"}, ("opening", "offer", "refuse")), 0.0)
    assert ok.fields["reason"] == "no_minimum_spend"
    with pytest.raises(DispositionRejected, match=r"fields\.reason"):
        s.validate_disposition(Disposition("a1", "c1", "refused", {"reason": "too_expensive"},
                                           ("opening", "offer", "refuse")), 0.0)
    with pytest.raises(DispositionRejected, match=r"fields.address: 'Address' is required by step 'agree'"):
        s.validate_disposition(Disposition("a1", "c1", "agreed", {}, ("opening", "offer", "agree")), 0.0)
    agreed = s.validate_disposition(
        Disposition("a1", "c1", "agreed", {"address": "1 Main St"}, ("opening", "offer", "agree")), 0.0)
    assert agreed.fields == {"address": "1 Main St"}


def test_the_shipped_example_scripts_load_and_render_for_every_cancel_reason():
    scripts = load_scripts(EXAMPLES)
    assert set(scripts) == {"upsell-device", "winback", "confirmation"}
    winback = scripts["winback"]
    offers = {}
    for reason in ("price", "competitor_services", "quality", "support", "moved", "seasonal", "none"):
        out = winback.render({**winback.sample, "cancel_reason": reason})
        [offer] = [s for s in out["steps"]["opening"]["next"] if s.startswith("offer_")]
        offers[reason] = offer
    assert offers == {"price": "offer_price", "competitor_services": "offer_price", "quality": "offer_quality",
                      "support": "offer_support", "moved": "offer_moved", "seasonal": "offer_seasonal",
                      "none": "offer_general"}
    upsell = scripts["upsell-device"]
    assert [c.code for c in upsell.refusal_reasons] == [
        "not_planning_to_change", "no_minimum_spend", "distrusts_quality", "buy_in_shop", "see_device_first",
        "prefers_other_model", "other"]
    high = upsell.render({**upsell.sample, "arpu": "80"})
    low = upsell.render({**upsell.sample, "arpu": "30"})
    assert "offer_premium" in high["steps"]
    assert "offer_premium" not in low["steps"]
    assert upsell.dispositions.get("agreed").follow_up == "confirmation"
    assert scripts["confirmation"].dispositions.get("confirmed").key == "1"


def test_two_scripts_for_one_campaign_are_refused(tmp_path):
    for name in ("a.yaml", "b.yaml"):
        (tmp_path / name).write_text(GOOD)
    with pytest.raises(ScriptError, match="already has a script"):
        load_scripts(tmp_path)


def test_an_unreadable_file_is_a_script_error(tmp_path):
    with pytest.raises(ScriptError, match="cannot read the script"):
        load_script(tmp_path / "missing.yaml")


def test_a_script_may_carry_its_own_disposition_set():
    s = parse_script(GOOD + textwrap.dedent("""
        dispositions:
          codes: [sale, {code: agreed, follow_up: confirmation}, refused, {code: later, label: Later, kind: callback}]
    """))
    assert s.dispositions.codes() == ["sale", "agreed", "refused", "later"]
    assert [x.key for x in s.dispositions.specs] == ["1", "2", "3", "4"]
