"""The jurors' and administrators' journeys of issue 15 in a real browser, at a desktop's and a
390 px phone's width: the header and the dashboard fit a phone, the stale-tab dialog merges and
lets the juror choose, and axe finds no violation of any impact on the pages they touch.

Set SCREENSHOTS=/some/dir to keep a screenshot of every page visited, at both widths."""

import os
import re
from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

from judging.extensions import db
from judging.models import utcnow

from .fixtures.browser import (
    expect_saved,
    expect_scores,
    log_in_on_page,
    open_evaluation,
    score,
    stored,
)

pytestmark = pytest.mark.browser

AWARD = "excellence-award"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
TIMEOUT_MS = 15_000
SHOTS = os.environ.get("SCREENSHOTS")


@pytest.fixture
def admin(make_user):
    return make_user(role="admin", name="Ada Admin")


def context_at(browser, viewport):
    context = browser.new_context(viewport=viewport)
    context.set_default_timeout(TIMEOUT_MS)
    return context


@pytest.fixture
def phone(browser):
    context = context_at(browser, PHONE)
    yield context
    context.close()


@pytest.fixture
def tablet(browser):
    context = context_at(browser, {"width": 820, "height": 1180})
    yield context
    context.close()


def violations(page) -> list[str]:
    """Every axe violation, whatever its impact."""
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at "
        + "; ".join(", ".join(node["target"]) for node in v["nodes"])
        for v in Axe().run(page).response["violations"]
    ]


def check(page, name: str) -> None:
    """axe finds nothing on the page; its screenshot is kept when SCREENSHOTS is set."""
    if SHOTS:
        width = page.viewport_size["width"]
        page.screenshot(path=str(Path(SHOTS) / f"{name}-{width}.png"), full_page=True)
    found = violations(page)
    assert not found, f"{name}:\n" + "\n".join(found)


def box(locator):
    found = locator.bounding_box()
    assert found is not None, locator
    return found


def same_line(a, b) -> bool:
    """Two boxes on one line: their vertical middles within a few pixels."""
    return abs((a["y"] + a["height"] / 2) - (b["y"] + b["height"] / 2)) < 8


# --- A phone, 390 px --------------------------------------------------------------------------


def test_on_a_phone_the_header_keeps_log_out_on_the_menus_line(phone, live_server, juror, admin):
    page = phone.new_page()
    for user, landing in ((juror, "/jury/"), (admin, "/admin/")):
        log_in_on_page(page, live_server, user, landing)
        nav = page.get_by_role("navigation", name="Main")
        first = box(nav.get_by_role("link").first)
        log_out = box(nav.get_by_role("button", name="Log out"))
        assert same_line(first, log_out), (first, log_out)
        assert log_out["x"] + log_out["width"] <= PHONE["width"]
        # Nothing scrolls sideways.
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        page.get_by_role("button", name="Log out").click()


def test_on_a_phone_the_dashboard_gives_long_titles_the_width(
    phone, live_server, juror, make_evaluation, award
):
    page = phone.new_page()
    log_in_on_page(page, live_server, juror, "/jury/")
    check(page, "dashboard")
    longest = page.locator(".nominee-row-title").filter(has_text="Local Government Network")
    title = box(longest)
    line = float(longest.evaluate("e => parseFloat(getComputedStyle(e).lineHeight)"))
    assert title["height"] <= 5.5 * line, f"{title['height'] / line:.1f} lines"  # was 11
    assert title["width"] >= 0.75 * PHONE["width"], title
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


def test_on_a_phone_the_pager_keeps_previous_and_next_on_one_line(phone, live_server, juror):
    page = phone.new_page()
    log_in_on_page(page, live_server, juror, "/jury/")
    page.locator(".nominee-list a").nth(1).click()
    expect(page.locator("#evaluation-form")).to_be_visible()
    pager = page.get_by_role("navigation", name="Nominees")
    previous = box(pager.get_by_role("link", name="← Previous"))
    following = box(pager.get_by_role("link", name="Next →"))
    assert same_line(previous, following), (previous, following)
    check(page, "evaluation")


# --- The stale-tab dialog -------------------------------------------------------------------


def two_tabs(tablet, live_server, juror, make_evaluation, award, **first):
    nominee = next(n for n in award.nominees if n.slug == "omapu")
    make_evaluation(nominee, juror, {"innovation": 5, "impact": 6}, **first)
    a = tablet.new_page()
    log_in_on_page(a, live_server, juror, "/jury/")
    open_evaluation(a, live_server, "omapu")
    b = tablet.new_page()
    open_evaluation(b, live_server, "omapu")
    return a, b


def test_a_stale_tab_asks_even_when_the_changes_are_to_different_criteria(
    tablet, live_server, juror, make_evaluation, award
):
    a, b = two_tabs(tablet, live_server, juror, make_evaluation, award)
    score(a, "innovation", 8)
    expect_saved(a)
    score(b, "impact", 2)  # B is stale, and changed another criterion
    notice = b.locator("#conflict-notice")
    expect(notice).to_be_visible()
    # Nothing is combined behind the juror's back: the saved version is untouched meanwhile.
    assert stored(juror, "omapu").scores == {"innovation": 8, "impact": 6}
    # Each side's own change is ticked for them: innovation from A, impact from this page.
    expect(
        notice.get_by_label(re.compile(r"^Innovation: keep the one saved elsewhere"))
    ).to_be_checked()
    expect(notice.get_by_label(re.compile(r"^Impact: keep yours"))).to_be_checked()
    check(b, "stale-tab-different-criteria")
    notice.get_by_role("button", name="Keep the answers chosen").click()
    expect(notice).to_have_count(0)
    expect_saved(b)
    expect_scores(b, {"innovation": 8, "impact": 2})
    state = stored(juror, "omapu")
    assert (state.scores, state.version) == ({"innovation": 8, "impact": 2}, 3)


def test_a_stale_tab_lets_the_juror_choose_answer_by_answer(
    tablet, live_server, juror, make_evaluation, award
):
    a, b = two_tabs(tablet, live_server, juror, make_evaluation, award)
    score(a, "innovation", 8)
    score(a, "impact", 9)
    a.get_by_label("Overall comment").fill("Saved in tab A.")
    expect_saved(a)

    b.get_by_label("Overall comment").fill("Typed in tab B.")
    score(b, "innovation", 3)
    score(b, "impact", 1)
    notice = b.locator("#conflict-notice")
    expect(notice).to_be_visible()
    expect(notice.get_by_role("row")).to_have_count(4)  # header, innovation, impact, comment
    check(b, "stale-tab")
    # Nothing overwritten while the juror decides, and nothing they typed is gone.
    expect(b.locator("#comment")).to_have_value("Typed in tab B.")
    assert stored(juror, "omapu").scores == {"innovation": 8, "impact": 9}

    notice.get_by_label(re.compile(r"^Impact: keep the one saved elsewhere")).check()
    notice.get_by_role("button", name="Keep the answers chosen").click()
    expect(notice).to_have_count(0)
    expect_saved(b)
    expect_scores(b, {"innovation": 3, "impact": 9})
    expect(b.locator("#comment")).to_have_value("Typed in tab B.")
    state = stored(juror, "omapu")
    assert state.scores == {"innovation": 3, "impact": 9}
    assert state.comment == "Typed in tab B."


# --- Conflict of interest, closed scoring ---------------------------------------------------


def test_declaring_a_conflict_is_confirmed_on_a_page_of_its_own(phone, live_server, juror):
    page = phone.new_page()
    log_in_on_page(page, live_server, juror, "/jury/")
    open_evaluation(page, live_server, "jus-app")
    page.get_by_text("Declare a conflict of interest").click()
    page.get_by_label("Why?").fill("I advised this project in 2022.")
    page.get_by_role("button", name="Declare the conflict…").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Declare a conflict of interest")
    expect(page.get_by_text("only they can lift it")).to_be_visible()
    check(page, "confirm-conflict")
    page.get_by_role("button", name="No, go back to the evaluation").click()
    expect(page.get_by_label("Why?")).to_have_value("I advised this project in 2022.")
    page.get_by_role("button", name="Declare the conflict…").click()
    page.get_by_role("button", name="Yes, declare the conflict").click()
    expect(page).to_have_url(f"{live_server.url}/jury/")
    expect(page.locator(".flash")).to_contain_text("only they can lift it")


def test_pages_after_scoring_closes_pass_axe(browser, live_server, juror, award, make_evaluation):
    for nominee in award.nominees:
        make_evaluation(
            nominee,
            juror,
            {
                "innovation": 7,
                "impact": 7,
                "person-centred": 7,
                "sustainability": 7,
                "transferability": 7,
            },
            submitted=True,
        )
    for viewport in (DESKTOP, PHONE):
        context = context_at(browser, viewport)
        page = context.new_page()
        log_in_on_page(page, live_server, juror, "/jury/")
        expect(page.locator(".all-done")).to_be_visible()
        check(page, "dashboard-done")
        context.close()
    award.status = "closed"
    award.scoring_closes_at = utcnow()
    db.session.commit()
    for viewport in (DESKTOP, PHONE):
        context = context_at(browser, viewport)
        page = context.new_page()
        log_in_on_page(page, live_server, juror, "/jury/")
        page.goto(f"{live_server.url}/jury/awards/{AWARD}/nominees/omapu")
        expect(page.get_by_text("this evaluation is read-only")).to_be_visible()
        expect(page.get_by_role("button", name="Submit changes")).to_have_count(0)
        check(page, "evaluation-closed")
        context.close()


# --- The administrator's pages --------------------------------------------------------------


def test_the_administrators_pages_pass_axe_at_both_widths(
    browser, live_server, admin, make_user, award
):
    make_user(
        name="Maria Costa",
        email="firstname.lastname@municipality.example.org",
        invited=True,
        awards=[award],
    )
    award.status = "draft"
    db.session.commit()
    for viewport in (DESKTOP, PHONE):
        context = context_at(browser, viewport)
        page = context.new_page()
        log_in_on_page(page, live_server, admin, "/admin/")
        page.goto(f"{live_server.url}/admin/people")
        check(page, "people")
        # The table scrolls inside its frame; the page itself never scrolls sideways.
        assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
        page.get_by_label("Search by name or email").fill("costa")
        page.get_by_role("button", name="Search", exact=True).click()
        expect(page.get_by_text("1 of 2 people matches “costa”.")).to_be_visible()
        check(page, "people-search")
        page.get_by_role("button", name="Resend invitation…").click()
        expect(page.get_by_text("stops working at once")).to_be_visible()
        check(page, "confirm-resend")
        page.goto(f"{live_server.url}/admin/awards/{AWARD}")
        page.get_by_role("button", name="Open scoring").click()
        expect(page.get_by_text("No juror has accepted the invitation yet")).to_be_visible()
        check(page, "confirm-open")
        page.goto(f"{live_server.url}/admin/awards/{AWARD}")
        check(page, "award")
        page.goto(f"{live_server.url}/admin/awards/{AWARD}/jury")
        check(page, "jury")
        page.goto(f"{live_server.url}/admin/awards/{AWARD}/settings")
        expect(page.get_by_label(re.compile(r"Scoring closes \(UTC time\)"))).to_be_visible()
        check(page, "award-settings")
        page.goto(f"{live_server.url}/nowhere")
        expect(page.get_by_role("heading", name="Page not found")).to_be_visible()
        check(page, "404")
        context.close()


def test_an_accepted_invitation_page_passes_axe(browser, live_server, make_user):
    from judging.models import AccountToken
    from judging.services.notifications import invitation_link

    from .fixtures.domain import PASSWORD_HASH

    invited = make_user(invited=True)
    link = invitation_link(invited)
    # Accepted since: the password is chosen and the link spent.
    invited.password_hash = PASSWORD_HASH
    db.session.scalar(db.select(AccountToken)).used_at = utcnow()
    db.session.commit()
    context = context_at(browser, PHONE)
    page = context.new_page()
    page.goto(live_server.url + "/" + link.split("/", 3)[3])
    expect(page.get_by_role("heading", name="Your account is ready")).to_be_visible()
    check(page, "invitation-ready")
    page.get_by_role("main").get_by_role("link", name="Log in").click()
    expect(page).to_have_url(f"{live_server.url}/login")
    context.close()


def test_the_time_of_a_save_is_in_the_sites_zone_like_the_rest(app, tablet, live_server, juror):
    app.config["TIME_ZONE"] = "Asia/Tokyo"  # no summer time: always JST, UTC+9
    page = tablet.new_page()
    log_in_on_page(page, live_server, juror, "/jury/")
    open_evaluation(page, live_server, "omapu")
    score(page, "impact", 4)
    expect(page.locator("#save-status")).to_have_text(
        re.compile(r"^Saved at \d\d:\d\d (JST|GMT\+9)$")
    )
    page.reload()  # the server's rendering says the same
    expect(page.locator("#save-status")).to_have_text(re.compile(r"^Saved at \d\d:\d\d JST$"))
