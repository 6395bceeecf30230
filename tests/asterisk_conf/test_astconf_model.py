"""The dialplan model the behaviour tests stand on follows Asterisk's rules, and refuses the rest."""

from __future__ import annotations

import pytest
from astconf_dialplan import Unsupported, evaluate, pattern_matches, split_args, substitute, truthy


@pytest.mark.parametrize(
    ("pattern", "exten", "matches"),
    [
        ("_X.", "15551230", True),
        ("_X.", "1", False),  # '.' needs at least one more character
        ("_X.", "h", False),
        ("_X.", "1001", True),
        ("_[+0-9].", "+4420", True),
        ("_[*#+0-9].", "*43", True),
        ("_NXX", "155", False),
        ("_ZX!", "12", True),
        ("_ZX!", "1", False),
    ],
)
def test_extension_patterns(pattern, exten, matches):
    assert pattern_matches(pattern, exten) is matches


@pytest.mark.parametrize(
    ("data", "args"),
    [
        ("a,b,c", ["a", "b", "c"]),
        ("Local/1001@dialer-agent,5", ["Local/1001@dialer-agent", "5"]),
        ("PJSIP/1,5,b(x^s^1)U(y^1,2)", ["PJSIP/1", "5", "b(x^s^1)U(y^1,2)"]),
        ('"a,b",c', ["a,b", "c"]),
        ("x[1,2],y", ["x[1,2]", "y"]),
        ("a\\,b,c", ["a,b", "c"]),
        ("a,", ["a", ""]),
    ],
)
def test_application_arguments_split_like_ast_app_separate_args(data, args):
    assert split_args(data) == args


@pytest.mark.parametrize(
    ("expr", "result"),
    [
        ('"1" = "1"', "1"),
        ('"0" = "1"', "0"),
        ('"" = ""', "1"),
        ('"HUMAN" != "MACHINE"', "1"),
        ('"a b" = "a b"', "1"),
        ('"BUSY" = "BUSY" | "X" = "Y"', "1"),
        ('"1" = "1" & "X" = "Y"', "0"),
        ("10 > 9", "1"),  # unquoted integers compare as numbers
        ('"01" = "1"', "0"),  # quoted operands compare as text, quotes included
        ('("1" = "1")', "1"),
    ],
)
def test_expressions(expr, result):
    assert evaluate(expr) == result


@pytest.mark.parametrize(("text", "value"), [("", False), ("0", False), ("1", True), ("HUMAN", True), (" 2 ", True)])
def test_conditions_follow_pbx_checkcondition(text, value):
    assert truthy(text) is value


def test_substitution_is_innermost_first():
    variables = {"AMDSTATUS": "", "DIALER_AMD_STATUS": "SKIPPED", "EXTEN": "15a55"}

    def lookup(name: str) -> str:
        return variables[name]

    assert substitute('${IF($["${AMDSTATUS}" = ""]?${DIALER_AMD_STATUS}:${AMDSTATUS})}', lookup) == "SKIPPED"
    assert substitute("${FILTER(0-9,${EXTEN})}", lookup) == "1555"
    assert substitute("x${URIDECODE(%3B)}y", lookup) == "x;y"
    assert substitute("${STRFTIME($[1795000000 - 86400],UTC,%Y%m%d)}", lookup) == "20261117"
    assert substitute("$[20261117 >= 20261116 + 1]", lookup) == "1"


@pytest.mark.parametrize(
    "text",
    ["${SHELL(id)}", "${EXTEN:1}", "$[1 * 2]", "$[a + 2]", "${CUT(x,-,1)}", "${FILTER(0123,x)}", "${unclosed"],
)
def test_anything_unmodelled_is_refused_not_guessed(text):
    with pytest.raises(Unsupported):
        substitute(text, lambda name: "1")
