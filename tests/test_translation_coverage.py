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
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from judging import i18n
from judging.extensions import db
from judging.models import Award, Nominee

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
def pseudo_app(make_app, tmp_path, monkeypatch):
    """The app with a catalogue for PSEUDO in which every message is ⟦message⟧."""
    catalog = Catalog(locale=PSEUDO)
    for message in template_messages():
        if not message.id:
            continue
        if isinstance(message.id, tuple):
            catalog.add(message.id, tuple(f"⟦{form}⟧" for form in message.id))
        else:
            catalog.add(message.id, f"⟦{message.id}⟧")
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


def untranslated(html: str, content: list[str]) -> list[str]:
    """The visible texts of a page that hold a word outside any ⟦message⟧ and outside the
    organisers' `content`."""
    parser = VisibleText()
    parser.feed(html)
    own_names = {i18n.name_of(code) for code in i18n.PUBLIC_LANGUAGES}
    left = []
    for text in parser.texts:
        rest = " ".join(WRAPPED.sub(" ", text).split())
        excerpt = rest.rstrip(".… ")  # an organiser's text, maybe cut short (truncate)
        if excerpt and any(excerpt in entered for entered in content):
            continue
        for entered in content:
            rest = rest.replace(entered, " ")
        rest = " ".join(rest.replace("judging", " ").split())  # the product's name
        if not WORD.search(rest) or rest in own_names:
            continue
        left.append(rest)
    return left


def pages_of(award: Award) -> dict[str, str]:
    nominee = award.nominees[0]
    return {
        "home": "/",
        "award": f"/awards/{award.slug}",
        "nominee": f"/awards/{award.slug}/nominees/{nominee.slug}",
        "not found": "/awards/no-such-award",
    }


def test_every_visitor_page_is_translated(pseudo_app):
    from judging.services.seeding import read_shortlist, seed_shortlist

    with pseudo_app.app_context():
        seed_shortlist(read_shortlist(ROOT / "seed" / "shortlist.json"), actor=None)
        db.session.commit()
        award = db.session.scalar(db.select(Award))
        visitor = pseudo_app.test_client()
        visitor.set_cookie(i18n.COOKIE, PSEUDO)
        failures = {}
        for name, path in pages_of(award).items():
            response = visitor.get(path)
            html = response.get_data(as_text=True)
            assert f'<html lang="{PSEUDO}">' in html, name
            if left := untranslated(html, organisers_content()):
                failures[name] = left
        assert failures == {}


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
        current = {m.id for m in read_po(file) if m.id}
    committed = {m.id for m in template_messages() if m.id}
    assert current - committed == set(), "new messages: run `make messages`"
    assert committed - current == set(), "messages no longer in the code: run `make messages`"


@pytest.mark.parametrize("code", i18n.PUBLIC_LANGUAGES[1:])
def test_every_catalogue_translates_every_message(code):
    path = ROOT / "judging" / "translations" / code / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as file:
        catalogue = read_po(file, locale=code)
    template = {m.id for m in template_messages() if m.id}
    entries = {m.id: m for m in catalogue if m.id}
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
