"""The JSON API under /api/v1, documented at /api/v1/openapi.json."""

from flask_smorest import Blueprint

from judging.api.parser import JSONParser
from judging.extensions import api

blueprint = Blueprint(
    "api", __name__, url_prefix="/api/v1", description="Awards, nominees, evaluations and results"
)
blueprint.ARGUMENTS_PARSER = JSONParser()
# Each operation documents every status it answers with, and no catch-all "default": a client
# then knows exactly which answers to handle (tests/test_api_fuzz.py holds the API to it).
api.DEFAULT_ERROR_RESPONSE_NAME = None

# Importing the view module registers its routes on `blueprint`.
from judging.api import views  # noqa: E402, F401
