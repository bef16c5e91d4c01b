"""The ceremony journey on a phone: scan a card, choose, confirm, keep the receipt."""

import pytest
from playwright.sync_api import expect
from sqlalchemy import func, select

from judging.extensions import db
from judging.models import Ballot
from judging.services import voting

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
