"""The ceremony journey on a phone: scan a card, choose, confirm, keep the receipt; the online
vote's link; axe-core and screenshots (at 390 and 1280 px) of every page of the vote."""

import os
from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect
from sqlalchemy import func, select

from judging.extensions import db
from judging.models import Ballot
from judging.services import voting
from judging.services.awards import transition

from .fixtures.browser import log_in_on_page

pytestmark = pytest.mark.browser


@pytest.fixture
def phone(browser):
    context = browser.new_context(
        viewport={"width": 390, "height": 844},
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
    )
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.errors = errors
    yield page
    context.close()


def test_vote_with_a_card_then_the_card_is_refused(phone, live_server, seeded_award):
    seeded_award.status = "voting"
    db.session.commit()
    code = voting.generate_codes(seeded_award, 1, actor=None)[0]
    db.session.commit()
    link = f"{live_server.url}/vote/{seeded_award.slug}?code={code}"

    phone.goto(link)
    expect(phone.get_by_label("Your card's code")).to_have_value(code)
    phone.get_by_role("radio", name="Gaming Club").check()
    phone.get_by_role("button", name="Vote").click()

    expect(phone.get_by_text("You are voting for")).to_be_visible()
    expect(phone.locator(".vote-confirm-choice")).to_have_text("Gaming Club")
    # Change goes back with the choice kept; then vote again and confirm.
    phone.get_by_role("button", name="Change").click()
    expect(phone.get_by_role("radio", name="Gaming Club")).to_be_checked()
    phone.get_by_role("button", name="Vote").click()
    phone.get_by_role("button", name="Confirm").click()

    expect(phone.get_by_role("heading", name="Thank you: your vote is recorded")).to_be_visible()
    receipt = phone.locator("#receipt").inner_text()
    assert db.session.scalar(select(Ballot.receipt)) == receipt
    assert phone.url.endswith(f"/vote/{seeded_award.slug}/receipt/{receipt}")
    assert code not in phone.url

    # A reload shows the receipt again (not a refusal), and records nothing.
    phone.reload()
    expect(phone.get_by_role("heading", name="Thank you: your vote is recorded")).to_be_visible()
    expect(phone.locator("#receipt")).to_have_text(receipt)
    expect(phone.get_by_text("already been used")).to_have_count(0)
    # Back works: no "confirm form resubmission" error, the ballot page pointing to the receipt.
    phone.go_back()
    expect(phone.get_by_role("link", name=f"see its receipt {receipt}")).to_be_visible()
    phone.go_forward()
    expect(phone.locator("#receipt")).to_have_text(receipt)
    phone.get_by_role("link", name="Check my ballot").click()
    expect(phone.get_by_role("status")).to_contain_text("Counted.")

    # The same card again, from its link: refused politely, with the code and choice kept.
    phone.goto(link)
    phone.get_by_role("radio", name="Day Centre").first.check()
    phone.get_by_role("button", name="Vote").click()
    expect(phone.get_by_role("alert")).to_contain_text("This card has already been used to vote")
    expect(phone.get_by_label("Your card's code")).to_have_value(code)
    expect(phone.get_by_role("radio", name="Day Centre").first).to_be_checked()
    assert db.session.scalar(select(func.count()).select_from(Ballot)) == 1
    # Nothing spills sideways on a phone.
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= 390
    # No script or style blocked by the CSP (the refusal's own 409 is logged, and expected).
    assert [e for e in phone.errors if not e.startswith("Failed to load resource")] == []


def test_a_used_online_link_says_so_at_once(phone, live_server, seeded_award):
    seeded_award.status, seeded_award.online_vote = "voting", True
    db.session.commit()
    with live_server.app.test_request_context():
        token = voting.verification_token(seeded_award, "ana@example.org")
    link = f"{live_server.url}/vote/{seeded_award.slug}/online/{token}"

    phone.goto(link)
    phone.get_by_role("radio", name="Gaming Club").check()
    phone.get_by_role("button", name="Vote").click()
    expect(phone.get_by_text("You are voting for")).to_be_visible()
    phone.get_by_role("button", name="Confirm").click()
    expect(phone.get_by_role("heading", name="Thank you: your vote is recorded")).to_be_visible()
    phone.reload()
    expect(phone.get_by_role("heading", name="Thank you: your vote is recorded")).to_be_visible()

    phone.goto(link)  # the link again, later: said at once, with the receipt check
    expect(phone.get_by_role("alert")).to_contain_text("This link has already been used to vote")
    expect(phone.get_by_role("radio")).to_have_count(0)
    expect(phone.get_by_role("button", name="Check my ballot")).to_be_visible()
    assert db.session.scalar(select(func.count()).select_from(Ballot)) == 1


# --- axe-core and screenshots of every page of the vote, at 390 and 1280 px --------------------

SHOTS = Path(os.environ.get("VOTE_SCREENSHOTS", "")) if os.environ.get("VOTE_SCREENSHOTS") else None


def violations(page) -> list[str]:
    """Every axe-core violation, whatever its impact."""
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at "
        + "; ".join(", ".join(node["target"]) for node in v["nodes"])
        for v in Axe().run(page).response["violations"]
    ]


@pytest.mark.parametrize("width", [390, 1280])
def test_the_vote_pages_pass_axe_and_fit(browser, live_server, scored, make_user, width, tmp_path):
    shots = SHOTS or tmp_path
    shots.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(viewport={"width": width, "height": 900})
    page = context.new_page()
    found: dict[str, list[str]] = {}

    def check(name: str) -> None:
        page.screenshot(path=str(shots / f"{name}-{width}.png"), full_page=True)
        if problems := violations(page):
            found[name] = problems
        assert page.evaluate("document.documentElement.scrollWidth") <= width, name

    admin = make_user(role="admin")
    log_in_on_page(page, live_server, admin, "/admin/")

    slug = scored.slug
    scored.online_vote, scored.vote_top_n, scored.jury_weight, scored.vote_weight = True, 5, 70, 30
    db.session.commit()
    page.goto(f"{live_server.url}/admin/awards/{slug}/voting")
    check("admin-vote-setup")
    page.get_by_label("How many codes").fill("3")
    page.get_by_role("button", name="Generate the codes").click()
    expect(page.get_by_role("heading", name="3 new access codes")).to_be_visible()
    check("admin-codes")
    codes = page.locator(".vote-code-list code").all_inner_texts()
    with context.expect_page() as cards:
        page.get_by_role("button", name="Print them as cards").click()
    cards_page, page = page, cards.value
    page.wait_for_load_state()
    check("admin-cards")
    page.close()
    page = cards_page

    transition(scored, "open_voting", actor=None)
    db.session.commit()
    page.goto(f"{live_server.url}/awards/{slug}")
    check("public-award")
    page.goto(f"{live_server.url}/vote/{slug}?code={codes[0]}")
    check("ballot")
    page.locator(".vote-choice").first.click()
    page.get_by_role("button", name="Vote").click()
    expect(page.get_by_text("You are voting for")).to_be_visible()
    check("ballot-confirm")
    page.get_by_role("button", name="Confirm").click()
    expect(page.get_by_role("heading", name="Thank you: your vote is recorded")).to_be_visible()
    check("receipt")
    page.goto(f"{live_server.url}/vote/{slug}?code={codes[0]}")
    page.locator(".vote-choice").first.click()
    page.get_by_role("button", name="Vote").click()
    expect(page.get_by_role("alert")).to_be_visible()
    check("ballot-refused")

    with live_server.app.test_request_context():
        token = voting.verification_token(scored, "ana@example.org")
    page.goto(f"{live_server.url}/vote/{slug}/online")
    check("online-ask")
    page.goto(f"{live_server.url}/vote/{slug}/online/{token}")
    check("online-ballot")
    page.locator(".vote-choice").first.click()
    page.get_by_role("button", name="Vote").click()
    check("online-confirm")
    page.get_by_role("button", name="Confirm").click()
    page.goto(f"{live_server.url}/vote/{slug}/online/{token}")
    check("online-used")

    page.goto(f"{live_server.url}/admin/awards/{slug}/voting")
    check("admin-vote-open")
    page.get_by_label("Reason").first.fill("Card reported lost")
    page.get_by_role("button", name="Void…").first.click()
    check("admin-void-confirm")
    context.close()
    assert not found, "\n".join(f"{name}: {p}" for name, ps in found.items() for p in ps)
