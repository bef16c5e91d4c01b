"""Logging in and out, invitations, password resets, two-factor authentication, one's own data."""

from flask import Blueprint

blueprint = Blueprint("auth", __name__)

# Importing the view modules registers their routes on `blueprint`.
from judging.auth import data_views, views  # noqa: E402, F401
