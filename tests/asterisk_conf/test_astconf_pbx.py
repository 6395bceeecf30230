"""pjsip.conf, amd.conf, modules.conf, asterisk.conf, logger.conf, rtp.conf hold together."""

from __future__ import annotations

import re

import pytest
from astconf_dialplan import Dialplan
from astconf_files import as_dict, csv_set, load, one, typed, values

# app_amd.c reads these keys; anything else in amd.conf is a typo Asterisk ignores.
AMD_KEYS = {
    "initial_silence", "greeting", "after_greeting_silence", "silence_threshold", "total_analysis_time",
    "min_word_length", "between_words_silence", "maximum_number_of_words", "maximum_word_length",
    "playback_file",
}  # fmt: skip
# Module providing each dialplan application and function; None: built into the core.
APP_MODULE = {
    "AMD": "app_amd.so", "Answer": None, "Busy": None, "Congestion": None, "DBdeltree": "app_db.so",
    "Dial": "app_dial.so",
    "MixMonitor": "app_mixmonitor.so",
    "Gosub": "app_stack.so", "Goto": None, "GotoIf": None, "Hangup": None, "Log": "app_verbose.so",
    "NoOp": None, "Playback": "app_playback.so", "Read": "app_read.so", "Return": "app_stack.so",
    "Set": None, "UserEvent": "app_userevent.so", "Wait": None, "WaitForSilence": "app_waitforsilence.so",
}  # fmt: skip
FUNC_MODULE = {
    "FILTER": "func_strings.so", "IF": "func_logic.so", "URIDECODE": "func_uri.so",
    "PJSIP_HEADER": "res_pjsip_header_funcs.so", "STRFTIME": "func_strings.so", "DB": "func_db.so",
    "DB_KEYS": "func_db.so", "POP": "func_strings.so",
}  # fmt: skip
DIALER_CONTEXTS = {"dialer-outbound", "dialer-connect", "dialer-to-agent", "dialer-agent", "dialer-abandon"}


@pytest.fixture(scope="module")
def plan() -> Dialplan:
    return Dialplan.load(load("extensions.conf"))


@pytest.fixture(scope="module")
def pjsip():
    return load("pjsip.conf")


# --- AMD -------------------------------------------------------------------------------------


def test_amd_settings_are_known_options():
    amd = as_dict(one(load("amd.conf"), "general"))
    assert set(amd) <= AMD_KEYS


def test_amd_decides_within_3_seconds():
    amd = {k: int(v) for k, v in as_dict(one(load("amd.conf"), "general")).items()}
    assert 2000 <= amd["total_analysis_time"] <= 3000
    for key in ("initial_silence", "greeting", "after_greeting_silence", "maximum_word_length"):
        assert amd[key] < amd["total_analysis_time"], f"{key} can never decide before the deadline"
    # A short "Hello?" followed by a pause is a person well before the deadline.
    assert amd["min_word_length"] + amd["after_greeting_silence"] <= 1000
    assert amd["maximum_number_of_words"] >= 2  # "Hello, hello?" is a person


# --- PJSIP -----------------------------------------------------------------------------------


def test_trunk_is_the_endpoint_the_dialplan_dials(plan, pjsip):
    endpoints = typed(pjsip, "endpoint")
    trunk_name = plan.globals["DIALER_TRUNK"]
    assert trunk_name == "trunk"  # the contract: Dial(PJSIP/${EXTEN}@trunk)
    trunk = endpoints[trunk_name]
    assert "from_user" not in trunk, "from_user would replace the campaign's caller ID"
    assert trunk["send_pai"] == "yes"


def test_every_reference_between_pjsip_objects_resolves(pjsip):
    objects = {t: typed(pjsip, t) for t in ("endpoint", "auth", "aor", "transport", "identify")}
    for name, ep in objects["endpoint"].items():
        assert ep["transport"] in objects["transport"], name
        for aor in csv_set(ep["aors"]):
            assert aor in objects["aor"], f"endpoint {name}: aor {aor} missing"
        for key in ("auth", "outbound_auth"):
            if key in ep:
                assert ep[key] in objects["auth"], f"endpoint {name}: {key} {ep[key]} missing"
    for name, ident in objects["identify"].items():
        assert ident["endpoint"] in objects["endpoint"], name


def test_inbound_calls_land_in_contexts_that_cannot_dial_out(plan, pjsip):
    for name, ep in typed(pjsip, "endpoint").items():
        assert ep["context"] in plan.contexts, f"endpoint {name}: context {ep['context']} missing"
        assert ep["context"] not in DIALER_CONTEXTS, f"endpoint {name} could reach the dialer's contexts"


def test_phones_are_reachable_by_the_agent_contexts(plan, pjsip):
    phones = {n: ep for n, ep in typed(pjsip, "endpoint").items() if n != "trunk"}
    assert phones
    aors = typed(pjsip, "aor")
    for name in phones:
        assert plan.match("dialer-to-agent", name) == "_X.", f"agent {name} cannot be connected"
        assert plan.match("dialer-agent", name) == "_X."
        assert aors[name]["max_contacts"] == "1"


def test_spying_on_agents_stays_possible():
    # The supervisor API originates PJSIP/<supervisor> running ChanSpy (Originate's `originate` class).
    modules = one(load("modules.conf"), "modules")
    assert "app_chanspy.so" not in values(modules, "noload")


def test_passwords_are_placeholders(pjsip):
    for name, auth in typed(pjsip, "auth").items():
        assert "CHANGE_ME" in auth["password"], f"auth {name} carries a real-looking password"


# --- modules ---------------------------------------------------------------------------------


def test_every_application_and_function_the_dialplan_uses_is_required(plan):
    modules = one(load("modules.conf"), "modules")
    required = set(values(modules, "require"))
    used_apps = {s.app for c in plan.contexts for s in plan.steps(c)}
    unknown = used_apps - set(APP_MODULE)
    assert not unknown, f"add {sorted(unknown)} to APP_MODULE with the module providing them"
    for app in used_apps:
        if APP_MODULE[app]:
            assert APP_MODULE[app] in required, f"{app}() needs require = {APP_MODULE[app]}"
    text = "\n".join(s.data for c in plan.contexts for s in plan.steps(c))
    used_funcs = set(re.findall(r"\$\{([A-Z_]+)\(", text)) | set(re.findall(r"\b([A-Z_]+)\(add,", text))
    for func in used_funcs:
        assert func in FUNC_MODULE, f"add {func} to FUNC_MODULE"
        assert FUNC_MODULE[func] in required, f"{func}() needs require = {FUNC_MODULE[func]}"


def test_modules_autoload_and_nothing_required_is_excluded():
    modules = one(load("modules.conf"), "modules")
    assert values(modules, "autoload") == ["yes"]
    required, excluded = set(values(modules, "require")), set(values(modules, "noload"))
    assert {"chan_pjsip.so", "app_amd.so", "pbx_config.so"} <= required
    assert not required & excluded
    assert "chan_iax2.so" in excluded


# --- core, logging, media ----------------------------------------------------------------------


def test_core_sends_silence_while_a_person_waits():
    options = as_dict(one(load("asterisk.conf"), "options"))
    assert options["transmit_silence"] == "yes"
    assert "runuser" not in options  # the container's command line sets the user


def test_logs_keep_security_events():
    files = as_dict(one(load("logger.conf"), "logfiles"))
    assert "error" in csv_set(files["console"])
    assert any("security" in csv_set(levels) for levels in files.values())


def test_rtp_range_is_sane():
    rtp = as_dict(one(load("rtp.conf"), "general"))
    start, end = int(rtp["rtpstart"]), int(rtp["rtpend"])
    assert 1024 < start < end <= 65535
    assert (end - start + 1) % 2 == 0, "RTP uses even ports and RTCP the odd one after"
