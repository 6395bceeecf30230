"""asterisk_conf/ replaces /etc/asterisk, so it must carry its own tone zones.

Without indications.conf Asterisk loads no zone and plays no ringback itself: an agent whose preview or
manual call rings on a carrier that sends 180 without early media hears silence until the answer.
"""

from __future__ import annotations

import re

from astconf_files import load

TONES = ("ring", "busy", "congestion", "dial")  # the indications the dialplan's calls can signal
TONE = re.compile(r"^!?\d+(?:[+*]\d+)?(?:/\d+)?(?:,!?\d+(?:[+*]\d+)?(?:/\d+)?)*$")


def test_the_configured_country_has_a_zone_with_every_tone():
    conf = load("indications.conf")
    zones = {c.name: {i.name: i.value.strip() for i in c.items} for c in conf.categories}
    country = zones["general"]["country"]
    assert country in zones, f"[general] country = {country} has no [{country}] zone in indications.conf"
    for zone, tones in zones.items():
        if zone == "general":
            continue
        for tone in TONES:
            assert tone in tones, f"[{zone}] has no {tone} tone"
            assert TONE.fullmatch(tones[tone].replace(" ", "")), f"[{zone}] {tone} = {tones[tone]!r}"
