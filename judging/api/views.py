"""The JSON API under /api/v1, documented at /api/v1/openapi.json."""

from flask_smorest import Blueprint
from sqlalchemy import select

from judging.api.schemas import AwardOut, NomineeOut
from judging.extensions import db
from judging.models import Award
from judging.services.awards import list_awards_with_counts

blueprint = Blueprint(
    "api", __name__, url_prefix="/api/v1", description="Awards, nominees, evaluations and results"
)


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
        for award, count in list_awards_with_counts()
    ]


@blueprint.get("/awards/<award_slug>/nominees")
@blueprint.response(200, NomineeOut(many=True))
@blueprint.alt_response(404, description="No award with this slug")
def list_nominees(award_slug: str):
    """An award's nominees, in the award's order."""
    award = db.one_or_404(select(Award).where(Award.slug == award_slug))
    return award.nominees
