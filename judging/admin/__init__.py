"""Administration. Each module adds one area's routes to the blueprint: the awards overview,
the award page, its lifecycle steps and settings (views), people (people_views), the audit
ledger, outgoing mail (mail_views), setting up awards and criteria, the ceremony, the jury,
nominees, anonymising jurors, publication, the leaderboard and its exports, and the vote.
Their forms are in forms.py."""

from flask import Blueprint

from judging.auth.access import guard_blueprint

blueprint = Blueprint("admin", __name__)
guard_blueprint(blueprint, "admin")

# Importing the view modules registers their routes on `blueprint`.
from judging.admin import (  # noqa: E402, F401
    audit_views,
    award_views,
    ceremony_views,
    jury_views,
    mail_views,
    nominee_views,
    people_views,
    privacy_views,
    publish_views,
    results_views,
    views,
    voting_views,
)
