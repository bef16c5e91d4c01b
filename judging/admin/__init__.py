"""The administrators' blueprint: its views live in views.py (awards, people, settings) and
results_views.py (leaderboard, exports, casting decisions)."""

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
