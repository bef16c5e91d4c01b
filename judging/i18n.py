"""Languages: which ones a page is offered in, and which one a request gets (Flask-Babel).

Every page a voter or visitor sees (the public blueprint and its error pages) is offered in the
nine PUBLIC_LANGUAGES. The pages of jurors and administrators (auth, jury, admin) are offered
in STAFF_LANGUAGES: English only until their text goes through the translation layer too
(issue 18 widens it to English, French, German, Spanish and Italian).

A request's language, first that applies:
1. the visitor's choice from the language menu (the `lang` cookie, set by /language/<code>);
2. the browser's Accept-Language, best match;
3. DEFAULT_LANGUAGE (English).

The catalogues are in judging/translations/<code>/LC_MESSAGES/messages.po; `make messages`
extracts the text of the code and templates into judging/translations/messages.pot and updates
every catalogue, `make translations` compiles them (make install, run and test do it too).
"""

from babel import Locale
from flask import Flask, current_app, g, has_request_context, request
from flask_babel import Babel, format_decimal, format_percent

PUBLIC_LANGUAGES = ("en", "sv", "lt", "ro", "nl", "fr", "es", "de", "it")
STAFF_LANGUAGES = ("en",)
COOKIE = "lang"
COOKIE_MAX_AGE = 365 * 24 * 3600
# The blueprints whose pages are a visitor's or voter's (and the app-wide pages: errors, the
# language menu itself).
PUBLIC_BLUEPRINTS = frozenset({"public", None})

babel = Babel()


def offered() -> tuple[str, ...]:
    """The languages of the page this request asks for."""
    if has_request_context() and request.blueprint not in PUBLIC_BLUEPRINTS:
        return STAFF_LANGUAGES
    return PUBLIC_LANGUAGES


# The best match of each Accept-Language header seen, per set of offered languages: browsers
# send a handful of distinct headers, and parsing one costs more than a cached page.
_MATCHES: dict[tuple[str, tuple[str, ...]], str] = {}
_MATCHES_KEPT = 1024


def select_locale() -> str:
    languages = offered()
    if has_request_context():
        chosen = request.cookies.get(COOKIE)
        if chosen in languages:
            return chosen
        header = request.headers.get("Accept-Language", "")
        if header:
            key = (header, languages)
            best = _MATCHES.get(key)
            if best is None:
                best = request.accept_languages.best_match(languages) or ""
                if len(_MATCHES) >= _MATCHES_KEPT:
                    _MATCHES.clear()
                _MATCHES[key] = best
            if best:
                return best
    default = current_app.config["DEFAULT_LANGUAGE"]
    return default if default in languages else "en"


def current() -> str:
    """The language code of this request's page ("en", "lt", ...), as `<html lang>` says:
    chosen once per request, without building Babel's Locale (a page from the cache needs
    only the code)."""
    if not has_request_context():  # a command, the mail sender: the deployment's language
        default = current_app.config["DEFAULT_LANGUAGE"]
        return default if default in PUBLIC_LANGUAGES else "en"
    try:
        return g.language
    except AttributeError:
        code = g.language = select_locale()
        return code


def name_of(code: str) -> str:
    """A language's own name for itself, capitalised: "Lietuvių", "Deutsch"."""
    own = Locale.parse(code).get_display_name(code) or code
    return own[:1].upper() + own[1:]


def decimal(value: float, places: int = 2) -> str:
    """A score with `places` decimals, in the page's language: 72.96, or 72,96 in German."""
    return format_decimal(value, format="0." + "0" * places if places else "0")


def percent(share: float) -> str:
    """A share as a whole percentage, as the page's language writes it: 25%, or 25 % in German."""
    return format_percent(share)


def register(app: Flask) -> None:
    babel.init_app(app, locale_selector=current)
    app.jinja_env.globals["current_language"] = current
    app.jinja_env.globals["language_name"] = name_of
    app.jinja_env.globals["page_languages"] = offered
    app.jinja_env.filters["decimal"] = decimal
    app.jinja_env.filters["percent"] = percent
