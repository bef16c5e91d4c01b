"""Every word a visitor or voter reads goes through the translation layer (issue 18).

The pages are rendered in a pseudo-language whose catalogue wraps every message in ⟦ ⟧. What
is left outside the brackets must be the organisers' content (award and nominee text), codes,
numbers, punctuation and the languages' own names in the language menu: a word of English
left there is text a Lithuanian voter would read in English.

The committed template (judging/translations/messages.pot) must also be what the code holds
today: a message added to a page and not extracted would never reach a translator.
"""

import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest
from babel import Locale
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from judging import i18n
from judging.extensions import db
from judging.models import Award, Criterion, Nominee
from judging.services import publication, voting
from judging.services.awards import transition

ROOT = Path(__file__).resolve().parent.parent
POT = ROOT / "judging" / "translations" / "messages.pot"
PSEUDO = "eo"  # a real locale (Babel knows its plural rule) that the app does not offer
WRAPPED = re.compile(r"⟦[^⟦⟧]*⟧")
WORD = re.compile(r"[^\W\d_]{2,}")
VISIBLE_ATTRIBUTES = ("title", "aria-label", "alt", "placeholder")


def template_messages() -> Catalog:
    with POT.open("rb") as file:
        return read_po(file)


@pytest.fixture
def pseudo_app(app, make_app, tmp_path, monkeypatch):
    """The app with a catalogue for PSEUDO in which every message is ⟦message⟧ (on the
    database `app` empties after the test)."""
    catalog = Catalog(locale=PSEUDO)
    for message in template_messages():
        if not message.id:
            continue
        if isinstance(message.id, tuple):
            wrapped: str | tuple[str, ...] = tuple(f"⟦{form}⟧" for form in message.id)
        else:
            wrapped = f"⟦{message.id}⟧"
        catalog.add(message.id, wrapped, context=message.context)
    folder = tmp_path / "pseudo" / PSEUDO / "LC_MESSAGES"
    folder.mkdir(parents=True)
    with (folder / "messages.mo").open("wb") as file:
        write_mo(file, catalog)
    monkeypatch.setattr(i18n, "PUBLIC_LANGUAGES", (*i18n.PUBLIC_LANGUAGES, PSEUDO))
    return make_app(
        DEVELOPMENT=True,
        SESSION_COOKIE_SECURE=False,
        BABEL_TRANSLATION_DIRECTORIES=str(tmp_path / "pseudo"),
    )


class VisibleText(HTMLParser):
    def __init__(self):
        super().__init__()
        self.texts: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style", "template"):
            self._hidden += 1
        for name, value in attrs:
            if value and (
                name in VISIBLE_ATTRIBUTES
                or (tag == "input" and name == "value" and ("type", "submit") in attrs)
            ):
                self.texts.append(value)

    def handle_endtag(self, tag):
        if tag in ("script", "style", "template"):
            self._hidden -= 1

    @classmethod
    def texts_of(cls, html):
        parser = cls()
        parser.feed(html)
        return parser.texts

    def handle_data(self, data):
        if not self._hidden and data.strip():
            self.texts.append(data)


def organisers_content() -> list[str]:
    """Every text an organiser entered: shown as entered, in any language."""
    found = set()
    for award in db.session.scalars(db.select(Award)):
        found.update(filter(None, (award.title, award.description)))
    for criterion in db.session.scalars(db.select(Criterion)):
        found.update(filter(None, (criterion.name, criterion.guidance)))
    for nominee in db.session.scalars(db.select(Nominee)):
        found.update(
            filter(
                None,
                (
                    nominee.title,
                    nominee.organisation,
                    nominee.city,
                    nominee.country,
                    *nominee.summary.split("\n\n"),
                ),
            )
        )
    return sorted(found, key=len, reverse=True)


# Words Babel writes in the page's language (a date's month), not the catalogue.
LOCALE_WORDS = {
    name.casefold()
    for kind in ("format", "stand-alone")
    for width in ("wide", "abbreviated")
    for name in Locale.parse(PSEUDO).months[kind][width].values()
}


def is_word(token: str) -> bool:
    """Whether a token reads as a word of some language: letters only (a receipt, a digest, a
    code or an address has digits or slashes), and not a month Babel named."""
    token = token.strip(".,;:!?()[]«»\"'’…·—–-")
    return bool(WORD.fullmatch(token)) and token.casefold() not in LOCALE_WORDS


def without_messages(text: str) -> str:
    """`text` with every ⟦message⟧ taken out, innermost first (a message may hold another)."""
    while True:
        shorter = WRAPPED.sub(" ", text)
        if shorter == text:
            return text
        text = shorter


def untranslated(html: str, content: list[str]) -> list[str]:
    """The visible texts of a page that hold a word outside any ⟦message⟧ and outside the
    organisers' `content`. A message may hold markup (a link, an emphasis): its ⟦ ⟧ then spans
    several text nodes, so the page's text is read as one stream."""
    parser = VisibleText()
    parser.feed(html)
    own_names = {i18n.name_of(code) for code in i18n.PUBLIC_LANGUAGES}
    stream = without_messages("\x00".join(parser.texts))
    left = []
    for fragment in stream.split("\x00"):
        rest = " ".join(fragment.split())
        excerpt = rest.rstrip(".… ")  # an organiser's text, maybe cut short (truncate)
        if excerpt and any(excerpt in entered for entered in content):
            continue
        for entered in content:
            rest = rest.replace(entered, " ")
        rest = " ".join(rest.replace("judging", " ").split())  # the product's name
        if rest in own_names or not any(is_word(token) for token in rest.split()):
            continue
        left.append(rest)
    return left


def seed() -> Award:
    from judging.services.seeding import read_shortlist, seed_shortlist

    seed_shortlist(read_shortlist(ROOT / "seed" / "shortlist.json"), actor=None)
    db.session.commit()
    return db.session.scalar(db.select(Award))


def pseudo_visitor(app):
    visitor = app.test_client()
    visitor.set_cookie(i18n.COOKIE, PSEUDO)
    return visitor


def check(pages: dict[str, object]) -> dict[str, list[str]]:
    """{page name: English left on it} for every answer in `pages`."""
    content = organisers_content()
    failures = {}
    for name, response in pages.items():
        html = response.get_data(as_text=True)
        assert f'<html lang="{PSEUDO}">' in html, name
        if left := untranslated(html, content):
            failures[name] = left
    return failures


def csrf_of(response) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', response.get_data(as_text=True))[1]


def test_every_visitor_page_is_translated(pseudo_app):
    with pseudo_app.app_context():
        award = seed()
        visitor = pseudo_visitor(pseudo_app)
        nominee = award.nominees[0]
        pages = {
            "home": visitor.get("/"),
            "award": visitor.get(f"/awards/{award.slug}"),
            "nominee": visitor.get(f"/awards/{award.slug}/nominees/{nominee.slug}"),
            "privacy": visitor.get("/privacy"),
            "not found": visitor.get("/awards/no-such-award"),
        }
        assert check(pages) == {}


def test_every_page_of_the_vote_is_translated(pseudo_app):
    with pseudo_app.app_context():
        award = seed()
        award.status, award.online_vote = "voting", True
        db.session.commit()
        code = voting.generate_codes(award, 1, actor=None)[0]
        db.session.commit()
        with pseudo_app.test_request_context():
            token = voting.verification_token(award, "ana@example.org")
        visitor = pseudo_visitor(pseudo_app)
        base = f"/vote/{award.slug}"
        ballot = visitor.get(f"{base}?code={code}")
        form = {"csrf_token": csrf_of(ballot), "code": code, "nominee": award.nominees[0].slug}
        refused = visitor.post(base, data={**form, "code": "AAAA-BBBB-CCCC-DDDD"})
        confirm = visitor.post(base, data={**form, "action": "review"}, follow_redirects=True)
        receipt = visitor.post(base, data={**form, "action": "confirm"}, follow_redirects=True)
        number = re.search(r'id="receipt"[^>]*>([^<]+)<', receipt.get_data(as_text=True))[1]
        pages = {
            "ballot": ballot,
            "refused code": refused,
            "confirmation": confirm,
            "receipt": receipt,
            "check form": visitor.get(f"{base}/check"),
            "check counted": visitor.get(f"{base}/check?receipt={number}"),
            "check unknown": visitor.get(f"{base}/check?receipt=XXXX"),
            "online vote": visitor.get(f"{base}/online"),
            "online ballot": visitor.get(f"{base}/online/{token}"),
        }
        assert check(pages) == {}


def test_the_published_results_are_translated(pseudo_app):
    with pseudo_app.app_context():
        award = seed()
        transition(award, "open_scoring", actor=None)
        transition(award, "close_scoring", actor=None)
        publication.publish(award, actor=None, override_reason="test")
        db.session.commit()
        visitor = pseudo_visitor(pseudo_app)
        pages = {
            "results": visitor.get(f"/awards/{award.slug}/results"),
            "results sheet": visitor.get(f"/awards/{award.slug}/results/sheet"),
            "award, published": visitor.get(f"/awards/{award.slug}"),
        }
        assert check(pages) == {}


def test_the_checker_finds_english_left_in_a_page():
    page = "<p>⟦Awards⟧</p><p>Back to the awards</p><p>Konekta 2</p><p>Konekta 2, Sp…</p>"
    assert untranslated(page, ["Konekta 2, Spain"]) == ["Back to the awards"]
    assert untranslated('<a title="Log in">⟦x⟧</a>', []) == ["Log in"]


def test_the_template_holds_exactly_the_messages_of_the_code(tmp_path):
    extracted = tmp_path / "messages.pot"
    subprocess.run(
        [
            Path(sys.executable).parent / "pybabel",
            "-q",
            "extract",
            "-F",
            "babel.cfg",
            "-k",
            "_l",
            "-k",
            "lazy_gettext",
            "-o",
            str(extracted),
            ".",
        ],
        cwd=ROOT,
        check=True,
    )
    with extracted.open("rb") as file:
        current = {(m.context, m.id) for m in read_po(file) if m.id}
    committed = {(m.context, m.id) for m in template_messages() if m.id}
    assert current - committed == set(), "new messages: run `make messages`"
    assert committed - current == set(), "messages no longer in the code: run `make messages`"


@pytest.mark.parametrize("code", i18n.PUBLIC_LANGUAGES[1:])
def test_every_catalogue_translates_every_message(code):
    path = ROOT / "judging" / "translations" / code / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as file:
        catalogue = read_po(file, locale=code)
    template = {(m.context, m.id) for m in template_messages() if m.id}
    entries = {(m.context, m.id): m for m in catalogue if m.id}
    assert template - entries.keys() == set(), f"{code}: missing; run `make messages`"
    missing = [
        m.id
        for m in entries.values()
        if not (all(m.string) if isinstance(m.string, tuple) else m.string)
    ]
    fuzzy = [m.id for m in entries.values() if m.fuzzy]
    assert missing == [], f"{code}: untranslated"
    assert fuzzy == [], f"{code}: fuzzy (check and confirm them)"
    plurals = [m for m in entries.values() if isinstance(m.id, tuple)]
    for message in plurals:
        assert len(message.string) == catalogue.num_plurals, (code, message.id)
