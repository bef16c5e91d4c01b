"""The results pages in a real browser, at a laptop's and a phone's width: the leaderboard,
the review, the printable sheet, the presenter and the public results of an award whose vote
counts for 30%. axe-core finds no violation of any impact, and no ranking table is wider than
the page unless its scroll box can be reached by keyboard.

SCREENSHOT_DIR=/some/dir keeps a full-page screenshot of every page at both widths.
"""

import os
import re
from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

from judging.extensions import db
from judging.services import publication

from .fixtures.browser import log_in_on_page
from .fixtures.results import AWARD, fresh, vote_then_close

pytestmark = pytest.mark.browser

TIMEOUT_MS = 15_000
WIDTHS = {"laptop": {"width": 1280, "height": 860}, "phone": {"width": 390, "height": 844}}
PAGES = {
    "leaderboard": f"/admin/awards/{AWARD}/leaderboard",
    "review": f"/admin/awards/{AWARD}/review",
    "sheet": f"/awards/{AWARD}/results/sheet",
    "present": f"/admin/awards/{AWARD}/present",
    "results": f"/awards/{AWARD}/results",
}


def violations(page) -> list[str]:
    """Every axe-core violation, whatever its impact."""
    found = Axe().run(page).response["violations"]
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at "
        + "; ".join(", ".join(node["target"]) for node in v["nodes"])
        for v in found
    ]


def unreachable_overflow(page) -> list[str]:
    """Tables wider than their box whose scroll box is not a keyboard stop."""
    return page.evaluate(
        """() => Array.from(document.querySelectorAll('table')).flatMap((table) => {
          const box = table.closest('.table-scroll') || table.parentElement;
          const wide = table.scrollWidth > box.clientWidth + 1;
          return wide && box.tabIndex < 0 ? [table.className + ': ' + table.scrollWidth
            + ' px in ' + box.clientWidth + ' px'] : [];
        })"""
    )


def screenshots(page, stem: Path, height: int = 1200) -> None:
    """The whole page in slices of `height` px (one long image is unreadable)."""
    total = page.evaluate("document.documentElement.scrollHeight")
    width = page.evaluate("document.documentElement.scrollWidth")
    for n, top in enumerate(range(0, total, height)):
        clip = {"x": 0, "y": top, "width": width, "height": min(height, total - top)}
        page.screenshot(path=f"{stem}-{n}.png", full_page=True, clip=clip)


@pytest.mark.parametrize("published", [False, True], ids=["before", "after"])
def test_the_results_pages_pass_axe_at_laptop_and_phone_width(
    browser, live_server, admin_client, scored, published
):
    vote_then_close(admin_client, scored)
    if published:
        publication.publish(fresh(scored), actor=None)
        db.session.commit()
    shots = os.environ.get("SCREENSHOT_DIR")
    problems = []
    for size, viewport in WIDTHS.items():
        context = browser.new_context(viewport=viewport)
        context.set_default_timeout(TIMEOUT_MS)
        try:
            page = context.new_page()
            log_in_on_page(page, live_server, admin_client.admin, "/admin/")
            for name, path in PAGES.items():
                page.goto(live_server.url + path)
                if name == "present":  # the first place revealed: last place, final score
                    page.keyboard.press("ArrowRight")
                    slide = page.locator("#stage .slide:visible")
                    expect(slide.locator(".reveal-score-label")).to_have_text(
                        "Final score (jury 70% + vote 30%) "
                    )
                problems += [f"{name} at {size}: {v}" for v in violations(page)]
                problems += [f"{name} at {size}: {t}" for t in unreachable_overflow(page)]
                if shots:
                    state = "published" if published else "provisional"
                    screenshots(page, Path(shots) / f"{name}-{state}-{viewport['width']}")
        finally:
            context.close()
    assert not problems, "\n".join(problems)


def test_the_leaderboard_fits_the_page_and_lines_up_with_the_header(
    browser, live_server, admin_client, scored
):
    vote_then_close(admin_client, scored)
    context = browser.new_context(viewport=WIDTHS["laptop"])
    context.set_default_timeout(TIMEOUT_MS)
    try:
        page = context.new_page()
        log_in_on_page(page, live_server, admin_client.admin, "/admin/")
        page.goto(live_server.url + PAGES["leaderboard"])
        header = page.locator(".site-header .wrap").bounding_box()
        main = page.locator("main").bounding_box()
        assert abs(header["x"] - main["x"]) < 1 and abs(header["width"] - main["width"]) < 1
        for table in page.locator("main table").all():
            width = table.evaluate("t => [t.scrollWidth, t.closest('.table-scroll').clientWidth]")
            assert width[0] <= width[1], width
    finally:
        context.close()


@pytest.mark.parametrize("with_vote", [False, True], ids=["jury", "vote"])
def test_the_sheet_prints_on_one_a4_page(browser, live_server, admin_client, scored, with_vote):
    if with_vote:
        vote_then_close(admin_client, scored)
    publication.publish(fresh(scored), actor=None)
    db.session.commit()
    context = browser.new_context(viewport=WIDTHS["laptop"])
    try:
        page = context.new_page()
        page.goto(live_server.url + PAGES["sheet"])
        expect(page.locator(".sheet-ranking tbody tr")).to_have_count(13)
        if os.environ.get("SCREENSHOT_DIR"):
            page.set_viewport_size({"width": 680, "height": 1013})  # A4 less margins
            page.emulate_media(media="print")
            name = f"sheet-print-{'vote' if with_vote else 'jury'}"
            screenshots(page, Path(os.environ["SCREENSHOT_DIR"]) / name, height=1123)
        pdf = page.pdf(format="A4", prefer_css_page_size=True, print_background=True)
        assert len(re.findall(rb"/Type\s*/Page[^s]", pdf)) == 1
    finally:
        context.close()
