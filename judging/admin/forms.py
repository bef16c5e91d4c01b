"""Forms of the admin pages: people and settings, awards and criteria, the jury, nominees,
publication, the leaderboard's casting decision and the vote."""

from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    DateTimeLocalField,
    EmailField,
    HiddenField,
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

from judging.inputs import DATABASE_INT_MAX
from judging.models import ROLES
from judging.scoring.ranking import METHOD_NAMES
from judging.services import voting
from judging.services.nominees import FIELDS


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


# The jury page.

# An id that the database can hold: a bigger number is refused here, not by the database.
AN_ID = NumberRange(min=1, max=DATABASE_INT_MAX, message="No such entry.")


class AddJurorForm(FlaskForm):
    juror = SelectField(
        "Juror",
        coerce=int,
        validate_choice=False,  # the service says why a choice is refused
        validators=[InputRequired(message="Choose a juror to add."), AN_ID],
    )


class WholeNumberField(IntegerField):
    def process_formdata(self, valuelist):
        try:
            super().process_formdata(valuelist)
        except ValueError as exc:
            raise ValueError("Give a whole number, such as 3.") from exc


class GenerateForm(FlaskForm):
    k = WholeNumberField(
        "Jurors per nominee",
        validators=[
            InputRequired(message="Say how many jurors each nominee needs."),
            NumberRange(min=1, max=999, message="At least one juror per nominee."),
        ],
    )


class ModeForm(FlaskForm):
    mode = RadioField(
        "How the jurors share the nominees",
        choices=[
            SelectChoice("all", "Every juror scores every nominee"),
            SelectChoice("assigned", "Each juror scores only the nominees assigned to them"),
        ],
    )


class PairForm(FlaskForm):
    nominee = IntegerField(validators=[InputRequired(), AN_ID])
    juror = IntegerField(validators=[InputRequired(), AN_ID])
    op = RadioField(choices=[SelectChoice("add", "add"), SelectChoice("remove", "remove")])


# The nominee pages. They only carry the input and its CSRF token: the rules live in
# judging.services.nominees (the shortlist's own), whose messages land beside each field.


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


# The vote.


class VoteSettingsForm(FlaskForm):
    shortlist = RadioField(
        "Nominees on the ballot",
        choices=[
            SelectChoice("all", "All nominees in the running"),
            SelectChoice("top", "The jury's top N"),
        ],
        default="all",
        validators=[InputRequired()],
    )
    top_n = IntegerField(
        "N (with the jury's top N)", validators=[Optional(), NumberRange(min=1, max=500)]
    )
    jury_weight = IntegerField(
        "Jury weight (%)", validators=[InputRequired(), NumberRange(min=0, max=100)]
    )
    vote_weight = IntegerField(
        "Vote weight (%)", validators=[InputRequired(), NumberRange(min=0, max=100)]
    )
    online_vote = BooleanField(
        "Also an online public vote: anyone votes once per verified email address"
    )

    def validate(self, extra_validators=None) -> bool:
        ok = super().validate(extra_validators)
        if self.shortlist.data == "top" and not self.top_n.data and not self.top_n.errors:
            self.top_n.errors.append("Say how many of the jury's top nominees are on the ballot.")
            ok = False
        if (
            isinstance(self.jury_weight.data, int)
            and isinstance(self.vote_weight.data, int)
            and self.jury_weight.data + self.vote_weight.data != 100
        ):
            self.vote_weight.errors.append(
                f"The weights must add up to 100 (now {self.jury_weight.data} + "
                f"{self.vote_weight.data} = {self.jury_weight.data + self.vote_weight.data})."
            )
            ok = False
        return ok


class CodesForm(FlaskForm):
    count = IntegerField(
        "How many codes",
        validators=[InputRequired(), NumberRange(min=1, max=voting.MAX_CODES)],
    )


class VoidForm(FlaskForm):
    ballot = IntegerField(
        validators=[
            InputRequired(),
            NumberRange(min=1, max=DATABASE_INT_MAX, message="No such ballot."),
        ]
    )
    reason = StringField("Reason", validators=[DataRequired(), Length(max=2000)])
