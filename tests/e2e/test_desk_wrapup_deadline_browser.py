"""The desk's wrap-up countdown in headless Chromium: it counts down to the dialer's deadline for the wrap-up
(the state message's and the snapshot's `wrapup_deadline`), not to the campaign's `wrapup_timeout_s` the page
read when it loaded, which a supervisor may have changed since. The notice's side is in
tests/agents/test_wrapup_deadline_notice.py."""

from __future__ import annotations

import re

import pytest
from test_desk_browser import desk_page, expect, talk_and_hang_up

from agents.desk.harness import DeskHarness

pytestmark = pytest.mark.asyncio(loop_scope="module")

HALF_A_MINUTE_LEFT = re.compile(r"^00:[0-3]\d$")
TWO_MINUTES_LEFT = re.compile(r"^0[12]:[0-5]\d$")


async def test_the_countdown_follows_a_timeout_the_supervisor_shortened_after_the_page_loaded(browser, redis_url):
    async with DeskHarness(redis_url=redis_url) as h, desk_page(browser, h) as page:
        # the page loaded its snapshot with the campaign's 120 s; then the supervisor makes it 30 s
        h.daemon.edit_campaign(h.campaign, {"wrapup_timeout_s": 30.0})
        await talk_and_hang_up(page, h)
        await expect(page.locator("#state-label")).to_have_text("Wrap-up")
        await expect(page.locator("#wrapup-left")).to_have_text(HALF_A_MINUTE_LEFT)
        await page.reload()
        await expect(page.locator("#state-label")).to_have_text("Wrap-up")
        await expect(page.locator("#wrapup-left")).to_have_text(HALF_A_MINUTE_LEFT)


async def test_a_reload_keeps_counting_to_the_deadline_of_the_wrap_up_under_way(browser, redis_url):
    # the edit applies from the next wrap-up: a page reloaded after it must not count this one down to 30 s
    async with DeskHarness(redis_url=redis_url) as h, desk_page(browser, h) as page:
        await talk_and_hang_up(page, h)
        await expect(page.locator("#wrapup-left")).to_have_text(TWO_MINUTES_LEFT)
        h.daemon.edit_campaign(h.campaign, {"wrapup_timeout_s": 30.0})
        await page.reload()
        await expect(page.locator("#state-label")).to_have_text("Wrap-up")
        await expect(page.locator("#wrapup-left")).to_have_text(TWO_MINUTES_LEFT)
