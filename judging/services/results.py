"""Results: the award's stored scores, ranked by judging.ranking, and their exports.

The scores are read in a fixed number of queries whatever the award's size: one for the
criteria, one for the nominees, one for every score row, one for recusals, one for casting
decisions (a test counts them).
"""

import csv
import io
import json
from collections import defaultdict

from sqlalchemy import select

from judging import ranking
from judging.extensions import db
from judging.models import (
    Assignment,
    Award,
    CastingDecision,
    Criterion,
    Evaluation,
    JuryMember,
    Nominee,
    Recusal,
    Score,
    User,
)


def _criteria(award: Award) -> list[Criterion]:
    return list(
        db.session.scalars(
            select(Criterion).where(Criterion.award_id == award.id).order_by(Criterion.position)
        )
    )


def _nominees(award: Award) -> list[Nominee]:
    """The nominees in the running: a withdrawn nominee leaves every aggregate."""
    return list(
        db.session.scalars(
            select(Nominee)
            .where(Nominee.award_id == award.id, Nominee.withdrawn_at.is_(None))
            .order_by(Nominee.position)
        )
    )


def score_rows(award: Award):
    """(juror id, nominee id, criterion id, value) of every evaluation that counts: one query.

    What counts is what the jury was asked for: submitted, by a juror still on the award's
    jury, and, where the award assigns nominees, of a nominee assigned to that juror.
    """
    query = (
        select(Evaluation.juror_id, Evaluation.nominee_id, Score.criterion_id, Score.value)
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
    return db.session.execute(query).all()


def casting_decisions(award: Award, method: str) -> list[ranking.CastingDecision]:
    rows = db.session.scalars(
        select(CastingDecision)
        .where(CastingDecision.award_id == award.id, CastingDecision.method == method)
        .order_by(CastingDecision.decided_at)
    )
    return [ranking.CastingDecision(tuple(json.loads(d.nominee_order)), d.reason) for d in rows]


def compute(award: Award, method: str | None = None) -> tuple[ranking.Ranking, dict]:
    """The award's ranking under `method` (default: the award's own), and lookups for display:
    {"nominees": id -> Nominee by slug, "criteria": [Criterion]}."""
    method = method or award.aggregation_method
    criteria = _criteria(award)
    nominees = _nominees(award)
    slug_of_nominee = {n.id: n.slug for n in nominees}
    slug_of_criterion = {c.id: c.slug for c in criteria}

    scores: dict[tuple[int, int], dict[str, int]] = defaultdict(dict)
    for juror_id, nominee_id, criterion_id, value in score_rows(award):
        if nominee_id in slug_of_nominee:  # not withdrawn
            scores[juror_id, nominee_id][slug_of_criterion[criterion_id]] = value
    evaluations = [
        ranking.Evaluation(juror_id, slug_of_nominee[nominee_id], values)
        for (juror_id, nominee_id), values in scores.items()
    ]
    recusals = [
        (juror_id, slug_of_nominee.get(nominee_id))
        for juror_id, nominee_id in db.session.execute(
            select(Recusal.juror_id, Recusal.nominee_id)
            .join(Nominee, Nominee.id == Recusal.nominee_id)
            .where(Nominee.award_id == award.id, Recusal.lifted_at.is_(None))
        )
    ]
    result = ranking.rank(
        [ranking.Criterion(c.slug, c.weight, c.scale_min, c.scale_max) for c in criteria],
        [n.slug for n in nominees],
        evaluations,
        recusals,
        method=method,
        casting=casting_decisions(award, method),
        quorum=award.quorum,
    )
    return result, {"nominees": {n.slug: n for n in nominees}, "criteria": criteria}


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def as_json(award: Award, result: ranking.Ranking, lookups: dict, jurors: dict) -> dict:
    """The results document: nominees in rank order with rank, slug, title, score, tied; the
    method, the statistics and the flags. `jurors` maps juror ids to display labels."""
    nominees = lookups["nominees"]
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


def juror_labels(award: Award) -> dict[int, str]:
    return dict(
        db.session.execute(
            select(User.id, User.name)
            .join(JuryMember, JuryMember.user_id == User.id)
            .where(JuryMember.award_id == award.id)
        ).all()
    )


def as_csv(document: dict) -> str:
    """One row per nominee, in rank order, with each criterion's mean."""
    out = io.StringIO()
    criteria = list(document["nominees"][0]["criteria"]) if document["nominees"] else []
    writer = csv.writer(out)
    writer.writerow(
        [
            "rank",
            "slug",
            "title",
            "organisation",
            "city",
            "country",
            "score",
            "tied",
            "coverage",
            "median",
            "spread",
            *criteria,
        ]
    )
    for n in document["nominees"]:
        writer.writerow(
            [
                n["rank"],
                n["slug"],
                n["title"],
                n["organisation"],
                n["city"],
                n["country"],
                n["score"],
                n["tied"],
                n["coverage"],
                n["median"],
                n["spread"],
                *(n["criteria"].get(c) for c in criteria),
            ]
        )
    return out.getvalue()


def as_table(document: dict) -> str:
    """A plain-text table for the terminal."""
    lines = [f"{document['title']} — method: {ranking.METHOD_NAMES[document['method']]}", ""]
    lines.append(f"{'rank':>4}  {'score':>6}  {'n':>3}  nominee")
    for n in document["nominees"]:
        score = "—" if n["score"] is None else f"{n['score']:.2f}"
        tie = " (tied)" if n["tied"] else ""
        lines.append(f"{n['rank']:>4}  {score:>6}  {n['coverage']:>3}  {n['title']}{tie}")
    w = document["statistics"]["kendalls_w"]
    lines += ["", f"Kendall's W: {'—' if w is None else w}"]
    lines += [f"! {f['message']}" for f in document["flags"]]
    return "\n".join(lines) + "\n"


def raw_scores(award: Award) -> list[dict]:
    """Every evaluation, draft or submitted, with juror, scores, comments and recusal: two
    queries."""
    recused = {
        (juror_id, nominee_id)
        for juror_id, nominee_id in db.session.execute(
            select(Recusal.juror_id, Recusal.nominee_id)
            .join(Nominee, Nominee.id == Recusal.nominee_id)
            .where(Nominee.award_id == award.id, Recusal.lifted_at.is_(None))
        )
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


def raw_scores_csv(rows: list[dict]) -> str:
    out = io.StringIO()
    fields = [
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
    writer = csv.DictWriter(out, fieldnames=fields)
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()
