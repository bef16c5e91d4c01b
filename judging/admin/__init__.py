"""The administrators' blueprint, created in views.py (the awards overview, people, settings);
each *_views module below adds one area's routes to it: the audit ledger, setting up awards and
criteria, the ceremony, the jury, nominees, anonymising jurors, publication, the leaderboard and
its exports, and the vote."""

from judging.admin import (  # noqa: F401  (register their routes)
    audit_views,
    award_views,
    ceremony_views,
    jury_views,
    nominee_views,
    privacy_views,
    publish_views,
    results_views,
    voting_views,
)
from judging.admin.views import blueprint

__all__ = ["blueprint"]
