"""Pages anyone can see: the awards, their nominees and results, the vote's ballots, privacy."""

from flask import Blueprint

blueprint = Blueprint("public", __name__)

# Importing the view modules registers their routes on `blueprint`.
from judging.public import (  # noqa: E402, F401
    online_vote_views,
    privacy_views,
    views,
    vote_views,
)
