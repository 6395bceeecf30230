"""The wallboard and reports pages in headless Chromium (Debian's `chromium`, driven by Playwright).

Screenshots go to a temporary folder; set SUPERVISOR_SCREENSHOTS=docs/screenshots to refresh the ones in
the docs."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
from sup_fakes import AFTERNOON, AUTH, TOKENS, live_server, make_rig, scene, settings

from agents.state import AgentEvent
from dialer.config import AgentAccount, CampaignSettings, PacingSettings
from dialer.http import build_app
from dialer.store import connect_redis
from pacing import Mode

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]

pytestmark = [
    pytest.mark.skipif(shutil.which(CHROMIUM) is None,
                       reason=f"{CHROMIUM} is missing: apt-get install -y chromium to run browser tests"),
    pytest.mark.asyncio(loop_scope="module"),
]
playwright_api = pytest.importorskip("playwright.async_api",
                                     reason="playwright is not installed (pip install -e .[dev])")

NAMES = ["Maria Lopez", "James Chen", "Aisha Khan", "Tom Becker", "Sofia Rossi", "Omar Haddad", "Lena Novak",
         "Raj Patel", "Chloe Martin", "Ivan Petrov", "Grace Kim", "Noah Wilson"]


def shots_dir(tmp_path: Path) -> Path:
    target = os.environ.get("SUPERVISOR_SCREENSHOTS")
    return Path(target) if target else tmp_path


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def board(redis_url):
    """One daemon, server and Chromium for the module (starting Chromium is most of the cost)."""
    cfg = settings([CampaignSettings(id="upsell", name="Fiber 1000 upsell",
                                     pacing=PacingSettings(mode=Mode.POWER, ratio=1.5)),
                    CampaignSettings(id="winback", name="Win-back (price)",
                                     pacing=PacingSettings(mode=Mode.PREDICTIVE))])
    cfg.agents = [AgentAccount(id=f"a{i + 1:02d}", name=n, extension=f"10{i + 1:02d}", password="x")
                  for i, n in enumerate(NAMES)] + [
        AgentAccount(id="b01", name="Elena Garcia", extension="2001", password="x"),
        AgentAccount(id="b02", name="Marcus Brown", extension="2002", password="x")]
    redis = connect_redis(redis_url)
    rig = make_rig(redis, cfg=cfg, start=AFTERNOON)
    scene(rig)
    await rig.flush()
    async with live_server(build_app(rig.daemon)) as url, playwright_api.async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield rig, url, browser
        finally:
            await browser.close()
            await redis.aclose()


@pytest_asyncio.fixture(loop_scope="module")
async def page(board):
    rig, url, browser = board
    p = await browser.new_page(viewport={"width": 1600, "height": 1000})
    try:
        yield rig, url, p
    finally:
        await p.close()


async def test_wallboard_shows_the_shift_and_follows_changes_live(page, tmp_path):
    _rig, url, page = page
    await page.goto(f"{url}/wallboard#token={TOKENS['read-only']}")
    await page.wait_for_selector("body[data-ready='1']", timeout=10_000)
    assert "#token" not in page.url  # the token leaves the address bar
    cards = page.locator("article.campaign")
    assert await cards.count() == 2
    upsell = cards.filter(has_text="Fiber 1000 upsell")
    assert "power 1.50:1" in await upsell.locator(".mode").inner_text()
    assert await upsell.locator(".badge").inner_text() == "RUNNING"
    winback = cards.filter(has_text="Win-back")
    assert await winback.locator(".blocked").inner_text() == "Not dialing: hopper empty"
    assert await upsell.locator(".gauge.over").count() == 1  # the last 15 minutes are over the cap
    assert "(legal)" in await upsell.locator(".gauge.legal .gname").inner_text()
    agents = page.locator(".agent")
    assert await agents.count() == 14
    assert await page.locator(".agent.talking").count() == 7
    maria = page.locator(".agent[data-agent='a01']")
    assert "Maria Lopez" in await maria.inner_text()
    assert await page.locator(".agent.alert[data-agent='a10']").count() == 1  # paused 18 minutes
    assert await page.locator(".agent.alert[data-agent='a06']").count() == 1  # talking 11 minutes
    assert await page.locator(".agent.warn[data-agent='a04']").count() == 1  # talking 6 minutes
    shots = shots_dir(tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(shots / "wallboard.png"), full_page=True)

    # timers count on in the page between snapshots
    before = await maria.locator(".atimer").inner_text()
    await page.wait_for_function(
        "([a, t]) => document.querySelector(`.agent[data-agent='${a}'] .atimer`).textContent !== t",
        arg=["a01", before], timeout=5_000)

    # every pause reads in the server's words: an agent's own with the label of [desk] pause_reasons, one the
    # dialer set itself as a supervisor says it; a code the config no longer lists shows as it is
    assert await page.locator(".agent[data-agent='a11'] .anote").inner_text() == "Coaching"
    roster = _rig.engine.roster
    a11 = roster.get("a11")
    at = a11.since  # the moves below keep the agent's timer where it is
    for code, words in (("wrapup_timeout", "wrap-up ran out"), ("smoke", "smoke")):
        roster.apply("a11", AgentEvent.PAUSE, at, reason=code)
        await page.wait_for_function(
            "([w]) => document.querySelector(`.agent[data-agent='a11'] .anote`).textContent === w",
            arg=[words], timeout=5_000)
    roster.apply("a11", AgentEvent.PAUSE, at, reason="coaching")  # the module's other tests share the scene
    # an agent with a lead (or their own callback) on screen reads as previewing, among the working ones
    roster.apply("a11", AgentEvent.READY, at)  # at once: no call can reach the agent between the two
    roster.apply("a11", AgentEvent.PREVIEW, at)
    await page.wait_for_function(
        "() => document.querySelector(`.agent[data-agent='a11'] .astate`).textContent === 'previewing'",
        timeout=5_000)
    assert "1 previewing" in await page.locator("#agent-summary").inner_text()
    roster.apply("a11", AgentEvent.SKIP, at)
    roster.apply("a11", AgentEvent.PAUSE, at, reason="coaching")

    # a supervisor pauses the campaign elsewhere: the page shows it without reloading
    async with httpx.AsyncClient(base_url=url) as c:
        r = await c.post("/api/campaigns/upsell/pause", headers=AUTH["supervisor"])
        assert r.status_code == 200
    await page.wait_for_function(
        "() => [...document.querySelectorAll('article.campaign .badge')].some(b => b.textContent === 'paused')",
        timeout=5_000)


async def test_wallboard_asks_for_a_token_and_refuses_a_bad_one(page):
    _rig, url, page = page
    await page.goto(f"{url}/wallboard")
    form = page.locator("#login")
    await form.wait_for(state="visible", timeout=5_000)
    await form.locator("input").fill("not-a-token")
    await form.locator("button").click()
    await page.wait_for_function("() => document.querySelector('#login .why').textContent.includes('unknown API')",
                                 timeout=5_000)
    await form.locator("input").fill(TOKENS["read-only"])
    await form.locator("button").click()
    await page.wait_for_selector("body[data-ready='1']", timeout=10_000)
    assert await page.locator("#conn").inner_text() == "live"


async def test_reports_page_draws_charts_and_tables(page, tmp_path):
    _rig, url, page = page
    await page.goto(f"{url}/reports#token={TOKENS['supervisor']}")
    await page.wait_for_selector("#chart svg", timeout=10_000)
    assert await page.locator("#table tr").count() > 5  # twelve agents and a header
    await page.locator("button.tab", has_text="Abandon compliance").click()
    await page.wait_for_function("() => document.querySelector('#chart svg')?.getAttribute('aria-label')"
                                 "?.startsWith('Abandon rate per day')", timeout=5_000)
    await page.locator("button.tab", has_text="Funnel").click()
    await page.wait_for_function("() => document.querySelector('#chart svg')?.getAttribute('aria-label')"
                                 "?.startsWith('Campaign funnel')", timeout=5_000)
    assert "live answer" in await page.locator("#chart").inner_text()
    await page.screenshot(path=str(shots_dir(tmp_path) / "wallboard-reports.png"), full_page=True)
