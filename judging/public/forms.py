"""Forms of the public pages: the online vote's address and ballot."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, StringField
from wtforms.validators import DataRequired, Email, Length


class AddressForm(FlaskForm):
    email = EmailField(
        _l("Your email address"), validators=[DataRequired(), Email(), Length(max=254)]
    )
    # A field people never see: a bot that fills in every field gives itself away.
    website = StringField(_l("Leave this empty"))


class BallotForm(FlaskForm):
    nominee = StringField(_l("Your choice"))
