"""Who may reach what: every route the app registers, tried as five personas, must give the
outcome MATRIX names (a page, the login page, 403, ...). A route missing from MATRIX fails
test_matrix_covers_every_route: a new route must be added to MATRIX with a decision per persona.
"""

from urllib.parse import urlsplit

import pytest
from flask import url_for
from sqlalchemy import func, select

from judging.extensions import db, limiter
from judging.models import (
    AccountToken,
    AuditEvent,
    Award,
    JuryMember,
    Nominee,
    OutgoingMail,
    Recusal,
    User,
)

from .fixtures.app import emptied_after, make_test_app
from .fixtures.domain import csrf_token, log_in

# What a response amounts to, as a person would see it.
OK = "OK (2xx)"
LOGIN = "LOGIN (302 to /login)"
REDIRECT = "REDIRECT (3xx elsewhere)"
BAD_REQUEST = "BAD_REQUEST (400)"
UNAUTHORIZED = "UNAUTHORIZED (401, the API's 'log in first')"
FORBIDDEN = "FORBIDDEN (403)"
NOT_FOUND = "NOT_FOUND (404)"
INVALID = "INVALID (422: the form was reached, and its empty input refused)"
CONFLICT = "HTTP 409"

PERSONAS = ("anonymous", "juror", "other_juror", "deactivated", "admin")


def outcomes(*, anonymous, juror, other_juror, deactivated, admin) -> dict[str, str]:
    """One route's expected outcome for each persona; every persona must be named."""
    return {
        "anonymous": anonymous,
        "juror": juror,
        "other_juror": other_juror,
        "deactivated": deactivated,
        "admin": admin,
    }


# A deactivated account's old cookie is worth nothing: it must behave exactly as anonymous.
EVERYONE = outcomes(anonymous=OK, juror=OK, other_juror=OK, deactivated=OK, admin=OK)
SIGNED_IN = outcomes(anonymous=LOGIN, juror=OK, other_juror=OK, deactivated=LOGIN, admin=OK)
SIGNED_OUT = outcomes(
    anonymous=OK, juror=REDIRECT, other_juror=REDIRECT, deactivated=OK, admin=REDIRECT
)
JURORS = outcomes(anonymous=LOGIN, juror=OK, other_juror=OK, deactivated=LOGIN, admin=FORBIDDEN)
ADMINS = outcomes(
    anonymous=LOGIN, juror=FORBIDDEN, other_juror=FORBIDDEN, deactivated=LOGIN, admin=OK
)
# The pages of one award's jury (the seeded award's: the juror persona's, not other_juror's).
AWARD_JURY = outcomes(
    anonymous=LOGIN, juror=OK, other_juror=FORBIDDEN, deactivated=LOGIN, admin=FORBIDDEN
)
# A jury form action: done, then on to a page.
AWARD_JURY_ACTION = {**AWARD_JURY, "juror": REDIRECT}
# The same for the JSON API, which answers 401 where a page would send to /login.
AWARD_JURY_API = outcomes(
    anonymous=UNAUTHORIZED,
    juror=OK,
    other_juror=FORBIDDEN,
    deactivated=UNAUTHORIZED,
    admin=FORBIDDEN,
)
# An admin's form action: done, then back to the page it came from.
ADMIN_ACTION = {**ADMINS, "admin": REDIRECT}
# A form action of one's own account that, done or refused, goes back to a page.
OWN_ACCOUNT_ACTION = {**SIGNED_IN, "juror": REDIRECT, "other_juror": REDIRECT, "admin": REDIRECT}
# An invalid invitation or reset link says so, to whoever follows it.
BAD_LINK = outcomes(
    anonymous=BAD_REQUEST,
    juror=BAD_REQUEST,
    other_juror=BAD_REQUEST,
    deactivated=BAD_REQUEST,
    admin=BAD_REQUEST,
)
# Everyone is sent to /login: after logging out, or (for the second step of logging in) with no
# password just checked.
TO_LOGIN_PAGE = outcomes(
    anonymous=LOGIN, juror=LOGIN, other_juror=LOGIN, deactivated=LOGIN, admin=LOGIN
)


def form_post(page: dict[str, str]) -> dict[str, str]:
    """Posting an empty form where the page is open gets its errors back (422)."""
    return {persona: INVALID if outcome == OK else outcome for persona, outcome in page.items()}


# Results before publication: administrators see a provisional version, nobody else anything.
UNPUBLISHED = outcomes(
    anonymous=NOT_FOUND, juror=NOT_FOUND, other_juror=NOT_FOUND, deactivated=NOT_FOUND, admin=OK
)
# A page the award does not have (the seeded award has no online vote): 404 for everyone.
NOWHERE = dict.fromkeys(PERSONAS, NOT_FOUND)

MATRIX: dict[tuple[str, str], dict[str, str]] = {
    # Public pages, the JSON API (read-only so far) and static files.
    ("GET", "/"): EVERYONE,
    ("GET", "/awards/<slug>"): EVERYONE,
    ("GET", "/awards/<slug>/nominees/<nominee_slug>"): EVERYONE,
    ("GET", "/privacy"): EVERYONE,
    # The language menu: keeps the choice in a cookie and goes back (for everyone alike).
    ("GET", "/language/<code>"): dict.fromkeys(PERSONAS, REDIRECT),
    ("GET", "/api/v1/awards"): EVERYONE,
    ("GET", "/api/v1/awards/<award_slug>/nominees"): EVERYONE,
    ("GET", "/api/v1/awards/<award_slug>/criteria"): EVERYONE,
    ("GET", "/api/v1/openapi.json"): EVERYONE,
    ("GET", "/static/<path:filename>"): EVERYONE,
    # Health checks for a load balancer: no login, no cookie, never rate limited.
    ("GET", "/healthz"): EVERYONE,
    ("GET", "/readyz"): EVERYONE,
    # Logging in and out, links sent by email.
    ("GET", "/login"): SIGNED_OUT,
    ("POST", "/login"): form_post(SIGNED_OUT),
    ("GET", "/login/two-factor"): TO_LOGIN_PAGE,
    ("POST", "/login/two-factor"): TO_LOGIN_PAGE,
    ("POST", "/logout"): TO_LOGIN_PAGE,
    ("GET", "/password/forgot"): EVERYONE,
    ("POST", "/password/forgot"): form_post(EVERYONE),
    ("GET", "/invitation/<token>"): BAD_LINK,
    ("POST", "/invitation/<token>"): BAD_LINK,
    ("GET", "/password/reset/<token>"): BAD_LINK,
    ("POST", "/password/reset/<token>"): BAD_LINK,
    # One's own account.
    ("GET", "/reauthenticate"): SIGNED_IN,
    ("POST", "/reauthenticate"): form_post(SIGNED_IN),
    ("GET", "/account/two-factor"): SIGNED_IN,
    ("POST", "/account/two-factor"): form_post(SIGNED_IN),
    ("POST", "/account/two-factor/disable"): OWN_ACCOUNT_ACTION,
    ("POST", "/account/two-factor/recovery-codes"): OWN_ACCOUNT_ACTION,
    ("GET", "/account/data"): SIGNED_IN,
    # The jury's pages and their JSON API.
    ("GET", "/jury/"): JURORS,
    ("GET", "/jury/awards/<slug>/nominees/<nominee_slug>"): AWARD_JURY,
    ("GET", "/jury/awards/<slug>/nominees/<nominee_slug>/history"): AWARD_JURY,
    ("POST", "/jury/awards/<slug>/nominees/<nominee_slug>"): AWARD_JURY_ACTION,
    ("POST", "/jury/awards/<slug>/nominees/<nominee_slug>/recusal"): AWARD_JURY_ACTION,
    ("GET", "/api/v1/awards/<award_slug>/nominees/<nominee_slug>/my-evaluation"): AWARD_JURY_API,
    ("PUT", "/api/v1/awards/<award_slug>/nominees/<nominee_slug>/my-evaluation"): AWARD_JURY_API,
    ("POST", "/api/v1/awards/<award_slug>/nominees/<nominee_slug>/recusal"): AWARD_JURY_API,
    # Administration.
    ("GET", "/admin/"): ADMINS,
    ("GET", "/admin/awards/<slug>"): ADMINS,
    (
        "POST",
        "/admin/awards/<slug>/<any(open_scoring, close_scoring, open_voting, close_voting):step>",
    ): ADMIN_ACTION,
    ("POST", "/admin/awards/<slug>/recusals/<int:recusal_id>/lift"): ADMIN_ACTION,
    # An award's jury, its assignment, progress and reminders.
    ("GET", "/admin/awards/<slug>/jury"): ADMINS,
    ("POST", "/admin/awards/<slug>/jury/add"): form_post(ADMINS),
    ("POST", "/admin/awards/<slug>/jury/<int:user_id>/remove"): ADMIN_ACTION,
    ("POST", "/admin/awards/<slug>/jury/mode"): ADMIN_ACTION,
    ("POST", "/admin/awards/<slug>/jury/generate"): form_post(ADMINS),
    ("POST", "/admin/awards/<slug>/jury/assignment"): ADMIN_ACTION,
    ("POST", "/admin/awards/<slug>/jury/remind"): ADMIN_ACTION,
    ("POST", "/admin/awards/<slug>/jury/<int:user_id>/remind"): ADMIN_ACTION,
    # Results: before publication only administrators see them (provisional).
    ("GET", "/awards/<slug>/results"): UNPUBLISHED,
    ("GET", "/api/v1/awards/<award_slug>/results"): UNPUBLISHED,
    ("GET", "/admin/awards/<slug>/review"): ADMINS,
    # The online vote: an award without one (the seeded award) answers 404 to everyone.
    ("GET", "/vote/<slug>/online"): NOWHERE,
    ("POST", "/vote/<slug>/online"): NOWHERE,
    ("GET", "/vote/<slug>/online/<token>"): NOWHERE,
    ("POST", "/vote/<slug>/online/<token>"): NOWHERE,
    ("GET", "/vote/<slug>/online/<token>/confirm"): NOWHERE,
    ("GET", "/admin/audit"): ADMINS,
    ("POST", "/admin/audit/verify"): ADMIN_ACTION,
    ("GET", "/admin/mail"): ADMINS,
    ("POST", "/admin/mail/<int:mail_id>/retry"): ADMIN_ACTION,
    ("POST", "/admin/awards/<slug>/publish"): form_post(ADMINS),
    # Setting up awards and their criteria.
    ("GET", "/admin/awards/new"): ADMINS,
    ("POST", "/admin/awards/new"): form_post(ADMINS),
    ("GET", "/admin/awards/<slug>/settings"): ADMINS,
    ("POST", "/admin/awards/<slug>/settings"): form_post(ADMINS),
    ("POST", "/admin/awards/<slug>/archive"): ADMIN_ACTION,
    ("POST", "/admin/awards/<slug>/make-public"): ADMIN_ACTION,
    ("GET", "/admin/awards/<slug>/criteria"): ADMINS,
    ("POST", "/admin/awards/<slug>/criteria"): form_post(ADMINS),
    ("GET", "/admin/awards/<slug>/criteria/<int:criterion_id>"): ADMINS,
    ("POST", "/admin/awards/<slug>/criteria/<int:criterion_id>"): form_post(ADMINS),
    ("POST", "/admin/awards/<slug>/criteria/<int:criterion_id>/delete"): ADMIN_ACTION,
    ("POST", "/admin/awards/<slug>/criteria/<int:criterion_id>/<any(up, down):direction>"): (
        ADMIN_ACTION
    ),
    # An award's nominees.
    ("GET", "/admin/awards/<slug>/nominees"): ADMINS,
    ("GET", "/admin/awards/<slug>/nominees/new"): ADMINS,
    ("POST", "/admin/awards/<slug>/nominees/new"): ADMIN_ACTION,
    ("GET", "/admin/awards/<slug>/nominees/<nominee_slug>/edit"): ADMINS,
    ("POST", "/admin/awards/<slug>/nominees/<nominee_slug>/edit"): ADMIN_ACTION,
    ("POST", "/admin/awards/<slug>/nominees/<nominee_slug>/<any(up, down):direction>"): (
        ADMIN_ACTION
    ),
    ("POST", "/admin/awards/<slug>/nominees/<nominee_slug>/withdraw"): ADMIN_ACTION,
    ("POST", "/admin/awards/<slug>/nominees/<nominee_slug>/reinstate"): ADMIN_ACTION,
    ("POST", "/admin/awards/<slug>/nominees/<nominee_slug>/delete"): ADMIN_ACTION,
    ("GET", "/admin/awards/<slug>/nominees/import"): ADMINS,
    # The preview: a page, nothing written.
    ("POST", "/admin/awards/<slug>/nominees/import"): ADMINS,
    ("POST", "/admin/awards/<slug>/nominees/import/confirm"): ADMIN_ACTION,
    # The ranking before publication: administrators only (jurors judge blind).
    ("GET", "/admin/awards/<slug>/leaderboard"): ADMINS,
    ("POST", "/admin/awards/<slug>/casting"): ADMIN_ACTION,
    ("GET", "/admin/awards/<slug>/results.<any(json, csv):fmt>"): ADMINS,
    ("GET", "/admin/awards/<slug>/scores.<any(json, csv):fmt>"): ADMINS,
    # Ceremony mode. The presenter's page rehearses the provisional ranking before publication;
    # the certificate waits for published results (404 before, as here); the printable sheet is
    # shown exactly when the results page is (before publication: to administrators only).
    ("GET", "/admin/awards/<slug>/present"): ADMINS,
    ("GET", "/admin/awards/<slug>/certificate"): {**ADMINS, "admin": NOT_FOUND},
    ("GET", "/awards/<slug>/results/sheet"): UNPUBLISHED,
    ("GET", "/admin/people"): ADMINS,
    ("POST", "/admin/people/invite"): ADMIN_ACTION,
    ("POST", "/admin/people/<int:user_id>/resend"): ADMIN_ACTION,
    ("POST", "/admin/people/<int:user_id>/deactivate"): ADMIN_ACTION,
    ("POST", "/admin/people/<int:user_id>/reactivate"): ADMIN_ACTION,
    ("POST", "/admin/people/<int:user_id>/role"): ADMIN_ACTION,
    ("POST", "/admin/people/<int:user_id>/awards"): ADMIN_ACTION,
    # Without confirmed=yes: the confirmation page.
    ("POST", "/admin/people/<int:user_id>/anonymise"): ADMINS,
    ("GET", "/admin/settings"): ADMINS,
    ("POST", "/admin/settings"): ADMIN_ACTION,
    # Voting administration: its rules, access codes (shown once) and cards, voiding ballots.
    ("GET", "/admin/awards/<slug>/voting"): ADMINS,
    ("POST", "/admin/awards/<slug>/voting/settings"): form_post(ADMINS),
    ("POST", "/admin/awards/<slug>/voting/live-tally"): ADMIN_ACTION,
    # With a count: on to the page of the new codes, which only the session that made them sees.
    ("POST", "/admin/awards/<slug>/voting/codes"): ADMIN_ACTION,
    ("GET", "/admin/awards/<slug>/voting/codes/<batch>"): {**ADMINS, "admin": NOT_FOUND},
    ("GET", "/admin/awards/<slug>/voting/codes/<batch>/codes.txt"): {
        **ADMINS,
        "admin": NOT_FOUND,
    },
    # No codes posted: nothing to print.
    ("POST", "/admin/awards/<slug>/voting/cards"): form_post(ADMINS),
    # Ballot 1 does not exist: said on the page, with a 404.
    ("POST", "/admin/awards/<slug>/voting/void"): {**ADMINS, "admin": NOT_FOUND},
    # The vote: anyone with a card's code votes; while the jury scores, voting is not open.
    ("GET", "/vote/<slug>"): EVERYONE,
    ("POST", "/vote/<slug>"): outcomes(
        anonymous=CONFLICT,
        juror=CONFLICT,
        other_juror=CONFLICT,
        deactivated=CONFLICT,
        admin=CONFLICT,
    ),
    ("GET", "/vote/<slug>/check"): EVERYONE,
    # Nothing waiting to be confirmed: back to the ballot. No ballot has this receipt: 404.
    ("GET", "/vote/<slug>/confirm"): dict.fromkeys(PERSONAS, REDIRECT),
    ("GET", "/vote/<slug>/receipt/<receipt>"): NOWHERE,
    ("POST", "/api/v1/awards/<award_slug>/ballots"): outcomes(
        anonymous=CONFLICT,
        juror=CONFLICT,
        other_juror=CONFLICT,
        deactivated=CONFLICT,
        admin=CONFLICT,
    ),
}

NEW_NOMINEE = {
    "title": "Repair Café",
    "organisation": "City of Ghent",
    "city": "Ghent",
    "country": "Belgium",
}
NEW_NOMINEE_CSV = "title,organisation,city,country\nRepair Café,City of Ghent,Ghent,Belgium\n"

# Form fields that make a POST do its real work, so that a refusal refuses something.
FORM_DATA: dict[tuple[str, str], dict[str, str]] = {
    ("POST", "/admin/people/invite"): {
        "name": "New Juror",
        "email": "new.juror@example.org",
        "role": "juror",
    },
    ("POST", "/admin/people/<int:user_id>/role"): {"role": "admin"},
    (
        "POST",
        "/admin/awards/<slug>/<any(open_scoring, close_scoring, open_voting, close_voting):step>",
    ): {"confirmed": "yes"},
    # No awards ticked: the juror is taken off every jury.
    ("POST", "/admin/people/<int:user_id>/awards"): {},
    ("POST", "/admin/settings"): {"require_admin_2fa": "off"},
    ("POST", "/admin/awards/<slug>/voting/codes"): {"count": "2"},
    ("POST", "/admin/awards/<slug>/voting/void"): {"ballot": "1", "reason": "A test."},
    # The award's jury is empty for the admin persona: generating is refused beside the field.
    ("POST", "/admin/awards/<slug>/jury/generate"): {"k": "2"},
    ("POST", "/admin/awards/<slug>/jury/mode"): {"mode": "all"},
    ("POST", "/jury/awards/<slug>/nominees/<nominee_slug>"): {
        "version": "0",
        "action": "save",
        "score-impact": "7",
    },
    ("POST", "/jury/awards/<slug>/nominees/<nominee_slug>/recusal"): {
        "reason": "I advised this project.",
        "step": "confirmed",  # past the confirmation page
    },
    ("POST", "/admin/people/<int:user_id>/resend"): {"confirmed": "yes"},
    ("POST", "/admin/awards/<slug>/recusals/<int:recusal_id>/lift"): {
        "reason": "The conflict does not stand."
    },
    ("POST", "/admin/awards/<slug>/nominees/new"): NEW_NOMINEE,
    ("POST", "/admin/awards/<slug>/nominees/<nominee_slug>/edit"): {
        "title": "Gaming Club",
        "organisation": "Gothenburg City Council",
        "city": "Gothenburg",
        "country": "Sweden",
    },
    ("POST", "/admin/awards/<slug>/nominees/<nominee_slug>/withdraw"): {
        "reason": "The project withdrew its application."
    },
    ("POST", "/admin/awards/<slug>/nominees/import"): {"text": NEW_NOMINEE_CSV},
    ("POST", "/admin/awards/<slug>/nominees/import/confirm"): {
        "text": NEW_NOMINEE_CSV,
        "format": "csv",
    },
    ("POST", "/vote/<slug>"): {
        "code": "ABCD-EFGH-JKLM-NPQR",
        "nominee": "gaming-club",
        "action": "confirm",
    },
}

# JSON bodies of the API's writes, sent with the X-CSRFToken header as the pages' script does.
JSON_BODY: dict[tuple[str, str], dict] = {
    ("PUT", "/api/v1/awards/<award_slug>/nominees/<nominee_slug>/my-evaluation"): {
        "scores": {"impact": 7},
        "submitted": False,
        "version": 0,
    },
    ("POST", "/api/v1/awards/<award_slug>/nominees/<nominee_slug>/recusal"): {
        "reason": "I advised this project."
    },
    ("POST", "/api/v1/awards/<award_slug>/ballots"): {
        "code": "ABCD-EFGH-JKLM-NPQR",
        "nominee": "gaming-club",
    },
}

URL_VALUES = {
    "slug": "excellence-award",
    "award_slug": "excellence-award",
    "nominee_slug": "gaming-club",
    "step": "close_scoring",
    "token": "not-a-real-token-0123456789",
    "batch": "0a1b2c3d",
    "receipt": "ABCDEF123456",
    "filename": "css/app.css",
    "fmt": "csv",
    "direction": "down",
    "code": "de",
}

ID_ROUTES = sorted(rule for method, rule in MATRIX if "<int:user_id>" in rule)


def _registered_routes(app) -> set[tuple[str, str]]:
    return {
        (method, rule.rule)
        for rule in app.url_map.iter_rules()
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }


def _log_in(client, user: User) -> None:
    response = log_in(client, user)
    assert response.status_code == 302, response.get_data(as_text=True)
    assert urlsplit(response.location).path == ("/admin/" if user.is_admin else "/jury/")


def _other_award() -> Award:
    award = Award(slug="other-award", title="Another Award")
    db.session.add(award)
    db.session.commit()
    return award


def _recusal(make_user, award: Award) -> Recusal:
    """Another juror's conflict of interest, with a nominee the personas do not score."""
    juror = make_user(role="juror", awards=[award])
    nominee = db.session.scalar(
        select(Nominee).where(Nominee.award_id == award.id, Nominee.slug == "day-centre-sviesa")
    )
    recusal = Recusal(nominee_id=nominee.id, juror_id=juror.id, reason="I advised them.")
    db.session.add(recusal)
    db.session.commit()
    return recusal


def _failed_mail() -> OutgoingMail:
    """A message the sender gave up on: the one an administrator may send again."""
    from judging.services.outbox import queue_mail

    mail = queue_mail("someone@example.org", "Hello", "A body.", kind="announcement")
    mail.status = "failed"
    db.session.commit()
    return mail


def _become(persona: str, client, make_user, request) -> None:
    """Log `client` in as `persona`; anonymous stays as it is."""
    if persona == "anonymous":
        return
    if persona == "juror":
        user = make_user(role="juror", awards=[request.getfixturevalue("seeded_award")])
    elif persona == "other_juror":
        user = make_user(role="juror", awards=[_other_award()])
    else:
        # The deactivated persona is an administrator: the most to lose if an old cookie worked.
        user = make_user(role="admin")
    _log_in(client, user)
    if persona == "deactivated":
        user.active = False
        user.session_version += 1
        db.session.commit()


def _outcome(response) -> str:
    status = response.status_code
    if 200 <= status < 300:
        return OK
    if 300 <= status < 400:
        return LOGIN if urlsplit(response.location).path == "/login" else REDIRECT
    named = {400: BAD_REQUEST, 401: UNAUTHORIZED, 403: FORBIDDEN, 404: NOT_FOUND, 422: INVALID}
    return named.get(status, f"HTTP {status}")


def _cases():
    for (method, rule), expected in MATRIX.items():
        for persona in PERSONAS:
            yield pytest.param(
                method, rule, persona, expected[persona], id=f"{method} {rule}-{persona}"
            )


@pytest.fixture(scope="module")
def matrix_app(database_url, tmp_path_factory):
    """One app for the module's hundreds of cases: making an app per case was half their time."""
    return make_test_app(database_url, tmp_path_factory.mktemp("matrix"))


@pytest.fixture
def app(matrix_app):
    """The module's app on an emptied database, with fresh limiter counters, for each case."""
    limiter.reset()
    with emptied_after(matrix_app) as app:
        yield app


def test_matrix_covers_every_route(app):
    """Adding a route without deciding who may reach it fails here."""
    registered = _registered_routes(app)
    missing = sorted(registered - MATRIX.keys())
    extra = sorted(MATRIX.keys() - registered)
    assert not missing, f"routes missing from MATRIX: {missing}"
    assert not extra, f"MATRIX entries for routes the app does not have: {extra}"
    incomplete = sorted(key for key, row in MATRIX.items() if set(row) != set(PERSONAS))
    assert not incomplete, f"MATRIX entries without exactly {PERSONAS}: {incomplete}"


@pytest.mark.parametrize(("method", "rule", "persona", "expected"), list(_cases()))
def test_access(app, client, make_user, request, method, rule, persona, expected):
    url_rule = next(r for r in app.url_map.iter_rules() if r.rule == rule)
    values = {name: URL_VALUES.get(name) for name in url_rule.arguments}
    if "slug" in values or "award_slug" in values:
        # The award while its jury scores, when every jury route is live.
        award = request.getfixturevalue("seeded_award")
        award.status = "scoring"
        db.session.commit()
    if "user_id" in values:
        # Someone other than the actor, invited but not yet in: every admin action is valid.
        values["user_id"] = make_user(role="juror", invited=True).id
    if "recusal_id" in values:
        values["recusal_id"] = _recusal(make_user, award).id
    if "criterion_id" in values:
        values["criterion_id"] = award.criteria[0].id
    if "mail_id" in values:
        values["mail_id"] = _failed_mail().id
    _become(persona, client, make_user, request)

    with app.test_request_context():
        url = url_for(url_rule.endpoint, **values)
    if (method, rule) in JSON_BODY:
        headers = {"X-CSRFToken": csrf_token(client, "/")}
        response = client.open(url, method=method, json=JSON_BODY[method, rule], headers=headers)
    elif method == "POST":
        data = {**FORM_DATA.get((method, rule), {}), "csrf_token": csrf_token(client, "/")}
        response = client.post(url, data=data)
    else:
        response = client.get(url)
    response.close()  # a static file is streamed from an open file

    assert _outcome(response) == expected, (
        f"{method} {url} as {persona}: {response.status_code} {response.location or ''}"
    )


def _database_state() -> dict:
    """What a juror must not be able to change, read through a connection of its own."""
    with db.engine.connect() as connection:
        return {
            "users": connection.execute(
                select(
                    User.id,
                    User.role,
                    User.active,
                    User.session_version,
                    User.password_hash,
                    User.totp_enabled_at,
                ).order_by(User.id)
            ).all(),
            "juries": connection.execute(
                select(JuryMember.award_id, JuryMember.user_id).order_by(JuryMember.id)
            ).all(),
            "tokens": connection.scalar(select(func.count()).select_from(AccountToken)),
            "audit": connection.scalar(select(func.count()).select_from(AuditEvent)),
        }


@pytest.mark.parametrize("rule", ID_ROUTES)
def test_juror_cannot_act_on_any_user_id(app, client, make_user, seeded_award, rule):
    """Changing the id in the URL never gets a juror to anyone's account, their own included."""
    juror = make_user(role="juror", awards=[seeded_award])
    other_juror = make_user(role="juror", awards=[_other_award()])
    invited = make_user(role="juror", invited=True)
    admin = make_user(role="admin")
    _log_in(client, juror)
    before = _database_state()
    nonexistent = max(u.id for u in (juror, other_juror, invited, admin)) + 1000

    data = {**FORM_DATA.get(("POST", rule), {}), "csrf_token": csrf_token(client, "/")}
    for user_id in (juror.id, other_juror.id, invited.id, admin.id, nonexistent):
        url = rule.replace("<int:user_id>", str(user_id))
        response = client.post(url, data=data)
        assert response.status_code == 403, f"POST {url}: {response.status_code}"

    assert _database_state() == before
