"""The juror's pages: the awards they judge (scoring comes with the evaluation pages)."""

from flask import Blueprint, render_template
from flask_login import current_user
from sqlalchemy import select

from judging.auth.access import guard_blueprint
from judging.extensions import db
from judging.models import Award, JuryMember

blueprint = Blueprint("jury", __name__)
guard_blueprint(blueprint, "juror")


@blueprint.get("/")
def dashboard():
    """The awards this juror judges."""
    awards = db.session.scalars(
        select(Award)
        .join(JuryMember, JuryMember.award_id == Award.id)
        .where(JuryMember.user_id == current_user.id)
        .order_by(Award.title)
    )
    return render_template("jury/dashboard.html", awards=list(awards))
