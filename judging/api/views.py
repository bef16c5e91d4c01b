"""The JSON API under /api/v1, documented at /api/v1/openapi.json."""

from functools import wraps

from flask import abort as flask_abort
from flask import current_app, jsonify, request
from flask_login import current_user
from flask_smorest import abort
from werkzeug.exceptions import default_exceptions

from judging import caching
from judging.api import blueprint
from judging.api.schemas import (
    AwardOut,
    BallotIn,
    BallotOut,
    ConflictOut,
    CriterionOut,
    ErrorOut,
    EvaluationIn,
    EvaluationOut,
    NomineeOut,
    RecusalIn,
    RecusalOut,
    ResultsOut,
)
from judging.errors import api_error
from judging.extensions import csrf, db, limiter, refused
from judging.lookups import (
    award_or_404,
    award_with_nominee_or_404,
    nominee_or_404,
    public_award_or_404,
)
from judging.models import Award, Nominee, ResultSnapshot
from judging.services import evaluations, juror_view, publication, recusals, voting
from judging.services.awards import list_awards_with_counts
from judging.services.errors import ServiceError


def _award(slug: str) -> Award:
    return award_or_404(slug, "No award with this slug.")


def _public_award(slug: str) -> Award:
    """The award a public endpoint names: 404 unless it is public (or the caller an admin)."""
    return public_award_or_404(slug, "No award with this slug.")


def _nominee(award: Award, slug: str) -> Nominee:
    return nominee_or_404(award, slug, "No nominee with this slug in this award.")


def _award_and_nominee(slug: str, nominee_slug: str) -> tuple[Award, Nominee]:
    """The award and its nominee, in one query; 404 for either."""
    award, nominee = award_with_nominee_or_404(slug, nominee_slug, "No award with this slug.")
    if nominee is None:
        flask_abort(404, "No nominee with this slug in this award.")
    assert nominee is not None  # abort raised
    return award, nominee


def juror_required(view):
    """401 for a visitor (or an expired session), 403 for an account that is not a juror."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        if not current_user.is_authenticated:
            abort(401, message="Log in first. Nothing you entered is lost.")
        if current_user.role != "juror":
            abort(403, message="Only jurors have evaluations.")
        return view(*args, **kwargs)

    return wrapped


@blueprint.errorhandler(ServiceError)
def _refuse(exc: ServiceError):
    """A refused use case: roll back, answer its status and message (and the current state
    of an evaluation someone else saved in the meantime, for a 409)."""
    db.session.rollback()
    if isinstance(exc, evaluations.StaleVersion):
        body = {
            "code": 409,
            "status": "Conflict",
            "message": exc.message,
            "current": EvaluationOut().dump(exc.current.as_dict()),
        }
        response = jsonify(body)
        response.status_code = 409
        return response
    error = default_exceptions[exc.status](exc.message)
    error.data = {"message": exc.message, "errors": exc.errors or None}  # type: ignore[attr-defined]
    return api_error(error)


@blueprint.get("/awards")
@blueprint.response(200, AwardOut(many=True))
def list_awards():
    """The awards, newest first."""
    return [
        {
            "slug": award.slug,
            "title": award.title,
            "description": award.description,
            "status": award.status,
            "nominee_count": count,
        }
        for award, count in list_awards_with_counts(public_only=True)
    ]


@blueprint.get("/awards/<award_slug>/nominees")
@blueprint.response(200, NomineeOut(many=True))
@blueprint.alt_response(404, schema=ErrorOut, description="No award with this slug")
def list_nominees(award_slug: str):
    """An award's nominees in the running (withdrawn ones left out), in the award's order."""
    return [n for n in _public_award(award_slug).nominees if n.withdrawn_at is None]


@blueprint.get("/awards/<award_slug>/criteria")
@blueprint.response(200, CriterionOut(many=True))
@blueprint.alt_response(404, schema=ErrorOut, description="No award with this slug")
def list_criteria(award_slug: str):
    """The criteria a nominee is scored on: weight, scale and guidance."""
    return _public_award(award_slug).criteria


_JUROR_ERRORS = [
    (401, "Not logged in, or the session has ended"),
    (403, "Not a juror of this award, or a declared conflict of interest"),
    (404, "No such award or nominee"),
]


# Every write: the CSRF token (the X-CSRFToken header, from a page's meta tag) and the JSON body
# are checked before anything else, and a database that refuses writes says so.
_WRITE_ERRORS = [
    (400, "The CSRF token is missing or invalid, or the body is not JSON"),
    (503, "The database is not accepting changes right now; nothing was saved"),
]


def _document(errors):
    def decorate(view):
        for status, description in errors:
            view = blueprint.alt_response(status, schema=ErrorOut, description=description)(view)
        return view

    return decorate


_document_errors = _document(_JUROR_ERRORS)
_document_write_errors = _document(_WRITE_ERRORS)


@blueprint.get("/awards/<award_slug>/nominees/<nominee_slug>/my-evaluation")
@blueprint.response(200, EvaluationOut)
@_document_errors
@juror_required
def get_my_evaluation(award_slug: str, nominee_slug: str):
    """The logged-in juror's own evaluation of the nominee (version 0 if never saved)."""
    award, nominee = _award_and_nominee(award_slug, nominee_slug)
    return juror_view.my_evaluation(award, nominee, juror=current_user).as_dict()


@blueprint.put("/awards/<award_slug>/nominees/<nominee_slug>/my-evaluation")
@juror_required  # before the body is read: a visitor learns only to log in
@blueprint.arguments(EvaluationIn)
@blueprint.response(200, EvaluationOut)
@blueprint.alt_response(
    409,
    schema=ConflictOut,
    description="Scoring is closed, or a newer version was saved elsewhere "
    "(then `current` holds it)",
)
@_document_errors
@_document_write_errors
def put_my_evaluation(data: dict, award_slug: str, nominee_slug: str):
    """Save the juror's evaluation (a draft, or with `submitted: true` a submission)."""
    award, nominee = _award_and_nominee(award_slug, nominee_slug)
    state = evaluations.save_evaluation(award, nominee, juror=current_user, **data)
    db.session.commit()
    return state.as_dict()


@blueprint.post("/awards/<award_slug>/nominees/<nominee_slug>/recusal")
@juror_required  # before the body is read: a visitor learns only to log in
@blueprint.arguments(RecusalIn)
@blueprint.response(201, RecusalOut)
@blueprint.alt_response(409, schema=ErrorOut, description="Scoring has closed")
@_document_errors
@_document_write_errors
def declare_recusal(data: dict, award_slug: str, nominee_slug: str):
    """Declare a conflict of interest: the juror will not score this nominee."""
    award = _award(award_slug)
    nominee = _nominee(award, nominee_slug)
    recusal = recusals.declare_recusal(award, nominee, juror=current_user, **data)
    db.session.commit()
    return {"nominee": nominee.slug, "reason": recusal.reason, "declared_at": recusal.declared_at}


@blueprint.get("/awards/<award_slug>/results")
@blueprint.response(200, ResultsOut)
@blueprint.alt_response(
    404, schema=ErrorOut, description="No such award, or its results are not published yet"
)
def get_results(award_slug: str):
    """The published results (the frozen snapshot, with its digest and publication time);
    before publication, a provisional ranking for administrators only."""
    if caching.anonymous_visitor() and (cached := caching.published_results(award_slug, "json")):
        # The snapshot never changes: its answer is serialised once per process (bench/README.md)
        # and carries an ETag, so a browser, proxy or CDN can keep it (judging/caching.py).
        tag, loaded = cached

        def render():  # only on a miss
            _award, frozen = loaded or caching.published_rows(award_slug) or abort(404)
            return _published_json(frozen)

        return caching.public_answer(tag, render)
    award = _public_award(award_slug)
    snapshot = publication.snapshot_of(award)
    if snapshot is None:
        found = publication.provisional_results(award, viewer=current_user)
        if found is None:
            abort(404, message="The results of this award are not published yet.")
        assert found is not None  # abort raised (flask_smorest is untyped)
        return {**found[0], "provisional": True}
    return _published_json(snapshot)


def _published_json(snapshot: ResultSnapshot):
    document = {**publication.published_document(snapshot), "provisional": False}
    return jsonify(ResultsOut().dump(document))


@blueprint.post("/awards/<award_slug>/ballots")
@limiter.limit(lambda: current_app.config["VOTE_FAILURES_PER_IP"], deduct_when=refused)
@blueprint.arguments(BallotIn)
@blueprint.response(201, BallotOut)
@blueprint.alt_response(403, schema=ErrorOut, description="The code is not valid for this award")
@blueprint.alt_response(404, schema=ErrorOut, description="No award with this slug")
@blueprint.alt_response(
    409, schema=ErrorOut, description="The code has already voted, or voting is not open"
)
@blueprint.alt_response(
    429, schema=ErrorOut, description="Too many refused ballots from this address; wait a minute"
)
@_document(
    [
        (400, "The body is not JSON"),
        (503, "The database is not accepting changes right now; nothing was saved"),
    ]
)
def cast_ballot(data: dict, award_slug: str):
    """Cast one ballot with a card's one-time code; nothing changes when it is refused.

    Anyone may vote: the code is the credential, not a cookie, so no session and no CSRF
    token are needed (an API client posts the JSON body alone). The answer's receipt lets the
    voter check later that the ballot was counted.
    """
    award = _public_award(award_slug)
    ballot = voting.cast(
        award,
        code=data["code"],
        nominee_slug=data["nominee"],
        ip=request.remote_addr or "",
        user_agent=request.user_agent.string,
    )
    receipt = ballot.receipt  # read before the commit expires it: no SELECT to reload it
    db.session.commit()
    return {"receipt": receipt, "nominee": data["nominee"]}


# A ballot is authorised by its code, which a forged cross-site request cannot know: CSRF
# protects what a cookie authorises (the jurors' writes above), not this.
csrf.exempt(cast_ballot)
