"""Ceremony mode in a real browser: the presenter's reveal at projector size, key by key and
with the network gone; the results sheet and the certificate as printed."""

import re

import pytest
from playwright.sync_api import expect

from .fixtures.browser import log_in_on_page
from .fixtures.results import publish, score_all

pytestmark = pytest.mark.browser

PROJECTOR = {"width": 1920, "height": 1080}
TIMEOUT_MS = 15_000  # generous: CI machines are shared and slow at times
TITLE = "Excellence Award: Cities Innovation for Social Change"


@pytest.fixture
def order(seeded_award, make_user, make_evaluation):
    """Every nominee scored, best first: EVIKOMP, then the seeded order."""
    slugs = [n.slug for n in seeded_award.nominees]
    slugs.insert(0, slugs.pop(slugs.index("evikomp")))
    score_all(seeded_award, make_user, make_evaluation, slugs)
    nominees = {n.slug: n for n in seeded_award.nominees}
    return [nominees[slug] for slug in slugs]


@pytest.fixture
def projector(browser):
    context = browser.new_context(viewport=PROJECTOR)
    context.set_default_timeout(TIMEOUT_MS)
    yield context
    context.close()


def on_screen(page):
    """The slide showing now (there is exactly one)."""
    return page.locator("#stage .slide:visible")


def expect_place(page, place: str, nominee) -> None:
    slide = on_screen(page)
    expect(slide).to_have_count(1)
    expect(slide.locator(".slide-kicker")).to_have_text(place)
    expect(slide.locator(".reveal-title")).to_have_text(nominee.title)
    expect(slide.locator(".reveal-place")).to_have_text(f"{nominee.city}, {nominee.country}")
    expect(slide.locator(".reveal-score-value")).to_have_text(re.compile(r"^\d+\.\d\d$"))


def test_the_presenter_reveals_the_ranking_key_by_key_offline(
    projector, live_server, make_user, seeded_award, order
):
    publish(seeded_award)
    page = projector.new_page()
    log_in_on_page(page, live_server, make_user(role="admin"), "/admin/")
    page.goto(f"{live_server.url}/admin/awards/excellence-award/present")
    expect(on_screen(page).locator(".slide-award")).to_have_text(TITLE)
    expect(page.locator("#key-hint")).to_be_visible()
    expect(page.locator("#presenter-fallback")).to_be_hidden()

    # The venue's network drops: nothing more may be asked of the server.
    failed = []
    page.on("requestfailed", lambda request: failed.append(request.url))
    projector.set_offline(True)

    keys = ["Space", "ArrowRight", "PageDown", "Enter"]
    for step, nominee in enumerate(reversed(order[1:])):
        page.keyboard.press(keys[step % len(keys)])
        rank = 13 - step
        expect_place(page, f"{rank}{ {2: 'nd', 3: 'rd'}.get(rank, 'th') } place", nominee)
        expect(page.locator("#key-hint")).to_be_hidden()
    page.keyboard.press("Space")
    expect(on_screen(page)).to_have_text("And the winner is…")
    page.keyboard.press("Space")
    expect_place(page, "Winner", order[0])
    expect(on_screen(page)).to_have_class(re.compile(r"\bslide-winner\b"))
    # Large type: the winner's name is legible from the back of the hall.
    size = on_screen(page).locator(".reveal-title").evaluate("e => getComputedStyle(e).fontSize")
    assert float(size.removesuffix("px")) >= 80
    page.keyboard.press("Space")  # the end: the winner stays
    expect_place(page, "Winner", order[0])

    page.keyboard.press("ArrowLeft")
    expect(on_screen(page)).to_have_text("And the winner is…")
    page.keyboard.press("Backspace")
    expect_place(page, "2nd place", order[1])
    page.keyboard.press("PageUp")
    expect_place(page, "3rd place", order[2])
    page.keyboard.press("Home")
    expect(on_screen(page).locator(".slide-award")).to_have_text(TITLE)
    assert failed == []


def test_the_rehearsal_is_labelled_on_every_slide(projector, live_server, make_user, order):
    page = projector.new_page()
    log_in_on_page(page, live_server, make_user(role="admin"), "/admin/")
    page.goto(f"{live_server.url}/admin/awards/excellence-award/present")
    for _ in range(15):  # the title, 12 places, "And the winner is…", the winner
        expect(on_screen(page).locator(".rehearsal-label")).to_have_text(
            "Rehearsal — not published"
        )
        page.keyboard.press("ArrowRight")
    expect_place(page, "Winner", order[0])


def test_f_puts_the_presenter_in_full_screen(projector, live_server, make_user, order):
    page = projector.new_page()
    log_in_on_page(page, live_server, make_user(role="admin"), "/admin/")
    page.goto(f"{live_server.url}/admin/awards/excellence-award/present")
    page.keyboard.press("f")
    page.wait_for_function("() => document.fullscreenElement === document.documentElement")
    page.keyboard.press("f")
    page.wait_for_function("() => document.fullscreenElement === null")


def test_without_javascript_the_presenter_shows_the_whole_ranking(
    browser, live_server, make_user, seeded_award, order
):
    publish(seeded_award)
    context = browser.new_context(viewport=PROJECTOR, java_script_enabled=False)
    page = context.new_page()
    log_in_on_page(page, live_server, make_user(role="admin"), "/admin/")
    page.goto(f"{live_server.url}/admin/awards/excellence-award/present")
    rows = page.locator(".fallback-ranking li")
    expect(rows).to_have_count(13)
    expect(rows.first).to_contain_text(order[0].title)
    expect(rows.last).to_contain_text(order[-1].title)
    expect(page.locator("#stage")).to_be_hidden()
    context.close()


def test_the_sheet_prints_without_the_site_around_it(page, live_server, seeded_award, order):
    publish(seeded_award)
    page.goto(f"{live_server.url}/awards/excellence-award/results/sheet")
    print_button = page.get_by_role("button", name="Print the sheet")
    expect(print_button).to_be_visible()
    expect(page.locator(".site-header")).to_be_visible()
    expect(page.locator(".sheet-source")).to_be_hidden()

    page.emulate_media(media="print")
    expect(print_button).to_be_hidden()
    expect(page.locator(".site-header")).to_be_hidden()
    expect(page.locator(".breadcrumbs")).to_be_hidden()
    expect(page.locator(".sheet-source")).to_have_text(
        f"{live_server.url}/awards/excellence-award/results"
    )
    expect(page.locator(".sheet-ranking tbody tr")).to_have_count(13)
    expect(page.locator(".sheet-ranking tbody tr").first).to_contain_text(order[0].title)


def test_the_certificate_prints_on_a_landscape_a4_page(
    browser, live_server, make_user, seeded_award, order
):
    publish(seeded_award)
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    log_in_on_page(page, live_server, make_user(role="admin"), "/admin/")
    page.goto(f"{live_server.url}/admin/awards/excellence-award/certificate")
    certificate = page.locator(".certificate")
    expect(certificate).to_have_count(1)
    expect(certificate.locator(".certificate-project")).to_have_text(order[0].title)

    page.emulate_media(media="print")
    expect(page.locator(".site-header")).to_be_hidden()
    expect(page.get_by_role("heading", name="Winner's certificate")).to_be_hidden()
    box = certificate.bounding_box()
    mm = 96 / 25.4  # CSS pixels per millimetre
    assert box["width"] == pytest.approx(297 * mm, abs=1)
    assert box["height"] == pytest.approx(209 * mm, abs=1)
    context.close()
