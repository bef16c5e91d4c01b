"""What personal data the application keeps, why, and for how long."""

from flask import render_template

from judging.public import blueprint


@blueprint.get("/privacy")
def privacy():
    """The privacy page, with the retention periods this installation is configured with."""
    return render_template("public/privacy.html")
