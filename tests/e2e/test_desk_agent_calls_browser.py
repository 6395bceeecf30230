"""Preview dialing, manual dialing and blind transfer in headless Chromium, end to end against the PBX simulator.

The daemon's real AMI side (AmiClient and AMI loop) talks to the simulator over TCP; Redis and HTTP are
real. The simulator plays people who answer after 1 s and talk until the test hangs them up.
"""

from __future__ import annotations

import json
import re

import pytest
from test_desk_browser import desk_page, expect, go_ready

from agents.commands import Disposition, Login, Ready
from agents.desk.harness import DeskHarness
from dialer.engine.core import DialRequest
from pacing import Mode

pytestmark = pytest.mark.asyncio(loop_scope="module")

LEADS = [DialRequest("L42", "+12125550142", fields={"first_name": "Anna", "last_name": "Novak", "arpu": "64.90",
                                                     "tariff": "Unlimited Plus"}),
         DialRequest("L43", "+12125550143", fields={"first_name": "Boris", "last_name": "Ivanov", "arpu": "12.00",
                                                     "tariff": "Basic"})]


async def test_preview_skip_then_dial_and_a_blind_transfer_to_another_agent(browser, redis_url):
    async with DeskHarness(redis_url=redis_url, pbx=True, mode=Mode.PREVIEW, leads=LEADS) as h, \
            desk_page(browser, h) as page:
        await go_ready(page)
        h.daemon.engine.campaigns[h.campaign].preview_auto_dial_s = 600.0  # the card counts down (the harness
        # runs no timer loop, so nothing is dialed by itself here: tests/daemon/test_own_callback_offers.py)
        await h.daemon.offer_previews(h.campaign)  # what the preview campaign's pacing loop does
        await expect(page.locator("#preview-card")).to_be_visible()
        await expect(page.locator("#state-label")).to_have_text("Preview")
        await expect(page.locator("#preview-name")).to_have_text("Anna Novak")
        await expect(page.locator("#preview-auto")).to_have_text(re.compile(r"^Dialing by itself in (600|59\d) s$"))
        h.daemon.engine.campaigns[h.campaign].preview_auto_dial_s = None
        await page.select_option("#preview-skip-reason", "bad_data")
        await page.click("#btn-preview-skip")
        await expect(page.locator("#preview-card")).to_be_hidden()
        await expect(page.locator("#state-label")).to_have_text("Ready")
        await h.daemon.offer_previews(h.campaign)
        await expect(page.locator("#preview-name")).to_have_text("Boris Ivanov")
        await page.click("#btn-preview-dial")
        # The agent's phone answers, then the customer's rings and answers: the call is on screen.
        await expect(page.locator("#state-label")).to_have_text("Talking")
        await expect(page.locator("#lead-name")).to_have_text("Boris Ivanov")
        await expect(page.locator("#lead-number")).to_have_text("+12125550143")
        cid = h.daemon.engine.roster.get("ann").call_id
        h.daemon.agent_command(Login("bob", "1002", h.campaign))
        h.daemon.agent_command(Ready("bob"))
        await page.click("#btn-transfer")
        await page.select_option("#transfer-target", "bob")
        await page.click("#btn-transfer-go")
        await expect(page.locator("#state-label")).to_have_text("Wrap-up")
        await expect(page.locator("#banner-notice")).to_contain_text("Call transferred")
        await h.wait_state("bob", "talking")  # the PBX bridged the customer to bob's phone
        await page.click('[data-code="language_barrier"]')
        await page.fill("#notes", "speaks Czech")
        await page.click("#btn-save")
        await expect(page.locator("#state-label")).to_have_text("Ready")
        await h.hangup_customer(cid)
        await h.wait_state("bob", "wrapup")
        h.daemon.agent_command(Disposition("bob", cid, "sale", {}, ("opening",)))
        rec = await h.call_record(cid)
        [(_id, note)] = await h.daemon.store.r.xrange(h.daemon.store.key("transfer_dispositions"))
        [(_id, skip)] = await h.daemon.store.r.xrange(h.daemon.store.key("preview_skips"))
    assert (rec["outcome"], rec["kind"], rec["lead_id"], rec["agent_id"], rec["transferred_from"]) == (
        "connected", "preview", "L43", "bob", "ann")
    assert (rec["disposition"], json.loads(rec["script_path"])) == ("sale", ["opening"])
    assert (note["agent_id"], note["disposition"], json.loads(note["disposition_fields"])) == (
        "ann", "language_barrier", {"notes": "speaks Czech"})
    assert (skip["lead_id"], skip["reason"]) == ("L42", "bad_data")


async def test_manual_dial_is_refused_for_a_dnc_number_and_placed_for_another(browser, redis_url):
    async with DeskHarness(redis_url=redis_url, pbx=True, dnc=["+12125550199"]) as h, desk_page(browser, h) as page:
        await page.fill("#manual-number", "+1 212 555 0199")
        await page.click("#btn-manual-dial")
        await expect(page.locator("#banner-error")).to_contain_text("do-not-call")
        assert h.daemon.engine.stats.placed == 0
        await page.fill("#manual-number", "+1 212 555 0177")
        await page.click("#btn-manual-dial")
        await expect(page.locator("#state-label")).to_have_text("Talking")
        await expect(page.locator("#lead-number")).to_have_text("+12125550177")
        cid = h.daemon.engine.roster.get("ann").call_id
        await h.hangup_customer(cid)
        await expect(page.locator("#banner-hungup")).to_be_visible()
        await expect(page.locator("#state-label")).to_have_text("Wrap-up")
        await page.click('[data-code="wrong_number"]')
        await page.click("#btn-save")
        await expect(page.locator("#state-label")).to_have_text("Paused")  # back to the pause it dialed from
        rec = await h.call_record(cid)
    assert (rec["outcome"], rec["kind"], rec["number"], rec["agent_id"], rec["disposition"]) == (
        "connected", "manual", "+12125550177", "ann", "wrong_number")


async def test_a_transfer_to_a_busy_phone_comes_back_to_the_agent_with_the_reason(browser, redis_url):
    async with DeskHarness(redis_url=redis_url, pbx=True) as h, desk_page(browser, h) as page:
        assert h.sim is not None
        await page.fill("#manual-number", "+1 212 555 0177")
        await page.click("#btn-manual-dial")
        await expect(page.locator("#state-label")).to_have_text("Talking")
        cid = h.daemon.engine.roster.get("ann").call_id
        h.daemon.agent_command(Login("bob", "1002", h.campaign))
        h.daemon.agent_command(Ready("bob"))
        h.sim.set_phone("1002", "busy")  # bob's phone refuses the call
        await page.click("#btn-transfer")
        await page.select_option("#transfer-target", "bob")
        await page.click("#btn-transfer-go")
        await expect(page.locator("#banner-notice")).to_contain_text(
            "Transfer failed: busy (bob). The customer is coming back to you.")
        await expect(page.locator("#state-label")).to_have_text("Talking")  # the customer is back on ann's phone
        await expect(page.locator("#lead-number")).to_have_text("+12125550177")
        await h.hangup_customer(cid)
        await expect(page.locator("#banner-hungup")).to_be_visible()
        await expect(page.locator("#state-label")).to_have_text("Wrap-up")
        await page.click('[data-code="wrong_number"]')
        await page.click("#btn-save")
        await expect(page.locator("#state-label")).to_have_text("Paused")
        rec = await h.call_record(cid)
    assert (rec["outcome"], rec["agent_id"], rec["transferred_from"], rec["transfer_failures"]) == (
        "connected", "ann", "", "bob: busy")
    assert (rec["disposition"], rec["abandoned"]) == ("wrong_number", "0")


async def test_a_pause_while_previewing_takes_the_lead_off_the_screen(browser, redis_url):
    # the lead goes back to the hopper on the pause; its card must not stay up with a Dial button
    from agents.commands import Pause

    async with DeskHarness(redis_url=redis_url, pbx=True, mode=Mode.PREVIEW, leads=LEADS) as h, \
            desk_page(browser, h) as page:
        await go_ready(page)
        await h.daemon.offer_previews(h.campaign)
        await expect(page.locator("#preview-card")).to_be_visible()
        h.daemon.agent_command(Pause("ann", "break"))
        await expect(page.locator("#state-label")).to_have_text("Paused")
        await expect(page.locator("#preview-card")).to_be_hidden()
