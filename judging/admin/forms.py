"""Forms of the admin pages."""

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateTimeLocalField,
    EmailField,
    IntegerField,
    PasswordField,
    RadioField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
    widgets,
)
from wtforms.validators import DataRequired, Email, InputRequired, Length, NumberRange, Optional

from judging.models import ROLES
from judging.ranking import METHOD_NAMES


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
    confirm_code = StringField(
        "Your two-factor code",
        validators=[Length(max=32)],
        description="From your authenticator app (or one of your recovery codes).",
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


class AwardForm(FlaskForm):
    title = StringField("Title", validators=[DataRequired(), Length(max=200)])
    slug = StringField(
        "Short name in addresses",
        validators=[Optional(), Length(max=80)],
        description="Lower-case letters, digits and hyphens, as in /awards/excellence-award. "
        "Left empty, it is made from the title. It cannot change later.",
    )
    description = TextAreaField("Description", validators=[Length(max=10_000)])
    scoring_opens_at = DateTimeLocalField(
        "Scoring opens",
        validators=[Optional()],
        format="%Y-%m-%dT%H:%M",
        description="Optional. Opening scoring is always your explicit action as well.",
    )
    scoring_closes_at = DateTimeLocalField(
        "Scoring closes",
        validators=[Optional()],
        format="%Y-%m-%dT%H:%M",
        description="Optional. After it no juror can save, even before you close scoring.",
    )
    voting_opens_at = DateTimeLocalField(
        "Voting opens",
        validators=[Optional()],
        format="%Y-%m-%dT%H:%M",
        description="Optional, if the award has a vote. Opening voting is your explicit action.",
    )
    voting_closes_at = DateTimeLocalField(
        "Voting closes",
        validators=[Optional()],
        format="%Y-%m-%dT%H:%M",
        description="Optional. After it no ballot is accepted, even before you close voting.",
    )
    aggregation_method = SelectField(
        "How scores are combined",
        choices=[SelectChoice(k, v) for k, v in METHOD_NAMES.items()],
        description="The leaderboard always shows the other methods beside it.",
    )
    quorum = IntegerField(
        "Quorum",
        validators=[InputRequired(), NumberRange(min=1, max=1000)],
        default=3,
        description="Evaluations a nominee needs; fewer is flagged before publication.",
    )
    require_comment = BooleanField("Jurors must write an overall comment to submit")
    blind = BooleanField("Blind jury: jurors never see each other's scores", default=True)


class CriterionForm(FlaskForm):
    slug = StringField(
        "Short name",
        validators=[Optional(), Length(max=80)],
        description="Left empty, it is made from the name.",
    )
    name = StringField("Name", validators=[DataRequired(), Length(max=200)])
    guidance = TextAreaField(
        "Guidance for jurors",
        validators=[Length(max=2000)],
        description="One or two lines a juror can score against: what a low and a high score mean.",
    )
    weight = IntegerField(
        "Weight", validators=[InputRequired(), NumberRange(min=1, max=1000)], default=10
    )
    scale_min = IntegerField(
        "Lowest score", validators=[InputRequired(), NumberRange(0, 99)], default=1
    )
    scale_max = IntegerField(
        "Highest score", validators=[InputRequired(), NumberRange(1, 100)], default=10
    )
    comment_required = BooleanField("Jurors must comment on this criterion to submit")


class PublishForm(FlaskForm):
    confirm = BooleanField(
        "I have checked the leaderboard: these results are final",
        validators=[DataRequired(message="Tick the box to confirm.")],
    )
    override_reason = TextAreaField(
        "Reason for publishing despite the points above",
        validators=[Length(max=2000)],
        description="Needed only while points remain; it is published with the results.",
    )
