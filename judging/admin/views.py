"""Administration: the awards overview, people (invitations, roles, jury), settings."""

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from judging.admin import blueprint
from judging.admin.forms import (
    LiftRecusalForm,
    TwoFactorPolicyForm,
)
from judging.auth.access import (
    fresh_login_required,
)
from judging.extensions import db
from judging.forms import EmptyForm, render_form
from judging.lookups import award_or_404
from judging.models import Award, Nominee, Recusal
from judging.outcome import commit_or_explain
from judging.services import backup, queries, recusals
from judging.services import settings as app_settings
from judging.services.awards import list_awards_with_counts, transition
from judging.services.notifications import notify_jury
from judging.services.progress import jury_progress, recusals_of


@blueprint.get("/")
def index():
    """The awards and where each one stands."""
    return render_template("admin/index.html", awards=list_awards_with_counts())


@blueprint.get("/awards/<slug>")
def award(slug: str):
    """One award: its status and the next step, jurors' progress, conflicts of interest."""
    return award_page(slug)


def award_page(slug: str):
    """One award: its status and the next step, jurors' progress, conflicts of interest."""
    award = award_or_404(slug)
    return render_template(
        "admin/award.html",
        award=award,
        jurors=jury_progress(award),
        recusals=recusals_of(award),
        action_form=EmptyForm(),
        lift_form=LiftRecusalForm(),
    )


# What each step does, said on the confirmation page before it is taken.
STEP_EXPLANATIONS = {
    "open_scoring": (
        "Open scoring",
        [
            "Every juror of this award can then score its nominees, until you close scoring "
            "(or the scoring window set in the award's settings ends).",
            "Weights and scales lock as soon as the first score is saved.",
            "The award becomes public if it is not yet: listed on the home page and in the API, "
            "its nominees' pages open to everyone.",
        ],
        False,
    ),
    "close_scoring": (
        "Close scoring",
        [
            "From then on no juror can save or change a score, and drafts not submitted by then "
            "do not count.",
            "You can reopen scoring later if needed; both steps are recorded in the audit log.",
        ],
        True,
    ),
    "open_voting": (
        "Open voting",
        [
            "Voters can then cast one ballot each, until you close voting (or the voting "
            "window ends). Scoring stays closed.",
            "The shortlist and the weights of jury and vote are fixed from then on: check them "
            "on the Vote page first.",
        ],
        False,
    ),
    "close_voting": (
        "Close voting",
        [
            "From then on no ballot is accepted; the tally can be seen and the results "
            "reviewed and published.",
            "Voting cannot be reopened; both steps are recorded in the audit log.",
        ],
        True,
    ),
}

VOTING_STEPS = ("open_voting", "close_voting")
# Steps before which the confirmation page reminds the administrator to make a backup.
CLOSING_STEPS = ("close_scoring", "close_voting")


@blueprint.post("/awards/<slug>/<any(open_scoring, close_scoring, open_voting, close_voting):step>")
def award_transition(slug: str, step: str):
    """Open or close scoring or voting, after a confirmation page that says what will happen."""
    award = award_or_404(slug)
    form = EmptyForm()
    if not form.validate_on_submit():
        return redirect(url_for("admin.award", slug=slug))
    title, explanation, danger = STEP_EXPLANATIONS[step]
    jury = _jury_readiness(award) if step == "open_scoring" else None
    if request.form.get("confirmed") != "yes":
        return render_template(
            "admin/confirm.html",
            award=award,
            title=title,
            explanation=explanation,
            danger=danger,
            form=form,
            jury=jury,
            remind_backup=step in CLOSING_STEPS,
            last_backup=backup.last_backup(db.session) if step in CLOSING_STEPS else None,
        )
    told = 0
    with commit_or_explain() as attempt:
        transition(award, step, actor=current_user)
        if step == "open_scoring":  # queued with the step: both commit, or neither
            told = notify_jury(award, "scoring_opened")
    if attempt.failed:
        # Refused: the page the step was taken from, with the reason and a status saying so.
        if step in VOTING_STEPS:
            from judging.admin.voting_views import voting_page

            page, _ = voting_page(slug)
        else:
            page = award_page(slug)
        return page, 409
    else:
        if step == "open_scoring":
            assert jury is not None  # read above for this step
            flash(f"Scoring is open: jurors can score. {_told(told, jury)}", "success")
        elif step == "close_scoring":
            flash("Scoring is closed: no more scores are accepted.", "success")
        elif step == "open_voting":
            flash("Voting is open: ballots are accepted.", "success")
        else:
            flash("Voting is closed: no more ballots are accepted.", "success")
    if step in VOTING_STEPS:
        return redirect(url_for("admin.voting_page", slug=slug))
    return redirect(url_for("admin.award", slug=slug))


def _jury_readiness(award: Award) -> dict[str, int]:
    """How many of the award's jurors can log in, are still invited, or are deactivated."""
    counts = {"ready": 0, "invited": 0, "inactive": 0}
    for user in db.session.scalars(queries.jurors_of(award)):
        counts["inactive" if not user.active else "ready" if user.password_hash else "invited"] += 1
    return counts


def _jurors(count: int) -> str:
    return f"{count} juror{'' if count == 1 else 's'}"


def _told(sent: int, jury: dict[str, int]) -> str:
    """Who heard that scoring opened, and why the others did not."""
    if not jury["ready"] and not jury["invited"]:
        return "The jury is empty, so nobody was told: add jurors on the Jury page."
    said = f"An email to {_jurors(sent)} is queued."
    if jury["invited"]:
        waiting = jury["invited"]
        said += (
            f" {_jurors(waiting)} {'has' if waiting == 1 else 'have'} not accepted the "
            "invitation yet, so no email went to them now: they will find scoring open once "
            "they do."
        )
    return said


@blueprint.post("/awards/<slug>/recusals/<int:recusal_id>/lift")
def lift_recusal(slug: str, recusal_id: int):
    """Decide that a declared conflict does not stand: the juror may score the nominee."""
    award = award_or_404(slug)
    recusal = db.one_or_404(
        select(Recusal).join(Nominee).where(Recusal.id == recusal_id, Nominee.award_id == award.id)
    )
    form = LiftRecusalForm()
    if not form.validate_on_submit():
        flash("Give the reason for lifting the conflict of interest.", "error")
    else:
        with commit_or_explain(
            "The conflict of interest is lifted; the juror can score the nominee."
        ):
            recusals.lift_recusal(recusal, reason=form.reason.data, actor=current_user)
    return redirect(url_for("admin.award", slug=slug))


@blueprint.route("/settings", methods=["GET", "POST"])
@fresh_login_required
def settings():
    """Application settings: require two-factor authentication for administrators."""
    form = TwoFactorPolicyForm(require_admin_2fa=app_settings.require_admin_2fa())
    if form.validate_on_submit():
        with commit_or_explain("Settings saved.", form=form) as attempt:
            app_settings.set_require_admin_2fa(form.require_admin_2fa.data, actor=current_user)
        if not attempt.failed:
            return redirect(url_for("admin.settings"))
    return render_form("admin/settings.html", form)
