"""Fuzzing the JSON API from its own OpenAPI document (schemathesis, in-process over WSGI).

Every operation of /api/v1/openapi.json is called with generated requests, valid and invalid,
as three people: a visitor with no session at all, a visitor whose browser holds a session and
its CSRF token (as the voting page's script does), and a juror of the award being scored. Each
answer must not be a server error, must carry a documented status code and content type, and
its body must match the documented schema; a request the document says is invalid must be
refused with a 4xx.

The awards cover every phase the API answers differently in: one being scored (with scores in
progress), one in its vote (with printed codes), one published. The run is derandomized with a
bounded budget per operation, so CI fuzzes the same cases every time; FUZZ_EXAMPLES raises the
budget (`make fuzz`).
"""

import contextvars
import logging
import os
from collections import Counter
from dataclasses import dataclass, field

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    negative_data_rejection,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from judging.extensions import db
from judging.models import Award
from judging.services import publication, voting
from judging.services.evaluations import save_evaluation
from judging.services.seeding import read_shortlist, seed_shortlist
from tests.fixtures.domain import SHORTLIST, csrf_token, log_in

# Generated examples per operation and person: 8 operations x 3 people x 45, with the real
# paths of the reads tried once each, come to over 1,000 cases.
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "45"))
MINIMUM_CASES = 1_000
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]

SCORING, VOTING, PUBLISHED = "excellence-award", "people-vote", "past-award"


@dataclass
class Persona:
    name: str
    cookies: dict = field(default_factory=dict)
    headers: dict = field(default_factory=dict)


def _seed_award(slug: str) -> Award:
    data = read_shortlist(SHORTLIST)
    data["award"]["slug"] = slug
    data["award"]["title"] = f"{data['award']['title']} ({slug})"
    seed_shortlist(data, actor=None)
    db.session.flush()
    return db.session.scalar(db.select(Award).where(Award.slug == slug))


def _score_all(award: Award, juror, value: int) -> None:
    for nominee in award.nominees:
        scores = {c.slug: min(c.scale_max, max(c.scale_min, value)) for c in award.criteria}
        save_evaluation(award, nominee, juror=juror, scores=scores, submitted=True, version=0)


def _quiet(caplog) -> None:
    """A line per request, thousands of times, would cost more than the requests themselves."""
    for name in ("judging.requests", "flask_wtf.csrf"):
        caplog.set_level(logging.WARNING, logger=name)


@pytest.fixture
def fuzzed_app(app, make_user, caplog):
    """Three awards, one in each phase the API answers differently in, and their people."""
    _quiet(caplog)
    scoring = _seed_award(SCORING)
    voting_award = _seed_award(VOTING)
    past = _seed_award(PUBLISHED)
    juror = make_user(role="juror", awards=[scoring])
    colleague = make_user(role="juror", awards=[scoring, voting_award, past])
    for award in (scoring, voting_award, past):
        award.status = "scoring"
    db.session.flush()
    first = scoring.nominees[0]
    save_evaluation(
        scoring,
        first,
        juror=juror,
        scores={scoring.criteria[0].slug: scoring.criteria[0].scale_max},
        comment="Half way through.",
        submitted=False,
        version=0,
    )
    _score_all(scoring, colleague, 7)
    _score_all(voting_award, colleague, 6)
    _score_all(past, colleague, 8)
    voting_award.status = "voting"
    past.status = "closed"
    db.session.flush()
    codes = voting.generate_codes(voting_award, 60, actor=None)
    publication.publish(past, actor=None, override_reason="Fuzzing fixture.")
    db.session.commit()
    return app, juror, codes


def _personas(app, juror) -> list[Persona]:
    """A visitor without a session; one with a session and a CSRF token; the juror."""
    people = [Persona("visitor")]
    voter = app.test_client()
    token = csrf_token(voter, f"/vote/{VOTING}")
    people.append(
        Persona(
            "voter",
            cookies={"session": voter.get_cookie("session").value},
            headers={"X-CSRFToken": token},
        )
    )
    jury = app.test_client()
    assert log_in(jury, juror).status_code == 302
    token = csrf_token(jury, "/jury/")
    people.append(
        Persona(
            "juror",
            cookies={"session": jury.get_cookie("session").value},
            headers={"X-CSRFToken": token},
        )
    )
    return people


def _evaluations(criteria: dict[str, tuple[int, int]]):
    """Evaluations as a juror's page sends them: real criteria, scores in and out of scale."""
    score = st.sampled_from(list(criteria)).flatmap(
        lambda slug: st.tuples(
            st.just(slug), st.integers(criteria[slug][0] - 2, criteria[slug][1] + 2)
        )
    )
    return st.fixed_dictionaries(
        {
            "scores": st.lists(score, max_size=len(criteria) + 1).map(dict),
            "submitted": st.booleans(),
            "version": st.integers(0, 3),
        },
        optional={
            "comment": st.text(max_size=40),
            "criterion_comments": st.dictionaries(
                st.sampled_from([*criteria, "no-such-criterion"]), st.text(max_size=20)
            ),
        },
    )


def _first_drafts(criteria: dict[str, tuple[int, int]]):
    """A nominee's first save as the page sends it: in scale, a draft, version 0. Aimed at, so
    that a successful save never depends on the luck of the draw."""
    return st.fixed_dictionaries(
        {
            "scores": st.fixed_dictionaries(
                {slug: st.integers(low, high) for slug, (low, high) in criteria.items()}
            ),
            "submitted": st.just(False),
            "version": st.just(0),
        }
    )


def _halves(slugs: list[str]) -> tuple[list[str], list[str]]:
    """The nominees the aimed saves go to, and those the aimed conflicts go to: kept apart."""
    middle = len(slugs) // 2
    return slugs[:middle], slugs[middle:]


def _strategy(operation, nominees: dict[str, list[str]], criteria, codes: list[str]):
    """Generated requests, valid and invalid; many of them aimed at the real awards, nominees,
    criteria and printed codes, which random strings would almost never hit."""
    modes = (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
    strategies = [operation.as_strategy(generation_mode=mode) for mode in modes]
    names = {p.name for p in operation.path_parameters}
    if names and operation.method.upper() != "GET":  # reads of real paths: _real_paths
        for award_slug, slugs in nominees.items():
            if "nominee_slug" in names:
                fixed = st.sampled_from(slugs).map(
                    lambda s, a=award_slug: {"award_slug": a, "nominee_slug": s}
                )
            else:
                fixed = st.just({"award_slug": award_slug})
            for mode in modes:
                strategies.append(
                    fixed.flatmap(
                        lambda p, m=mode: operation.as_strategy(
                            generation_mode=m, path_parameters=p
                        )
                    )
                )
    if operation.path.endswith("/ballots"):
        # A few cards used again and again, and fresh ones: a card not yet used, once each.
        unused = iter(codes[10:])
        card = st.one_of(st.sampled_from(codes[:10]), st.builds(lambda: next(unused, codes[0])))
        ballots = st.tuples(card, st.sampled_from(nominees[VOTING]))
        strategies[:0] = [
            ballots.flatmap(
                lambda b: operation.as_strategy(
                    path_parameters={"award_slug": VOTING}, body={"code": b[0], "nominee": b[1]}
                )
            )
        ] * 3
    if operation.path.endswith("/recusal"):
        # Conflicts declared on the juror's own award, not only refused ones: left to chance,
        # a declaration that succeeds came up about twice in 45 cases, and any change to the
        # app's memory layout could make it none.
        # Only on the second half of its nominees: a declared conflict stops every later save
        # on that nominee, and the PUTs below aim at the first half.
        strategies[:0] = [
            st.sampled_from(_halves(nominees[SCORING])[1]).flatmap(
                lambda n: operation.as_strategy(
                    path_parameters={"award_slug": SCORING, "nominee_slug": n}
                )
            )
        ] * 3
    if operation.method.upper() == "PUT":
        saves = _halves(nominees[SCORING])[0]
        aimed = [
            st.tuples(st.sampled_from(saves), bodies).flatmap(
                lambda t: operation.as_strategy(
                    path_parameters={"award_slug": SCORING, "nominee_slug": t[0]}, body=t[1]
                )
            )
            for bodies in [_first_drafts(criteria)] + [_evaluations(criteria)] * 3
        ]
        strategies[:0] = aimed
    # The aimed strategies first: derandomized generation leans towards the first of one_of.
    return st.one_of(strategies)


def _real_paths(operation, nominees: dict[str, list[str]]) -> list[dict]:
    """Every real path of a read, tried once each (generating them would only repeat them)."""
    names = {p.name for p in operation.path_parameters}
    if operation.method.upper() != "GET" or not names:
        return []
    if "nominee_slug" not in names:
        return [{"award_slug": award} for award in nominees]
    return [
        {"award_slug": award, "nominee_slug": nominee}
        for award, slugs in nominees.items()
        for nominee in slugs
    ]


def _operations(schema):
    for result in schema.get_all_operations():
        yield result.ok()


def _check(persona: Persona, case, statuses: Counter) -> None:
    """Send one request as the person; its answer must be as the document says."""
    # Each request in a context of its own, as a server runs it (see IsolatedClient).
    response = contextvars.Context().run(
        case.call, headers=persona.headers, cookies=persona.cookies
    )
    statuses[persona.name, case.operation.label, response.status_code] += 1
    checks = list(CHECKS)
    if case.meta and case.meta.generation.mode == GenerationMode.NEGATIVE:
        checks.append(negative_data_rejection)
    case.validate_response(response, checks=checks)


def _fuzz(persona: Persona, operation, strategy, real_paths, statuses: Counter) -> int:
    """Run the requests of one operation as one person; the number of cases run."""
    for path_parameters in real_paths:
        _check(persona, operation.Case(path_parameters=path_parameters), statuses)
    ran = len(real_paths)

    @settings(
        max_examples=EXAMPLES,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate, Phase.shrink],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy)
    def fuzz(case):
        nonlocal ran
        ran += 1
        _check(persona, case, statuses)

    fuzz()
    return ran


def test_the_api_answers_every_generated_request_as_documented(fuzzed_app):
    app, juror, codes = fuzzed_app
    awards = {a.slug: a for a in db.session.scalars(db.select(Award))}
    nominees = {slug: [n.slug for n in award.nominees] for slug, award in awards.items()}
    scored = awards[SCORING]
    criteria = {c.slug: (c.scale_min, c.scale_max) for c in scored.criteria}
    db.session.commit()
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    operations = list(_operations(schema))
    assert len(operations) >= 8
    statuses: Counter = Counter()
    total = 0
    for persona in _personas(app, juror):
        for operation in operations:
            strategy = _strategy(operation, nominees, criteria, codes)
            real_paths = _real_paths(operation, nominees)
            total += _fuzz(persona, operation, strategy, real_paths, statuses)

    print(f"\nAPI fuzzing: {total} cases")
    for key, count in sorted(statuses.items()):
        print(*key, count)
    assert total >= MINIMUM_CASES
    # The fuzzing reached past the front door: it saved, submitted and refused evaluations,
    # cast and refused ballots, and met every guard on the way.
    seen = {
        (who, label.split()[0] + " " + label.rsplit("/", 1)[1], status)
        for who, label, status in statuses
    }
    # A juror's writes are shut to anyone else before the body is even read: 401, not 422.
    for write in ("PUT my-evaluation", "POST recusal"):
        assert {status for who, label, status in seen if (who, label) == ("voter", write)} == {401}
    assert {
        ("visitor", "PUT my-evaluation", 400),  # no CSRF token
        ("voter", "PUT my-evaluation", 401),
        ("juror", "PUT my-evaluation", 200),
        ("juror", "PUT my-evaluation", 409),  # a stale version
        ("juror", "PUT my-evaluation", 422),  # out of scale
        ("juror", "POST recusal", 201),
        ("juror", "GET my-evaluation", 403),  # another award's jury
        ("visitor", "POST ballots", 201),  # the code is the credential: no session needed
        ("voter", "POST ballots", 409),  # a used code, or an award not voting
        ("visitor", "GET results", 200),
        ("visitor", "GET results", 404),
    } <= seen, sorted(seen)


def test_published_results_in_the_api_are_the_whole_snapshot(fuzzed_app):
    """Anyone can check the digest from the API's answer alone: nothing of the published
    document (the vote, each nominee's jury score and votes) is left out."""
    app, _juror, codes = fuzzed_app
    award = db.session.scalar(db.select(Award).where(Award.slug == VOTING))
    award.vote_weight, award.jury_weight = 40, 60
    db.session.commit()
    client = app.test_client()
    token = csrf_token(client, f"/vote/{VOTING}")
    chosen = [award.nominees[1], award.nominees[1], award.nominees[2]]
    for code, nominee in zip(codes[:3], chosen, strict=True):
        response = client.post(
            f"/api/v1/awards/{VOTING}/ballots",
            json={"code": code, "nominee": nominee.slug},
            headers={"X-CSRFToken": token},
        )
        assert response.status_code == 201, response.json
    award.status = "voting_closed"
    publication.publish(award, actor=None, override_reason="Fuzzing fixture.")
    db.session.commit()

    answer = client.get(f"/api/v1/awards/{VOTING}/results").json
    digest = answer.pop("digest")
    assert answer.pop("provisional") is False
    assert publication.sha256(publication.canonical(answer)) == digest
    assert answer["vote"]["counted"] == 3
    assert answer["nominees"][0]["slug"] == award.nominees[1].slug
    assert answer["nominees"][0]["votes"] == 2
