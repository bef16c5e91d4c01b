"""The administrator's progress counts, from plain data: no database, no app."""

import dataclasses
from datetime import datetime

from judging.models import Nominee, User
from judging.services.progress import ProgressFacts, count_progress

ANN, BEN, CAT = (User(id=i, name=n, email=f"{n}@example.org") for i, n in enumerate("abc", 1))
N1, N2, N3 = (Nominee(id=i, slug=f"n{i}", title=f"Nominee {i}") for i in (11, 12, 13))


def facts(**changes) -> ProgressFacts:
    """Ann and Ben judge the three nominees, nothing saved yet, unless `changes` say otherwise."""
    return dataclasses.replace(
        ProgressFacts(
            nominees=[N1, N2, N3],
            jurors=[ANN, BEN],
            every_juror_all=True,
            assigned=set(),
            recused=set(),
            evaluations={},
            last_activity={},
        ),
        **changes,
    )


def test_when_every_juror_judges_every_nominee_a_conflict_is_not_theirs_to_score():
    at = datetime(2030, 6, 1, 12, 0)
    progress = count_progress(
        facts(
            recused={(1, 12)},
            # Ann's evaluation of the nominee she recused from counts for nothing.
            evaluations={(1, 11): "submitted", (1, 12): "submitted", (2, 11): "draft"},
            last_activity={1: at},
        )
    )
    ann, ben = progress.jurors
    assert (ann.submitted, ann.drafts, ann.recused, ann.scoreable) == (1, 0, 1, 2)
    assert ann.last_activity == at and ann.left == 1 and not ann.finished
    assert (ben.submitted, ben.drafts, ben.recused, ben.scoreable, ben.to_do) == (0, 1, 0, 3, 2)
    first, second, _ = progress.nominees
    assert (first.jurors, first.recused, first.submitted, first.drafts) == (2, 0, 1, 1)
    assert (second.jurors, second.recused, second.expected, second.submitted) == (2, 1, 1, 0)
    assert (progress.submitted, progress.expected) == (1, 5)
    assert [j.juror for j in progress.unfinished] == [ANN, BEN]


def test_with_assignments_only_the_assigned_pairs_of_jurors_and_nominees_in_the_running_count():
    progress = count_progress(
        facts(
            every_juror_all=False,
            # Cat is no longer on the jury; nominee 99 was withdrawn (not among the nominees).
            assigned={(1, 11), (1, 12), (2, 13), (3, 11), (1, 99)},
            recused={(2, 13)},
            evaluations={(1, 11): "submitted", (1, 12): "submitted", (2, 11): "submitted"},
        )
    )
    ann, ben = progress.jurors
    assert (ann.submitted, ann.scoreable, ann.finished) == (2, 2, True)
    # Ben's evaluation of a nominee not assigned to him is not counted.
    assert (ben.submitted, ben.recused, ben.scoreable, ben.finished) == (0, 1, 0, True)
    assert [(n.jurors, n.recused, n.submitted) for n in progress.nominees] == [
        (1, 0, 1),
        (1, 0, 1),
        (1, 1, 0),
    ]
    assert progress.unfinished == []
