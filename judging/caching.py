"""HTTP caching of the public answers: validators, conditional GETs and a per-process page cache.

The public award page, a nominee's page and the published results (page and JSON) are the same
for every anonymous visitor. Each is answered with an `ETag` computed from what it shows (the
award's row, its nominees' rows or the result snapshot's digest, the release of the code and
templates, the locale), `Cache-Control: public` and `Vary: Cookie`; a request whose
`If-None-Match` holds that tag gets a `304` without a body, and the rendered answer is kept per
process keyed on the tag. The tag itself is remembered for VALIDATOR_TTL_S seconds, and
forgotten at once when this process commits a change to an award, a nominee or a result
snapshot: a visitor after the first one costs no query at all, and a change made by another
process (a second worker, the CLI) shows within those seconds. A reverse proxy or CDN in front
can keep the answers too (docs/operations.md, "Caching public pages").

Only for a visitor with nothing in the session: no one logged in (their pages may hold what only
they may see, and are never kept: security.py), no flash message, no CSRF token, no ballot in
progress. Any other visitor is answered exactly as before, by the view itself. An award that is
not public, or whose vote is open (the ballot shown depends on the time), is never kept.
"""

import hashlib
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable

from flask import Response, current_app, request, session
from sqlalchemy import event, select
from sqlalchemy.orm import Session, contains_eager, joinedload

from judging import i18n
from judging.config import PROJECT_ROOT
from judging.extensions import db, signed_in
from judging.models import Award, Nominee, ResultSnapshot

# How long a browser or proxy may keep a public answer before asking again (with its ETag).
MAX_AGE_S = 60
CACHE_CONTROL = f"public, max-age={MAX_AGE_S}"
# How long a process trusts a validator it worked out before asking the database again. A
# change committed in this process forgets them at once (below); one committed by another
# process (a second worker, the CLI) is seen within this many seconds, far within the
# MAX_AGE_S for which every browser and proxy may keep the page anyway.
VALIDATOR_TTL_S = 2.0
# Rendered answers kept per process: a bounded LRU, so a crawler walking every page of every
# award cannot grow a worker without limit (a page is 5–50 KB).
PAGE_CACHE_ENTRIES = 256


class PageCache:
    """A thread-safe LRU of rendered answers (body, mimetype), keyed on their ETag."""

    def __init__(self, size: int):
        self.size = size
        self._entries: OrderedDict[str, tuple[bytes, str]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> tuple[bytes, str] | None:
        with self._lock:
            found = self._entries.get(key)
            if found is not None:
                self._entries.move_to_end(key)
            return found

    def put(self, key: str, value: tuple[bytes, str]) -> None:
        with self._lock:
            self._entries[key] = value
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, key: str) -> bool:
        return key in self._entries

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


pages = PageCache(PAGE_CACHE_ENTRIES)


class Validators:
    """The validators worked out in the last VALIDATOR_TTL_S seconds, per page: a visitor in
    that time costs no query at all (the page itself is in `pages`). None is remembered too: a
    page that is not for the cache (not public, voting open) stays so until the TTL ends.

    One per app (each app has its own database), in `app.extensions`; `forget_all` (a commit
    that changed what public pages show) empties all of them, by moving the generation on."""

    MISSING = object()
    generation = 0  # of the whole process: every instance's entries are of one generation
    clock = staticmethod(time.monotonic)

    def __init__(self, ttl_s: float):
        self.ttl_s = ttl_s
        self._entries: dict[Hashable, tuple[int, float, str | None]] = {}
        self._lock = threading.Lock()

    def get(self, key: Hashable):
        found = self._entries.get(key)
        if found is None or found[0] != Validators.generation or found[1] <= self.clock():
            return self.MISSING
        return found[2]

    def put(self, key: Hashable, tag: str | None) -> None:
        with self._lock:
            if len(self._entries) >= PAGE_CACHE_ENTRIES * 4:  # a crawler's every slug
                self._entries.clear()
            self._entries[key] = (Validators.generation, self.clock() + self.ttl_s, tag)

    @classmethod
    def forget_all(cls) -> None:
        cls.generation += 1


def validators() -> Validators:
    """This app's validators."""
    extensions = current_app.extensions
    found = extensions.get("public_validators")
    if found is None:
        found = extensions["public_validators"] = Validators(VALIDATOR_TTL_S)
    return found


# What a public page's validator is made of: a commit that adds, changes or deletes one of
# these forgets every validator of this process.
SHOWN_ON_PUBLIC_PAGES = (Award, Nominee, ResultSnapshot)


@event.listens_for(Session, "after_flush")
def _note_public_changes(session: Session, _flush_context) -> None:
    if any(
        isinstance(instance, SHOWN_ON_PUBLIC_PAGES)
        for instance in (*session.new, *session.dirty, *session.deleted)
    ):
        session.info["public_pages_changed"] = True


@event.listens_for(Session, "after_commit")
def _forget_validators(session: Session) -> None:
    if session.info.pop("public_pages_changed", False):
        Validators.forget_all()


@event.listens_for(Session, "after_soft_rollback")
def _nothing_changed(session: Session, _previous_transaction) -> None:
    session.info.pop("public_pages_changed", None)


# The language a page is rendered in is part of its validator (and of the remembered one's key).
locale: Callable[[], str] = i18n.current


def _release() -> str:
    """A digest of the code and the templates: a new release renders differently, so every tag
    it makes differs from the previous release's (a browser's or proxy's copy is not reused)."""
    digest = hashlib.blake2b(digest_size=8)
    for folder, pattern in ((PROJECT_ROOT / "judging", "*.py"), (PROJECT_ROOT / "templates", "*")):
        for path in sorted(folder.rglob(pattern)):
            if path.is_file():
                digest.update(str(path.relative_to(PROJECT_ROOT)).encode())
                digest.update(path.read_bytes())
    return digest.hexdigest()


RELEASE = _release()


def anonymous_visitor() -> bool:
    """Whether the answer to this request may be the one every visitor gets: no one logged in
    and nothing in the session (a flash message, a CSRF token, a vote in progress)."""
    return not signed_in() and not session


def _tag(kind: str, *parts) -> str:
    digest = hashlib.blake2b(repr((kind, RELEASE, locale(), parts)).encode(), digest_size=16)
    return digest.hexdigest()


def _cacheable(award: Award | None) -> bool:
    # Not public: only administrators see it (never from here). Voting: the page shows the
    # ballot while voting is open, which depends on the time, not only on the rows.
    return award is not None and award.public and award.status != "voting"


def _row(instance) -> tuple:
    """Every column of a loaded row: what a page shows of it is among them."""
    return tuple(getattr(instance, column.key) for column in instance.__table__.columns)


# Each lookup below answers from `validators` when it can; otherwise it is one query, and hands
# back what it loaded, so that a miss renders from those rows without reading them again.


def award_page(slug: str) -> tuple[str, Award | None] | None:
    """(the validator of an award's public page, the award with its nominees, or None when the
    validator was remembered), or None when the page is not for the public cache (no such
    award, not public, voting open)."""
    key = ("award", slug, locale())
    remembered = validators().get(key)
    if remembered is not Validators.MISSING:
        return None if remembered is None else (remembered, None)
    award = (
        db.session.scalars(
            select(Award).where(Award.slug == slug).options(joinedload(Award.nominees))
        )
        .unique()
        .one_or_none()
    )
    if award is None or not _cacheable(award):
        validators().put(key, None)
        return None
    tag = _tag("award", _row(award), tuple(_row(n) for n in award.nominees))
    validators().put(key, tag)
    return tag, award


def nominee_page(slug: str, nominee_slug: str) -> tuple[str, Nominee | None] | None:
    """(the validator of a nominee's page, the nominee with its award or None), or None."""
    key = ("nominee", slug, nominee_slug, locale())
    remembered = validators().get(key)
    if remembered is not Validators.MISSING:
        return None if remembered is None else (remembered, None)
    nominee = db.session.scalars(
        select(Nominee)
        .join(Nominee.award)
        .where(Award.slug == slug, Nominee.slug == nominee_slug)
        .options(contains_eager(Nominee.award))
    ).one_or_none()
    if nominee is None or not _cacheable(nominee.award):
        validators().put(key, None)
        return None
    tag = _tag("nominee", _row(nominee.award), _row(nominee))
    validators().put(key, tag)
    return tag, nominee


def published_results(
    slug: str, kind: str
) -> tuple[str, tuple[Award, ResultSnapshot] | None] | None:
    """(the validator of the published results as `kind`, page or json, the award and its
    snapshot or None), or None before publication (then only administrators see results)."""
    key = ("results", kind, slug, locale())
    remembered = validators().get(key)
    if remembered is not Validators.MISSING:
        return None if remembered is None else (remembered, None)
    found = published_rows(slug)
    if found is None or not _cacheable(found[0]):
        validators().put(key, None)
        return None
    award, snapshot = found
    tag = _tag(f"results-{kind}", _row(award), snapshot.id, snapshot.digest)
    validators().put(key, tag)
    return tag, (award, snapshot)


def published_rows(slug: str) -> tuple[Award, ResultSnapshot] | None:
    """The award and its result snapshot, one query; None before publication."""
    found = db.session.execute(
        select(Award, ResultSnapshot)
        .join(ResultSnapshot, ResultSnapshot.award_id == Award.id)
        .where(Award.slug == slug)
    ).one_or_none()
    return None if found is None else (found[0], found[1])


def public_answer(tag: str, render: Callable[[], Response | str]) -> Response:
    """The answer every visitor gets for `tag`: 304 when the request already holds it, else the
    rendered answer, from this process's page cache or rendered once by `render`."""
    response_class = current_app.response_class
    if request.if_none_match.contains_weak(tag):
        response = response_class(status=304)
    else:
        found = pages.get(tag)
        if found is None:
            rendered = render()
            if isinstance(rendered, Response):
                found = (rendered.get_data(), rendered.mimetype or "text/html")
            else:
                found = (rendered.encode(), "text/html")
            pages.put(tag, found)
        body, mimetype = found
        response = response_class(body, mimetype=mimetype)
    response.set_etag(tag)
    response.headers["Cache-Control"] = CACHE_CONTROL
    response.vary.add("Cookie")  # the visitor's language choice is a cookie too
    response.vary.add("Accept-Language")
    return response
