"""The public pages in a real browser, from phone to desktop, with and without JavaScript."""

import pytest

pytestmark = pytest.mark.browser


def test_award_page_shows_thirteen_cards_on_a_tablet(page, live_server, seeded_award):
    page.goto(f"{live_server.url}/awards/excellence-award")
    cards = page.locator(".card")
    assert cards.count() == 13
    first = cards.first
    assert first.locator("h3").inner_text() == seeded_award.nominees[0].title
    assert "Gothenburg, Sweden" in first.inner_text()


def test_phone_shows_one_column_without_sideways_scrolling(browser, live_server, seeded_award):
    context = browser.new_context(viewport={"width": 375, "height": 740}, is_mobile=True)
    page = context.new_page()
    page.goto(f"{live_server.url}/awards/excellence-award")
    lefts = page.locator(".card").evaluate_all(
        "cards => cards.map(c => c.getBoundingClientRect().left)"
    )
    assert len(set(lefts)) == 1
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    context.close()


def test_desktop_shows_several_columns(browser, live_server, seeded_award):
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    page = context.new_page()
    page.goto(f"{live_server.url}/awards/excellence-award")
    lefts = page.locator(".card").evaluate_all(
        "cards => cards.map(c => c.getBoundingClientRect().left)"
    )
    assert len(set(lefts)) >= 3
    context.close()


def test_the_site_is_usable_without_javascript(browser, live_server, seeded_award):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(live_server.url)
    page.get_by_role("link", name="Excellence Award: Cities Innovation for Social Change").click()
    page.get_by_role("link", name="EVIKOMP").click()
    assert page.get_by_role("heading", level=1).inner_text() == "EVIKOMP"
    assert "Linköping, Sweden" in page.content()
    context.close()


def test_no_request_leaves_the_machine(page, live_server, seeded_award):
    requested = []
    page.on("request", lambda request: requested.append(request.url))
    page.goto(f"{live_server.url}/awards/excellence-award")
    page.goto(f"{live_server.url}/awards/excellence-award/nominees/omapu")
    assert requested
    assert all(url.startswith(live_server.url) for url in requested), requested
