"""Results: the award's stored scores, ranked by judging.scoring, and their exports.

The scores are read in a fixed number of queries whatever the award's size: one for the
criteria, one for the nominees, one for recusals, one for casting decisions, one for a
fingerprint of the scores that count and, unless the ranking of exactly these inputs is in
this process's cache, one for every score row (a test counts them).

The cache: ranking 150,000 scores takes a second, and the leaderboard asks for it on every
load while nothing changes. Each process keeps the last few rankings (an LRU of
CACHE_SIZE), keyed on everything `ranking.rank` is given: the method, the quorum, the criteria
(weights and scales), the nominees in the running, the recusals in force and the casting
decisions (each read in full: they are few), and, for the scores, a fingerprint the database
computes over the very rows `score_rows` would return (their count, sums of the values and of
a mix of each row's evaluation, criterion and value, the evaluations' versions and latest
change). A changed, added or removed score, juror or assignment changes the fingerprint; any
other input is compared as it is. Publication computes afresh (`cached=False`).
"""

import json
import threading
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, NamedTuple

from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from sqlalchemy import BigInteger, Select, cast, func, select

from judging.csv_export import write_csv
from judging.extensions import db
from judging.models import (
    Assignment,
    Award,
    CastingDecision,
    Criterion,
    Evaluation,
    JuryMember,
    Nominee,
    Score,
    User,
)
from judging.scoring import combination, ranking, ties
from judging.services import queries


def _criteria(award: Award) -> list[Criterion]:
    return list(
        db.session.scalars(
            select(Criterion).where(Criterion.award_id == award.id).order_by(Criterion.position)
        )
    )


class NomineeRow(NamedTuple):
    """What the results show of a nominee: read as plain rows, not hydrated as models."""

    id: int
    slug: str
    title: str
    organisation: str
    city: str
    country: str


def _nominees(award: Award) -> list[NomineeRow]:
    """The nominees in the running: a withdrawn nominee leaves every aggregate."""
    rows = db.session.execute(
        select(
            Nominee.id,
            Nominee.slug,
            Nominee.title,
            Nominee.organisation,
            Nominee.city,
            Nominee.country,
        )
        .where(Nominee.award_id == award.id, Nominee.withdrawn_at.is_(None))
        .order_by(Nominee.position)
    )
    return [NomineeRow(*row) for row in rows]


def score_rows(award: Award):
    """(juror id, nominee id, criterion id, value) of every evaluation that counts: one query.

    What counts is what the jury was asked for: submitted, by a juror still on the award's
    jury, and, where the award assigns nominees, of a nominee assigned to that juror.
    """
    return db.session.execute(_score_select(award)).all()


def stream_score_rows(award: Award) -> Iterator[Any]:
    """score_rows' rows as the database sends them, one at a time (the same one query): a
    caller that drops each row once used never holds them all."""
    return iter(db.session.connection().execute(_score_select(award)))


def _score_select(award: Award) -> Select:
    return _counted(
        award, Evaluation.juror_id, Evaluation.nominee_id, Score.criterion_id, Score.value
    )


# A prime below 2**31: the fingerprint's mix stays within 64-bit integers on both engines.
_PRIME = 2_147_483_647


def scores_fingerprint(award: Award) -> tuple[Any, ...]:
    """A fingerprint of the rows score_rows returns, computed by the database in one query.

    Each row's mix is x*x mod p times (value + 1), x from its evaluation and criterion: not
    linear in the rows, so changes that cancel in a plain sum (one criterion up by two, its
    neighbours down by one) still change it."""
    x = (cast(Evaluation.id, BigInteger) * 1009 + Score.criterion_id) % _PRIME
    mix = (x * x) % _PRIME * (Score.value + 1)
    row = db.session.execute(
        _counted(
            award,
            func.count(),
            func.sum(Score.value),
            func.sum(mix),
            func.sum(Evaluation.version),
            func.max(Evaluation.updated_at),
        )
    ).one()
    return tuple(row)


def _counted(award: Award, *columns) -> Select:
    """The SELECT of `columns` over the score rows that count (score_rows says which)."""
    query = (
        select(*columns)
        .select_from(Evaluation)
        .join(Score, Score.evaluation_id == Evaluation.id)
        .join(
            JuryMember,
            (JuryMember.award_id == Evaluation.award_id)
            & (JuryMember.user_id == Evaluation.juror_id),
        )
        .where(
            Evaluation.award_id == award.id,
            Evaluation.submitted_at.is_not(None),
            Score.value.is_not(None),
        )
    )
    if award.assignment_mode == "assigned":
        query = query.join(
            Assignment,
            (Assignment.nominee_id == Evaluation.nominee_id)
            & (Assignment.juror_id == Evaluation.juror_id),
        )
    return query


def casting_decisions(award: Award, method: str) -> list[ties.CastingDecision]:
    rows = db.session.scalars(
        select(CastingDecision)
        .where(CastingDecision.award_id == award.id, CastingDecision.method == method)
        .order_by(CastingDecision.decided_at)
    )
    return [ties.CastingDecision(tuple(json.loads(d.nominee_order)), d.reason) for d in rows]


@dataclass(frozen=True)
class Computed:
    """An award's ranking, with the rows it names for display."""

    result: ranking.Ranking[int]  # jurors by user id; shared with the cache: read, never change
    nominees: dict[str, NomineeRow]  # the nominees in the running, by slug
    criteria: list[Criterion]  # in the award's order


CACHE_SIZE = 4  # rankings kept per process; the large award's takes about 10 MB
_cache: OrderedDict[tuple[Any, ...], ranking.Ranking[int]] = OrderedDict()
_cache_lock = threading.Lock()


def clear_cache() -> None:
    with _cache_lock:
        _cache.clear()


def compute(award: Award, method: str | None = None, *, cached: bool = True) -> Computed:
    """The award's ranking under `method` (default: the award's own), with its nominees and
    criteria for display; from this process's cache when none of its inputs has changed
    (`cached=False`: computed afresh, and not kept)."""
    method = method or award.aggregation_method
    criteria = _criteria(award)
    nominees = _nominees(award)
    slug_of_nominee = {n.id: n.slug for n in nominees}
    recused = sorted(
        (juror_id, nominee_id)
        for juror_id, nominee_id in db.session.execute(queries.active_recusals(award))
        if nominee_id in slug_of_nominee  # not withdrawn
    )
    casting = casting_decisions(award, method)
    key = (
        award.id,
        method,
        award.quorum,
        award.assignment_mode,
        tuple((c.id, c.slug, c.weight, c.scale_min, c.scale_max) for c in criteria),
        tuple(slug_of_nominee.items()),
        tuple(recused),
        tuple(casting),
        scores_fingerprint(award) if cached else None,
    )
    result = _cache_get(key) if cached else None
    if result is None:
        result = _rank(award, method, criteria, slug_of_nominee, recused, casting)
        if cached:
            _cache_put(key, result)
    return Computed(result, {n.slug: n for n in nominees}, criteria)


def _cache_get(key: tuple[Any, ...]) -> ranking.Ranking[int] | None:
    with _cache_lock:
        result = _cache.get(key)
        if result is not None:
            _cache.move_to_end(key)
        return result


def _cache_put(key: tuple[Any, ...], result: ranking.Ranking[int]) -> None:
    with _cache_lock:
        _cache[key] = result
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)


def _rank(
    award: Award,
    method: str,
    criteria: list[Criterion],
    slug_of_nominee: dict[int, str],
    recused: list[tuple[int, int]],
    casting: list[ties.CastingDecision],
) -> ranking.Ranking[int]:
    """Read every score that counts and rank them (judging.scoring does the arithmetic)."""
    slug_of_criterion = {c.id: c.slug for c in criteria}
    # (juror id, nominee slug) -> criterion slug -> value, in one pass over the score rows,
    # streamed: each row is dropped once it is grouped, so the 150,000 rows of a large award
    # never live at once (nor does the garbage collector walk them over and over). A score's
    # evaluation is most often the previous row's (both engines read them evaluation by
    # evaluation), so the pair is looked up only when it changes.
    scores: dict[tuple[int, str], dict[str, int]] = {}
    last_juror = last_nominee = None
    own: dict[str, int] | None = None
    for juror_id, nominee_id, criterion_id, value in stream_score_rows(award):
        if nominee_id != last_nominee or juror_id != last_juror:
            last_juror, last_nominee = juror_id, nominee_id
            slug = slug_of_nominee.get(nominee_id)
            if slug is None:  # withdrawn
                own = None
                continue
            own = scores.get((juror_id, slug))
            if own is None:
                own = scores[juror_id, slug] = {}
        if own is not None:
            own[slug_of_criterion[criterion_id]] = value
    return ranking.rank_scores(
        [ranking.Criterion(c.slug, c.weight, c.scale_min, c.scale_max) for c in criteria],
        list(slug_of_nominee.values()),
        scores.items(),
        [(juror_id, slug_of_nominee[nominee_id]) for juror_id, nominee_id in recused],
        method=method,
        casting=casting,
        quorum=award.quorum,
    )


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def as_json(award: Award, computed: Computed, jurors: dict) -> dict:
    """The results document: nominees in rank order with rank, slug, title, score, tied; the
    method, the statistics and the flags. `jurors` maps juror ids to display labels."""
    result, nominees = computed.result, computed.nominees
    return {
        "award": award.slug,
        "title": award.title,
        "method": result.method,
        "nominees": [
            {
                "rank": r.rank,
                "slug": r.nominee,
                "title": nominees[r.nominee].title,
                "organisation": nominees[r.nominee].organisation,
                "city": nominees[r.nominee].city,
                "country": nominees[r.nominee].country,
                "score": _round(r.score),
                "tied": r.tied,
                "decided_by": r.decided_by,
                "coverage": r.coverage,
                "median": _round(r.median),
                "spread": _round(r.spread),
                "criteria": {slug: _round(v) for slug, v in r.criterion_means.items()},
                "by_method": {m: _round(v) for m, v in r.scores_by_method.items()},
            }
            for r in result.results
        ],
        "statistics": {
            "kendalls_w": None if result.kendall_w is None else round(result.kendall_w, 4),
            "kendalls_w_jurors": result.kendall_jurors,
            "jurors": [
                {
                    "juror": jurors.get(j.juror, str(j.juror)),
                    "evaluations": j.evaluations,
                    "mean_total": _round(j.mean_total),
                    "severity": _round(j.severity),
                    "outlier": j.outlier,
                }
                for j in result.jurors
            ],
            "sensitivity": result.sensitivity,
        },
        "flags": [
            {
                "kind": f.kind,
                "message": f.message,
                "subjects": [
                    jurors.get(s, s) if f.kind == "outlier_juror" else s for s in f.subjects
                ],
            }
            for f in result.flags
        ],
    }


def combine_with_vote(award: Award, doc: dict, count: dict | None = None) -> None:
    """With a vote: final = jury weight x jury score + vote weight x vote score, re-ranked.

    Vote score = 100 x votes / votes of the most-voted nominee. The formula, the weights and
    the ballots cast, voided and counted are part of the published (and verified) document.
    Publication, the leaderboard, its exports and `flask results` all rank by this function.
    `count` is voting.tally(award) when the caller already has it.
    """
    from judging.services import voting

    count = voting.tally(award) if count is None else count
    doc["vote"] = {
        "jury_weight": award.jury_weight,
        "vote_weight": award.vote_weight,
        "formula": combination.VOTE_FORMULA,
        "cast": count["cast"],
        "voided": count["voided"],
        "counted": count["counted"],
    }
    if award.vote_weight:
        combination.combine(doc["nominees"], count["votes"], award.jury_weight, award.vote_weight)


def has_vote(document: dict) -> bool:
    """Whether the award held a vote worth showing: a weight, or ballots cast."""
    vote = document.get("vote") or {}
    return bool(vote.get("vote_weight") or vote.get("cast"))


def casting_text(document: dict) -> list[str]:
    """Each casting decision of the document as words: "Title A before Title B: reason" (in
    the page's language; the titles and the reason are the organisers' own)."""
    titles = {n["slug"]: n["title"] for n in document["nominees"]}
    lines = []
    for d in document.get("casting_decisions", []):
        names = [titles.get(slug, slug) for slug in d["order"]]
        order = names[-1] if names else ""
        for name in reversed(names[:-1]):  # "A before B before C" is A before (B before C)
            order = gettext("%(first)s before %(second)s", first=name, second=order)
        lines.append(gettext("%(order)s: %(reason)s", order=order, reason=d["reason"]))
    return lines


# The ranking methods' names as a visitor reads them (judging/scoring/ranking.py keeps the
# English ones, for the staff's pages and the command line).
METHOD_WORDS = {
    "mean": _l("Mean"),
    "median": _l("Median"),
    "trimmed_mean": _l("Trimmed mean"),
    "zscore": _l("Z-score (juror-normalised)"),
    "borda": _l("Borda count"),
}


def method_names() -> dict[str, str]:
    """Every ranking method's name, in the page's language."""
    return {code: str(METHOD_WORDS.get(code, name)) for code, name in ranking.METHOD_NAMES.items()}


def ranking_document(award: Award, method: str | None = None) -> dict:
    """What the leaderboard, its exports and `flask results` show: the results document (live,
    jurors by name) ranked as publication would rank it. With a vote weight the nominees are in
    the final order (score = final) and each also carries its jury-only rank and score."""
    return final_document(award, compute(award, method), juror_labels(award))


def final_document(
    award: Award, computed: Computed, jurors: dict, count: dict | None = None
) -> dict:
    """ranking_document from a ranking already computed (and the tally, if already read)."""
    doc = as_json(award, computed, jurors)
    jury_rank = {n["slug"]: n["rank"] for n in doc["nominees"]}
    combine_with_vote(award, doc, count)
    doc["combined"] = bool(award.vote_weight)
    if doc["combined"]:
        for n in doc["nominees"]:
            n["jury_rank"] = jury_rank[n["slug"]]
    return doc


def combined_winners(
    award: Award, result: ranking.Ranking[int], votes: dict[str, int]
) -> dict[str, str | None]:
    """method -> the final winner under the award's weights had the jury used that method."""
    return combination.final_winners(result, votes, award.jury_weight, award.vote_weight)


def juror_labels(award: Award) -> dict[int, str]:
    return dict(
        db.session.execute(queries.jurors_of(award).with_only_columns(User.id, User.name)).all()
    )


def as_csv(document: dict, *, bom: bool = False) -> str:
    """One row per nominee, in rank order, with each criterion's mean (see csv_export). With a
    vote, the rank and order are the final ones, beside the jury's rank and score, the votes and
    vote score."""
    criteria = list(document["nominees"][0]["criteria"]) if document["nominees"] else []
    combined = document.get("combined", False)
    scores = ["final", "jury_rank", "jury_score", "votes", "vote_score"] if combined else ["score"]
    header = [
        "rank",
        "slug",
        "title",
        "organisation",
        "city",
        "country",
        *scores,
        "tied",
        "coverage",
        "median",
        "spread",
        *criteria,
    ]
    rows = (
        [
            n["rank"],
            n["slug"],
            n["title"],
            n["organisation"],
            n["city"],
            n["country"],
            n["score"],
            *(n[key] for key in scores[1:]),
            n["tied"],
            n["coverage"],
            n["median"],
            n["spread"],
            *(n["criteria"].get(c) for c in criteria),
        ]
        for n in document["nominees"]
    )
    return write_csv(header, rows, bom=bom)


def as_table(document: dict) -> str:
    """A plain-text table for the terminal; with a vote, the final ranking beside the jury's."""
    lines = [f"{document['title']} — method: {ranking.METHOD_NAMES[document['method']]}"]
    combined = document.get("combined", False)
    if combined:
        vote = document["vote"]
        lines.append(
            f"Ranked by final = {vote['jury_weight']}% jury score + {vote['vote_weight']}% "
            "vote score (vote score = 100 x votes / votes of the most-voted nominee); "
            f"ballots cast {vote['cast']}, voided {vote['voided']}, counted {vote['counted']}"
        )
        header = f"{'rank':>4}  {'final':>6}  {'jury':>6}  {'jury rank':>9}  {'votes':>5}  "
    else:
        header = f"{'rank':>4}  {'score':>6}  "
    lines += ["", header + f"{'n':>3}  nominee"]

    def number(value):
        return "—" if value is None else f"{value:.2f}"

    for n in document["nominees"]:
        tie = " (tied)" if n["tied"] else ""
        row = f"{n['rank']:>4}  {number(n['score']):>6}  "
        if combined:
            row += f"{number(n['jury_score']):>6}  {n['jury_rank']:>9}  {n['votes']:>5}  "
        lines.append(row + f"{n['coverage']:>3}  {n['title']}{tie}")
    w = document["statistics"]["kendalls_w"]
    lines += ["", f"Kendall's W: {'—' if w is None else w}"]
    lines += [f"! {f['message']}" for f in document["flags"]]
    return "\n".join(lines) + "\n"


def raw_scores(award: Award) -> list[dict]:
    """Every evaluation, draft or submitted, with juror, scores, comments and recusal: two
    queries."""
    recused = {
        (juror_id, nominee_id)
        for juror_id, nominee_id in db.session.execute(queries.active_recusals(award))
    }
    rows = db.session.execute(
        select(
            Evaluation,
            User.name,
            User.email,
            Nominee.slug,
            Nominee.withdrawn_at,
            Criterion.slug,
            Score.value,
            Score.comment,
        )
        .join(User, User.id == Evaluation.juror_id)
        .join(Nominee, Nominee.id == Evaluation.nominee_id)
        .outerjoin(Score, Score.evaluation_id == Evaluation.id)
        .outerjoin(Criterion, Criterion.id == Score.criterion_id)
        .where(Evaluation.award_id == award.id)
        .order_by(Nominee.position, User.name, Criterion.position)
    ).all()
    out = []
    for evaluation, name, email, nominee, withdrawn_at, criterion, value, comment in rows:
        out.append(
            {
                "juror": name,
                "juror_email": email,
                "nominee": nominee,
                "criterion": criterion,
                "score": value,
                "criterion_comment": comment or "",
                "comment": evaluation.comment,
                "submitted": evaluation.submitted_at is not None,
                "recused": (evaluation.juror_id, evaluation.nominee_id) in recused,
                "withdrawn": withdrawn_at is not None,
                "version": evaluation.version,
            }
        )
    return out


RAW_SCORE_FIELDS = [
    "juror",
    "juror_email",
    "nominee",
    "criterion",
    "score",
    "criterion_comment",
    "comment",
    "submitted",
    "recused",
    "withdrawn",
    "version",
]


def raw_scores_csv(rows: list[dict], *, bom: bool = False) -> str:
    """Every score, one row each: jurors' comments are text, never formulas (see csv_export)."""
    return write_csv(
        RAW_SCORE_FIELDS, ([row[name] for name in RAW_SCORE_FIELDS] for row in rows), bom=bom
    )
