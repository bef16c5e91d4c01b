"""The administrators' blueprint: its views live in views.py (awards, people, settings) and
results_views.py (leaderboard, exports, casting decisions)."""

from judging.admin import award_views, results_views  # noqa: F401  (register their routes)
from judging.admin.views import blueprint

__all__ = ["blueprint"]
