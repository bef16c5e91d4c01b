"""The administrators' blueprint: its views live in views.py (awards, people, settings) and
results_views.py (leaderboard, exports, casting decisions)."""

from judging.admin import results_views  # noqa: F401  (registers its routes)
from judging.admin.views import blueprint

__all__ = ["blueprint"]
