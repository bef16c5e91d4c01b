"""What every form page shares."""

from flask import render_template
from flask_wtf import FlaskForm


class EmptyForm(FlaskForm):
    """A lone button: still a POST with a CSRF token."""


def render_form(template: str, form: FlaskForm, **context):
    """The page of a form: 422 when it carries errors, so bad input is never a 200."""
    return render_template(template, form=form, **context), 422 if form.errors else 200
