"""Forms of the nominee pages. They only carry the input and its CSRF token: the rules live in
judging.services.nominees (the shortlist's own), whose messages land beside each field."""

from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import HiddenField, StringField, TextAreaField

from judging.services.nominees import FIELDS


class NomineeForm(FlaskForm):
    title = StringField("Title")
    slug = StringField(
        "Slug",
        description="Part of the nominee's links: lower-case letters, digits and hyphens. "
        "Leave it empty to make one from the title.",
    )
    organisation = StringField("Organisation")
    city = StringField("City")
    country = StringField("Country")
    summary = TextAreaField("Summary", description="What jurors and the public read first.")

    def entry(self) -> dict:
        """What the admin typed, for the service to check."""
        return {name: self[name].data for name in FIELDS}


class WithdrawForm(FlaskForm):
    reason = StringField("Reason for the withdrawal")


class ImportForm(FlaskForm):
    file = FileField("A file", description="CSV with a header row, or JSON; UTF-8.")
    text = TextAreaField(
        "Or paste the rows",
        description="CSV with a header row (commas, semicolons or tabs, as copied from a "
        "spreadsheet), or JSON.",
    )


class ConfirmImportForm(FlaskForm):
    """The text of the preview, sent back to be read and checked again, never trusted."""

    text = HiddenField()
    format = HiddenField()
