"""A voter in their own language (issue 18): a phone whose browser asks for Lithuanian votes by
code entirely in Lithuanian; the language menu changes the language and keeps the page."""

from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from babel.support import Translations
from playwright.sync_api import expect
from sqlalchemy import select

from judging.extensions import db
from judging.models import Ballot
from judging.services import voting

pytestmark = pytest.mark.browser

TRANSLATIONS = Path(__file__).resolve().parent.parent / "judging" / "translations"


def catalogue(code: str):
    return Translations.load(str(TRANSLATIONS), [code])


def english_left(text: str, code: str) -> list[str]:
    """The English messages (of three words or more) that show in `text` untranslated."""
    with (TRANSLATIONS / "messages.pot").open("rb") as file:
        template = read_po(file)
    translated = catalogue(code)
    left = []
    for message in template:
        if not message.id or isinstance(message.id, tuple) or "%(" in message.id:
            continue
        long_enough = len(message.id.split()) >= 3
        if long_enough and translated.gettext(message.id) != message.id and message.id in text:
            left.append(message.id)
    return left


@pytest.fixture
def lithuanian_phone(browser):
    context = browser.new_context(
        viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True, locale="lt-LT"
    )
    page = context.new_page()
    yield page
    context.close()


def test_a_lithuanian_phone_votes_by_code_entirely_in_lithuanian(
    lithuanian_phone, live_server, seeded_award
):
    lt = catalogue("lt").gettext
    seeded_award.status = "voting"
    db.session.commit()
    code = voting.generate_codes(seeded_award, 1, actor=None)[0]
    db.session.commit()
    phone = lithuanian_phone

    phone.goto(f"{live_server.url}/vote/{seeded_award.slug}?code={code}")
    expect(phone.locator("html")).to_have_attribute("lang", "lt")
    expect(phone.get_by_label(lt("Your card's code"))).to_have_value(code)
    assert english_left(phone.locator("body").inner_text(), "lt") == []
    phone.get_by_role("radio", name="Gaming Club").check()
    vote_button = catalogue("lt").pgettext("button", "Vote")
    phone.get_by_role("button", name=vote_button, exact=True).click()

    expect(phone.get_by_text(lt("You are voting for"))).to_be_visible()
    assert english_left(phone.locator("body").inner_text(), "lt") == []
    phone.get_by_role("button", name=lt("Confirm"), exact=True).click()

    heading = lt("Thank you: your vote is recorded")
    expect(phone.get_by_role("heading", name=heading)).to_be_visible()
    assert english_left(phone.locator("body").inner_text(), "lt") == []
    receipt = phone.locator("#receipt").inner_text()
    assert db.session.scalar(select(Ballot.receipt)) == receipt


def test_the_language_menu_changes_the_language_and_keeps_the_page(page, live_server, seeded_award):
    nominee = seeded_award.nominees[0]
    address = f"{live_server.url}/awards/{seeded_award.slug}/nominees/{nominee.slug}"
    page.goto(address)
    expect(page.locator("html")).to_have_attribute("lang", "en")
    menu = page.get_by_role("navigation", name="Language")
    menu.get_by_role("link", name="Deutsch").click()
    expect(page.locator("html")).to_have_attribute("lang", "de")
    assert page.url == address  # the same nominee, now in German
    de = catalogue("de").gettext
    expect(page.get_by_role("navigation", name=de("Language"))).to_be_visible()
    page.goto(f"{live_server.url}/awards/{seeded_award.slug}")  # the choice is kept
    expect(page.locator("html")).to_have_attribute("lang", "de")
