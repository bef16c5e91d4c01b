"""Ceremony mode: the presenter's reveal and the winner's certificate (the printable results
sheet, a public page, is in public/views.py).

Both read the same results document as the results page (publication.visible_results): the
frozen snapshot once published, for admins before that a live provisional ranking.
"""

from flask import abort, render_template, request

from judging.admin import blueprint
from judging.lookups import award_or_404
from judging.public.views import score_text, visible_results_or_404
from judging.scoring.ranking import METHOD_NAMES
from judging.services.publication import long_date


def ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def score_label(document: dict) -> str:
    """What the score announced is: the jury's, or the final one combined with the vote."""
    vote = document.get("vote") or {}
    if vote.get("vote_weight"):
        return f"Final score (jury {vote['jury_weight']}% + vote {vote['vote_weight']}%)"
    return "Score"


def top_places() -> int | None:
    """The presenter's `top` setting: reveal only places 1 to N; empty or absent: all."""
    raw = request.args.get("top", "").strip()
    if not raw:
        return None
    if not raw.isdigit() or int(raw) < 1:
        abort(
            400,
            f"“{raw[:20]}” is not a number of places to reveal: give a whole number from 1 up "
            "(3 reveals the top three), or leave it empty to reveal every place.",
        )
    return int(raw)


def reveal_steps(document: dict, top: int | None = None) -> list[dict]:
    """The scored nominees from last place to the winner, a shared place as one step; with
    `top`, only the places from `top` up (a place shared across the cut is shown whole).

    Nominees without a score are left out: there is nothing to announce about them.
    """
    places: dict[int, list[dict]] = {}
    for n in document["nominees"]:
        if n["score"] is not None and (top is None or n["rank"] <= top):
            places.setdefault(n["rank"], []).append(n)
    steps = []
    for rank in sorted(places, reverse=True):
        nominees = places[rank]
        joint = len(nominees) > 1
        if rank == 1:
            place = "Joint winners" if joint else "Winner"
        else:
            place = f"{'Joint ' if joint else ''}{ordinal(rank)} place"
        steps.append(
            {
                "rank": rank,
                "place": place,
                "winner": rank == 1,
                "nominees": [
                    {
                        "title": n["title"],
                        "organisation": n["organisation"],
                        "city": n["city"],
                        "country": n["country"],
                        "score": score_text(n["score"]),
                    }
                    for n in nominees
                ],
            }
        )
    return steps


@blueprint.get("/awards/<slug>/present")
def present(slug: str):
    """The presenter's page: the ranking revealed from last place to the winner, key by key;
    ?top=N reveals only the top N places."""
    award = award_or_404(slug)
    document, provisional = visible_results_or_404(award)
    top = top_places()
    steps = reveal_steps(document, top)
    presentation = {
        "award": award.title,
        "date": long_date(document["published_at"]),
        "method": METHOD_NAMES.get(document["method"], document["method"]),
        "rehearsal": provisional,
        "nominees": len(document["nominees"]),
        "top": top if top and len(reveal_steps(document)) > len(steps) else None,
        "scoreLabel": score_label(document),
        "steps": steps,
    }
    return render_template(
        "admin/present.html",
        award=award,
        document=document,
        provisional=provisional,
        presentation=presentation,
        top=top,
        score_text=score_text,
    )


@blueprint.get("/awards/<slug>/certificate")
def certificate(slug: str):
    """The winner's certificate, A4 landscape; one page per winner when first place is shared."""
    award = award_or_404(slug)
    document, provisional = visible_results_or_404(award)
    winners = [n for n in document["nominees"] if n["rank"] == 1 and n["score"] is not None]
    if provisional or not winners:
        abort(404, "There is a certificate once the results, with a winner, are published.")
    return render_template(
        "admin/certificate.html",
        award=award,
        document=document,
        winners=winners,
        date=long_date(document["published_at"]),
    )
