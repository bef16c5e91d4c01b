"""One's own data, as a download."""

import json

from flask import Response
from flask_login import current_user, login_required

from judging.auth import blueprint
from judging.security import no_store
from judging.services import privacy


@blueprint.get("/account/data")
@login_required
@no_store
def my_data():
    """Everything the application keeps about the logged-in person, as a JSON file."""
    body = json.dumps(privacy.my_data(current_user), indent=2, ensure_ascii=False)
    return Response(
        body + "\n",
        mimetype="application/json",
        headers={
            "Content-Disposition": 'attachment; filename="judging-my-data.json"',
        },
    )
