"""The juror's pages: their awards with progress, and the evaluation of each nominee."""

from flask import Blueprint

from judging.auth.access import guard_blueprint

blueprint = Blueprint("jury", __name__)
guard_blueprint(blueprint, "juror")

# Importing the view module registers its routes on `blueprint`.
from judging.jury import views  # noqa: E402, F401
