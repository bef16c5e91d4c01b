"""Forms of the admin pages."""

from flask_wtf import FlaskForm
from wtforms import (
    EmailField,
    PasswordField,
    RadioField,
    SelectChoice,
    SelectMultipleField,
    StringField,
    TextAreaField,
    widgets,
)
from wtforms.validators import DataRequired, Email, Length

from judging.models import ROLES


class CheckboxesField(SelectMultipleField):
    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


class InviteForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired(), Length(max=200)])
    email = EmailField("Email", validators=[DataRequired(), Email(), Length(max=254)])
    role = RadioField(
        "Role",
        choices=[
            SelectChoice("juror", "Juror: scores the awards below"),
            SelectChoice("admin", "Administrator: sets up and runs awards"),
        ],
        default="juror",
    )
    awards = CheckboxesField("Jury of", coerce=str, validate_choice=True)
    confirm_password = PasswordField(
        "Your password",
        description="Inviting an administrator needs your password, unless you typed it in "
        "the last 10 minutes.",
    )


class RoleForm(FlaskForm):
    role = RadioField("Role", choices=[SelectChoice(r, r.title()) for r in ROLES])


class JuryAwardsForm(FlaskForm):
    awards = CheckboxesField("Jury of", coerce=str, validate_choice=True)


class TwoFactorPolicyForm(FlaskForm):
    require_admin_2fa = RadioField(
        "Two-factor authentication for administrators",
        choices=[
            SelectChoice("on", "Required for every administrator"),
            SelectChoice("off", "Each administrator's own choice"),
        ],
    )


class LiftRecusalForm(FlaskForm):
    reason = StringField("Reason for lifting it", validators=[DataRequired(), Length(max=2000)])


class CastingForm(FlaskForm):
    reason = TextAreaField(
        "Reason",
        validators=[DataRequired(), Length(max=2000)],
        description="Recorded with the decision and shown with the results.",
    )
