"""Scoring in a real browser, at a tablet's size: jurors must never lose a typed score.

The journeys of issue 4: an invited juror scores two nominees (a reload in between), two tabs on
one evaluation, a dropped connection, a conflict of interest, the keyboard alone, axe-core, and
the same form without JavaScript.
"""

import re
from urllib.parse import urlsplit

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError
from playwright.sync_api import expect

from judging.extensions import db
from judging.services.accounts import create_user
from judging.services.notifications import invitation_link

from .fixtures.browser import (
    criterion,
    evaluation_url,
    expect_saved,
    expect_scores,
    log_in_on_page,
    open_evaluation,
    score,
    stored,
)
from .fixtures.domain import PASSWORD

pytestmark = pytest.mark.browser

AWARD = "excellence-award"
CRITERIA = ["innovation", "impact", "person-centred", "sustainability", "transferability"]
TABLET = {"width": 820, "height": 1180}
# A broken page should fail its test in seconds, not after Playwright's 30-second default.
TIMEOUT_MS = 15_000  # generous: CI machines are shared and slow at times


# --- Setting the scene -----------------------------------------------------------------------


@pytest.fixture
def tablet(browser):
    """A juror's tablet, portrait: its own cookies and localStorage."""
    context = browser.new_context(viewport=TABLET)
    context.set_default_timeout(TIMEOUT_MS)
    yield context
    context.close()


# --- Acting on the evaluation page ---------------------------------------------------------


def progress_text(page):
    return page.locator(".progress-numbers")


# --- 1. An invited juror scores two nominees ------------------------------------------------


def test_invited_juror_scores_two_nominees_and_a_reload_loses_nothing(
    app, tablet, live_server, award
):
    user = create_user("jane@example.org", "Jane Juror", "juror", actor=None, award_slugs=(AWARD,))
    link = invitation_link(user)
    db.session.commit()

    page = tablet.new_page()
    page.goto(f"{live_server.url}{urlsplit(link).path}")
    expect(page.get_by_role("heading", name="Welcome, Jane Juror")).to_be_visible()
    page.get_by_label("New password").fill("paper kite harbour sunrise")
    page.get_by_label("Repeat the password").fill("paper kite harbour sunrise")
    page.get_by_role("button", name="Set password and continue").click()
    expect(page).to_have_url(f"{live_server.url}/jury/")
    expect(page.get_by_role("heading", name="My evaluations")).to_be_visible()
    expect(progress_text(page)).to_have_text("0 of 13 submitted")
    rows = page.locator(".nominee-list li")
    expect(rows).to_have_count(13)
    expect(rows.filter(has_text="Not started")).to_have_count(13)

    # The first nominee in her own order: score everything, comment, and submit.
    first = rows.first.locator(".nominee-row-title").inner_text()
    rows.first.get_by_role("link").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(first)
    first_scores = dict(zip(CRITERIA, [7, 8, 6, 9, 5], strict=True))
    for slug, value in first_scores.items():
        score(page, slug, value)
    page.get_by_label("Overall comment").fill("A strong, well-evidenced project.")
    expect_saved(page)
    expect(page.locator("#evaluation-state")).to_have_text("Draft")
    page.get_by_role("button", name="Submit evaluation").click()
    expect(page.get_by_text(f"Your evaluation of “{first}” is submitted.")).to_be_visible()

    # Submitting leads to the next nominee to do. Halfway through it, a reload.
    second = page.get_by_role("heading", level=1).inner_text()
    assert second != first
    half = {"innovation": 4, "impact": 10, "person-centred": 3}
    for slug, value in half.items():
        score(page, slug, value)
    page.get_by_label("Overall comment").fill("Promising; evidence still thin.")
    expect_saved(page)
    page.reload()
    expect(page.get_by_role("heading", level=1)).to_have_text(second)
    expect_scores(page, half)
    expect(page.get_by_label("Overall comment")).to_have_value("Promising; evidence still thin.")
    expect(page.locator("#evaluation-state")).to_have_text("Draft")
    expect(criterion(page, "sustainability").locator("input:checked")).to_have_count(0)
    # The time of the last save, on a 24-hour clock, with its zone: the site's, as everywhere.
    expect(page.locator("#save-status")).to_have_text(re.compile(r"^Saved at \d\d:\d\d UTC$"))

    # A reload straight after typing, before the autosave could send it: still there, and saved.
    comment = "Promising; evidence still thin. Ask about the 2024 figures."
    page.get_by_label("Overall comment").fill(comment)
    page.reload()
    expect(page.get_by_label("Overall comment")).to_have_value(comment)
    expect_saved(page)
    expect_scores(page, half)

    score(page, "sustainability", 2)
    score(page, "transferability", 6)
    # Scoring the last criterion, far down the page, the save status is still in sight.
    expect_saved(page)
    expect(page.locator("#save-status")).to_be_in_viewport()
    page.get_by_role("button", name="Submit evaluation").click()
    expect(page.get_by_text(f"Your evaluation of “{second}” is submitted.")).to_be_visible()

    page.get_by_role("navigation", name="Main").get_by_role("link", name="My evaluations").click()
    expect(progress_text(page)).to_have_text("2 of 13 submitted")
    expect(page.get_by_role("progressbar")).to_have_attribute("value", "2")
    for title in (first, second):
        expect(rows.filter(has_text=title)).to_contain_text("Submitted")

    states = [stored(user, nominee.slug) for nominee in award.nominees]
    submitted = [state for state in states if state.submitted]
    assert len(submitted) == 2
    assert sorted(s.comment for s in submitted) == [
        "A strong, well-evidenced project.",
        "Promising; evidence still thin. Ask about the 2024 figures.",
    ]
    second_scores = {**half, "sustainability": 2, "transferability": 6}
    assert sorted((s.scores for s in submitted), key=lambda s: s["impact"]) == [
        first_scores,
        second_scores,
    ]


# --- 2. Two tabs on one evaluation -------------------------------------------------------------


def two_tabs_in_conflict(tablet, live_server, juror, make_evaluation, award):
    """Tab B loads, tab A saves innovation 8, then B changes innovation to 3: B is stale."""
    nominee = next(n for n in award.nominees if n.slug == "omapu")
    make_evaluation(nominee, juror, {"innovation": 5, "impact": 6}, comment="First thoughts.")
    a = tablet.new_page()
    log_in_on_page(a, live_server, juror, "/jury/")
    open_evaluation(a, live_server, "omapu")
    b = tablet.new_page()
    open_evaluation(b, live_server, "omapu")
    expect_scores(b, {"innovation": 5, "impact": 6})

    score(a, "innovation", 8)
    expect_saved(a)
    assert stored(juror, "omapu").version == 2

    score(b, "innovation", 3)
    notice = b.locator("#conflict-notice")
    expect(notice).to_be_visible()
    expect(notice).to_contain_text("changed in another tab or device")
    row = notice.get_by_role("row").filter(has_text="Innovation")
    expect(row.get_by_role("cell")).to_have_text(["Innovation", "3", "8"])
    expect(notice.get_by_role("row")).to_have_count(2)  # the header, and Innovation only
    expect(b.locator("#save-status")).to_contain_text("Not saved")
    # Nothing was overwritten while the juror decides.
    state = stored(juror, "omapu")
    assert (state.scores["innovation"], state.version) == (8, 2)
    return a, b


def test_a_stale_tab_shows_the_conflict_and_loads_the_saved_version(
    tablet, live_server, juror, make_evaluation, award
):
    _, b = two_tabs_in_conflict(tablet, live_server, juror, make_evaluation, award)
    b.get_by_role("button", name="Load the saved version").click()
    expect(b.locator("#conflict-notice")).to_have_count(0)
    expect_scores(b, {"innovation": 8, "impact": 6})
    expect(b.get_by_label("Overall comment")).to_have_value("First thoughts.")
    expect(b.locator("#save-status")).to_contain_text("Loaded the version saved at")

    # Tab B now holds the newest version: its next change saves without a conflict.
    score(b, "impact", 9)
    expect_saved(b)
    state = stored(juror, "omapu")
    assert state.scores == {"innovation": 8, "impact": 9}
    assert state.version == 3


def test_a_stale_tab_may_keep_its_own_values_deliberately(
    tablet, live_server, juror, make_evaluation, award
):
    _, b = two_tabs_in_conflict(tablet, live_server, juror, make_evaluation, award)
    b.get_by_role("button", name="Keep mine").click()
    expect(b.locator("#conflict-notice")).to_have_count(0)
    expect_saved(b)
    expect_scores(b, {"innovation": 3, "impact": 6})
    state = stored(juror, "omapu")
    assert state.scores == {"innovation": 3, "impact": 6}
    assert state.version == 3


def test_two_tabs_making_the_same_change_do_not_conflict(
    tablet, live_server, juror, make_evaluation, award
):
    nominee = next(n for n in award.nominees if n.slug == "omapu")
    make_evaluation(nominee, juror, {"innovation": 5})
    a = tablet.new_page()
    log_in_on_page(a, live_server, juror, "/jury/")
    open_evaluation(a, live_server, "omapu")
    b = tablet.new_page()
    open_evaluation(b, live_server, "omapu")

    score(a, "innovation", 8)
    expect_saved(a)
    score(b, "innovation", 8)  # stale, but nothing differs: B takes the newer version
    expect_saved(b)
    expect(b.locator("#conflict-notice")).to_have_count(0)
    score(b, "impact", 4)
    expect_saved(b)
    state = stored(juror, "omapu")
    assert (state.scores, state.version) == ({"innovation": 8, "impact": 4}, 3)


# --- 3. A dropped connection -----------------------------------------------------------------


def test_changes_made_offline_are_saved_when_the_connection_returns(
    tablet, live_server, juror, award
):
    page = tablet.new_page()
    log_in_on_page(page, live_server, juror, "/jury/")
    open_evaluation(page, live_server, "evikomp")
    score(page, "innovation", 6)
    expect_saved(page)
    # Another tab on the same evaluation, left idle: the connection's return is not its cue.
    idle = tablet.new_page()
    open_evaluation(idle, live_server, "evikomp")

    tablet.set_offline(True)
    score(page, "innovation", 9)
    score(page, "impact", 4)
    page.get_by_label("Overall comment").fill("Written on the train.")
    expect(page.locator("#offline-warning")).to_be_visible()
    expect(page.locator("#save-status")).to_contain_text("Not saved yet")
    assert stored(juror, "evikomp").scores == {"innovation": 6}

    tablet.set_offline(False)
    expect(page.locator("#offline-warning")).to_be_hidden()
    expect_saved(page)
    idle.wait_for_load_state("networkidle")
    expect(idle.locator("#conflict-notice")).to_have_count(0)
    state = stored(juror, "evikomp")
    assert state.scores == {"innovation": 9, "impact": 4}
    assert state.comment == "Written on the train."
    assert state.version == 2


def test_changes_made_offline_survive_a_closed_tab(tablet, live_server, juror, award):
    page = tablet.new_page()
    log_in_on_page(page, live_server, juror, "/jury/")
    open_evaluation(page, live_server, "evikomp")
    score(page, "innovation", 6)
    expect_saved(page)

    tablet.set_offline(True)
    score(page, "sustainability", 7)
    page.get_by_label("Overall comment").fill("Typed with no connection.")
    expect(page.locator("#offline-warning")).to_be_visible()
    page.close()
    assert stored(juror, "evikomp").scores == {"innovation": 6}

    tablet.set_offline(False)
    page = tablet.new_page()
    open_evaluation(page, live_server, "evikomp")
    expect_scores(page, {"innovation": 6, "sustainability": 7})
    expect(page.get_by_label("Overall comment")).to_have_value("Typed with no connection.")
    expect_saved(page)
    state = stored(juror, "evikomp")
    assert state.scores == {"innovation": 6, "sustainability": 7}
    assert state.comment == "Typed with no connection."


# --- Validation --------------------------------------------------------------------------------


def test_submitting_with_a_criterion_missing_names_it_and_loses_nothing(
    tablet, live_server, juror, award
):
    page = tablet.new_page()
    log_in_on_page(page, live_server, juror, "/jury/")
    open_evaluation(page, live_server, "konekta2")
    score(page, "innovation", 6)
    score(page, "impact", 7)
    score(page, "person-centred", 8)
    page.get_by_label("Overall comment").fill("Not finished yet.")
    page.get_by_role("button", name="Submit evaluation").click()

    expect(page.get_by_text("Not submitted yet: score every criterion first.")).to_be_visible()
    for slug in ("sustainability", "transferability"):
        expect(criterion(page, slug).locator(".field-error")).to_have_text(
            "Score this criterion before submitting."
        )
    expect(criterion(page, "innovation").locator(".field-error")).to_have_count(0)
    # A summary says what is missing, with links to it, and has the focus.
    summary = page.locator("#error-summary")
    expect(summary).to_be_focused()
    expect(summary.get_by_role("link")).to_have_text(["Sustainability", "Transferability"])
    found = serious_violations(page)
    assert not found, "refused submission:\n" + "\n".join(found)
    expect_scores(page, {"innovation": 6, "impact": 7, "person-centred": 8})
    expect(page.get_by_label("Overall comment")).to_have_value("Not finished yet.")
    # A refused submission submitted nothing, and says so.
    expect(page.locator("#evaluation-state")).to_have_text("Draft")
    expect(page.get_by_role("button", name="Submit evaluation")).to_be_visible()
    state = stored(juror, "konekta2")
    assert (len(state.scores), state.submitted) == (3, False)

    # Fixing one criterion saves as a draft (it is not refused for the other one still missing).
    summary.get_by_role("link", name="Sustainability").click()
    score(page, "sustainability", 5)
    expect(criterion(page, "sustainability").locator(".field-error")).to_have_count(0)
    expect_saved(page)
    assert not stored(juror, "konekta2").submitted
    score(page, "transferability", 4)
    page.get_by_role("button", name="Submit evaluation").click()
    expect(page.get_by_text("is submitted.")).to_be_visible()
    state = stored(juror, "konekta2")
    assert state.submitted
    assert state.scores["transferability"] == 4


# --- 4. Conflict of interest -----------------------------------------------------------------


def test_declaring_a_conflict_removes_the_nominee_from_the_list(tablet, live_server, juror, award):
    page = tablet.new_page()
    log_in_on_page(page, live_server, juror, "/jury/")
    expect(progress_text(page)).to_have_text("0 of 13 submitted")
    open_evaluation(page, live_server, "jus-app")
    title = page.get_by_role("heading", level=1).inner_text()

    page.get_by_text("Declare a conflict of interest").click()
    page.get_by_label("Why?").fill("I advised this project in 2022.")
    page.get_by_role("button", name="Declare the conflict…").click()
    expect(page.get_by_text("You cannot undo this yourself.")).to_be_visible()
    page.get_by_role("button", name="Yes, declare the conflict").click()

    expect(page).to_have_url(f"{live_server.url}/jury/")
    expect(
        page.get_by_text(f"Conflict of interest declared: you will not score “{title}”.")
    ).to_be_visible()
    expect(progress_text(page)).to_have_text("0 of 12 submitted")
    expect(page.locator(".nominee-list li")).to_have_count(12)
    expect(page.locator(".nominee-list")).not_to_contain_text(title)

    open_evaluation_page = page.goto(evaluation_url(live_server, "jus-app"))
    assert open_evaluation_page.status == 200
    expect(page.get_by_role("heading", name="You declared a conflict of interest")).to_be_visible()
    expect(page.locator("#evaluation-form")).to_have_count(0)


# --- 5. The keyboard alone -------------------------------------------------------------------


def tab_to(page, selector: str, *, backwards: bool = False, limit: int = 80) -> None:
    """Press Tab (or Shift+Tab) until the focus is on `selector`."""
    key = "Shift+Tab" if backwards else "Tab"
    for _ in range(limit):
        page.keyboard.press(key)
        if page.evaluate("s => document.activeElement.matches(s)", selector):
            return
    raise AssertionError(f"{key} never reached {selector}")


def focus_is_visible(page) -> bool:
    """The focused radio's number box (or the focused element itself) shows an outline, within
    a few seconds (a loaded machine may apply the style a frame or two late)."""
    try:
        page.wait_for_function(
            """() => {
                const el = document.activeElement;
                const shown = el.matches('.scale-option input') ? el.nextElementSibling : el;
                const style = getComputedStyle(shown);
                return style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) >= 2;
            }""",
            timeout=5_000,
        )
    except PlaywrightTimeoutError:
        return False
    return True


def test_a_juror_scores_with_the_keyboard_alone(tablet, live_server, juror, award):
    page = tablet.new_page()
    page.goto(f"{live_server.url}/login")
    # The email field has the focus on arrival (autofocus may land a moment after the load).
    expect(page.locator('input[name="email"]')).to_be_focused()
    page.keyboard.type(juror.email)
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    expect(page).to_have_url(f"{live_server.url}/jury/")

    tab_to(page, ".nominee-list a")
    assert focus_is_visible(page)
    title = page.evaluate("document.activeElement.querySelector('.nominee-row-title').textContent")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text(title)

    wanted = dict(zip(CRITERIA, [7, 5, 8, 4, 6], strict=True))
    for slug, value in wanted.items():
        tab_to(page, f"input[name='score-{slug}']")
        assert focus_is_visible(page), slug
        # Tabbing into an empty group lands on its first box (1); arrows move and choose.
        for _ in range(value - 1):
            page.keyboard.press("ArrowRight")
    expect_scores(page, wanted)

    # An optional comment on the last criterion: open it with Enter, then type.
    tab_to(page, "#criterion-transferability summary")
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    page.keyboard.type("Already adopted by two other cities.")
    # Back up to the sustainability scale with Shift+Tab and change 4 to 3.
    tab_to(page, "input[name='score-sustainability']", backwards=True)
    page.keyboard.press("ArrowLeft")
    wanted["sustainability"] = 3
    tab_to(page, "#comment")
    page.keyboard.type("Clear, person-centred, well documented.")

    tab_to(page, "#submit-evaluation")
    assert focus_is_visible(page)
    page.keyboard.press("Enter")
    expect(page.get_by_text(f"Your evaluation of “{title}” is submitted.")).to_be_visible()

    slug = next(n.slug for n in award.nominees if n.title == title)
    state = stored(juror, slug)
    assert state.submitted
    assert state.scores == wanted
    assert state.comment == "Clear, person-centred, well documented."
    assert state.criterion_comments == {"transferability": "Already adopted by two other cities."}


# --- 6. axe-core ---------------------------------------------------------------------------


def serious_violations(page) -> list[str]:
    results = Axe().run(page)
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at "
        + "; ".join(", ".join(node["target"]) for node in v["nodes"])
        for v in results.response["violations"]
        if v["impact"] in ("serious", "critical")
    ]


def test_axe_finds_no_serious_violation_on_the_juror_pages(
    tablet, live_server, juror, make_evaluation, award
):
    page = tablet.new_page()
    log_in_on_page(page, live_server, juror, "/jury/")
    found = serious_violations(page)
    assert not found, "dashboard:\n" + "\n".join(found)

    open_evaluation(page, live_server, "omapu")
    score(page, "innovation", 7)
    expect_saved(page)
    page.get_by_text("Comment on innovation (optional)").click()
    page.get_by_text("Declare a conflict of interest").click()
    found = serious_violations(page)
    assert not found, "evaluation page:\n" + "\n".join(found)

    other = tablet.new_page()
    open_evaluation(other, live_server, "omapu")
    score(page, "impact", 8)
    expect_saved(page)
    score(other, "impact", 2)
    expect(other.locator("#conflict-notice")).to_be_visible()
    found = serious_violations(other)
    assert not found, "conflict notice:\n" + "\n".join(found)


# --- 7. Without JavaScript ---------------------------------------------------------------------


def test_the_form_saves_and_submits_without_javascript(browser, live_server, juror, award):
    context = browser.new_context(viewport=TABLET, java_script_enabled=False)
    context.set_default_timeout(TIMEOUT_MS)
    try:
        page = context.new_page()
        log_in_on_page(page, live_server, juror, "/jury/")
        open_evaluation(page, live_server, "lgnetea")
        score(page, "innovation", 3)
        score(page, "impact", 8)
        page.get_by_label("Overall comment").fill("Saved by a plain form.")
        page.get_by_role("button", name="Save draft").click()
        expect(page.get_by_text("Draft saved.")).to_be_visible()
        expect_scores(page, {"innovation": 3, "impact": 8})
        expect(page.get_by_label("Overall comment")).to_have_value("Saved by a plain form.")
        state = stored(juror, "lgnetea")
        assert (state.scores, state.submitted, state.version) == (
            {"innovation": 3, "impact": 8},
            False,
            1,
        )

        # Submitting with criteria missing names them and keeps the input, as a draft.
        score(page, "person-centred", 5)
        page.get_by_role("button", name="Submit evaluation").click()
        expect(page.get_by_text("Not submitted yet: score every criterion first.")).to_be_visible()
        for slug in ("sustainability", "transferability"):
            expect(criterion(page, slug).locator(".field-error")).to_have_text(
                "Score this criterion before submitting."
            )
        expect_scores(page, {"innovation": 3, "impact": 8, "person-centred": 5})
        state = stored(juror, "lgnetea")
        assert (state.version, state.submitted) == (2, False)
        assert state.scores["person-centred"] == 5

        score(page, "sustainability", 6)
        score(page, "transferability", 7)
        page.get_by_role("button", name="Submit evaluation").click()
        expect(page.get_by_text("is submitted.")).to_be_visible()
        state = stored(juror, "lgnetea")
        assert state.submitted
        assert state.scores == {
            "innovation": 3,
            "impact": 8,
            "person-centred": 5,
            "sustainability": 6,
            "transferability": 7,
        }
        assert state.comment == "Saved by a plain form."
    finally:
        context.close()
