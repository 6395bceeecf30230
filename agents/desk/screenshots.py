"""Screenshots of the agent desktop for the docs: `python -m agents.desk.screenshots [--out DIR]`.

Runs the desk in this process (`DeskHarness`: fake AMI, private Redis, real HTTP; the PBX simulator for the
preview pictures), drives Debian's Chromium with Playwright through a short shift of one agent, and saves
what the agent sees:

    01-login.png       the login form
    02-ready.png       ready, waiting for the next call
    03-screenpop.png   a call handed over: the lead, previous contacts, the script at an objection
    04-refusal.png     the refusal step with the reasons operators record for a device offer
    05-wrapup.png      the customer hung up: wrap-up countdown, callback picker, notes
    06-preview.png     preview mode: the lead before dialing, with Dial / Skip and a skip reason
    07-transfer.png    a previewed call connected (through the PBX simulator), blind transfer to a colleague

Needs the dev extras (playwright) and /usr/bin/chromium (`apt-get install -y chromium`).
"""

from __future__ import annotations

import argparse
import asyncio
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from agents.commands import Login, Ready
from agents.desk.harness import DeskHarness
from dialer.engine.core import DialRequest
from pacing import Mode

__all__ = ["take_screenshots"]

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
LEAD = {"first_name": "Anna", "last_name": "Novak", "tariff": "Unlimited Plus", "arpu": "64.90",
        "tenure_months": "41", "device": "Galaxy S9", "subscriber_id": "S-100245"}


async def take_screenshots(out: Path, chromium: str = "/usr/bin/chromium") -> list[Path]:
    """Save the screenshots into the existing folder `out`; return their paths."""
    from playwright.async_api import async_playwright, expect

    shots: list[Path] = []

    async def shot(page: Any, name: str) -> None:
        path = out / name
        await page.mouse.move(0, 0)  # no hover effects in the pictures
        await page.screenshot(path=str(path), full_page=True)
        shots.append(path)

    async with DeskHarness() as h, async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS, headless=True)
        context = await browser.new_context(viewport={"width": 1440, "height": 900}, device_scale_factor=1,
                                            timezone_id="Europe/Prague", locale="en-GB")
        page = await context.new_page()
        await page.goto(f"{h.base_url}/desk")
        await expect(page.locator("#login-view")).to_be_visible()
        await page.fill("#login-agent", "ann")
        await page.fill("#login-password", "ann-secret-1")
        await shot(page, "01-login.png")
        await page.click("#login-submit")
        await expect(page.locator("#conn")).to_have_attribute("data-status", "live")

        # An earlier contact with the same subscriber, so the screen-pop shows a history.
        await page.click("#btn-ready")
        await expect(page.locator("#state-label")).to_have_text("Ready")
        earlier = h.place_call(LEAD, number="+12125550123", lead_id="L100245")
        h.human(earlier)
        h.bridge(earlier)
        h.hangup(earlier)
        await expect(page.locator("#state-label")).to_have_text("Wrap-up")
        await page.click('[data-code="callback"]')
        await page.fill("#callback-at", (datetime.now() + timedelta(hours=3)).strftime("%Y-%m-%dT%H:00"))
        await page.fill("#notes", "Busy driving; asked for a call this afternoon.")
        await page.click("#btn-save")
        await expect(page.locator("#state-label")).to_have_text("Ready")
        await shot(page, "02-ready.png")

        cid = h.place_call(LEAD, number="+12125550123", lead_id="L100245", attempt=2)
        h.human(cid)
        h.bridge(cid)
        await expect(page.locator("#lead-name")).to_have_text("Anna Novak")
        await page.click('[data-step="offer_premium"]')
        await page.click('[data-step="obj_min_spend"]')
        await expect(page.locator("#step-customer")).to_be_visible()
        await shot(page, "03-screenpop.png")

        await page.click('[data-step="refuse"]')
        await page.click('[data-reason="see_device_first"]')
        await shot(page, "04-refusal.png")

        await page.click("#btn-back")
        await page.locator("body").press("4")
        tomorrow = (datetime.now() + timedelta(days=1)).replace(hour=18, minute=30)
        await page.fill("#callback-at", tomorrow.strftime("%Y-%m-%dT%H:%M"))
        await page.check('input[name="callback-owner"][value="anyone"]')
        await page.fill("#notes", "Interested, wants to talk it over with her husband. Any agent may call.")
        h.hangup(cid)
        await expect(page.locator("#banner-hungup")).to_be_visible()
        await expect(page.locator("#wrapup")).to_be_visible()
        await shot(page, "05-wrapup.png")
        await browser.close()

    leads = [DialRequest("L100245", "+12125550123", attempt=2, fields=LEAD)]
    async with DeskHarness(pbx=True, mode=Mode.PREVIEW, leads=leads) as h, async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS, headless=True)
        context = await browser.new_context(viewport={"width": 1440, "height": 900}, device_scale_factor=1,
                                            timezone_id="Europe/Prague", locale="en-GB")
        page = await context.new_page()
        await page.goto(f"{h.base_url}/desk")
        await page.fill("#login-agent", "ann")
        await page.fill("#login-password", "ann-secret-1")
        await page.click("#login-submit")
        await expect(page.locator("#conn")).to_have_attribute("data-status", "live")
        await page.click("#btn-ready")
        await h.daemon.offer_previews(h.campaign)
        await expect(page.locator("#preview-card")).to_be_visible()
        await page.select_option("#preview-skip-reason", "already_contacted")
        await shot(page, "06-preview.png")
        h.daemon.agent_command(Login("bob", "1002", h.campaign))
        h.daemon.agent_command(Ready("bob"))
        await page.click("#btn-preview-dial")
        await expect(page.locator("#state-label")).to_have_text("Talking")
        await page.click('[data-step="offer_premium"]')
        await page.click("#btn-transfer")
        await page.select_option("#transfer-target", "bob")
        await shot(page, "07-transfer.png")
        await browser.close()
    return shots


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m agents.desk.screenshots", description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=Path("docs/screenshots"), help="folder for the PNG files")
    parser.add_argument("--chromium", default="/usr/bin/chromium", help="Chromium executable")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    for path in asyncio.run(take_screenshots(args.out, args.chromium)):
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
