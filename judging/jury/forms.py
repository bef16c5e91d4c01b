"""The evaluation form: one radio group per criterion, built from the award's criteria."""

from flask_wtf import FlaskForm
from wtforms import HiddenField, IntegerField, TextAreaField
from wtforms.validators import InputRequired, Length, NumberRange

from judging.models import Criterion


class EvaluationForm(FlaskForm):
    """The fixed part; the scores come as score-<criterion slug> fields (see read_scores)."""

    version = IntegerField(validators=[InputRequired(), NumberRange(min=0)])
    comment = TextAreaField("Overall comment", validators=[Length(max=10_000)])
    action = HiddenField(default="save")


class RecusalForm(FlaskForm):
    reason = TextAreaField(
        "Why?",
        validators=[InputRequired(message="Say briefly why, for the record."), Length(max=2000)],
        description="For example: “I advised this project in 2022.” Only administrators see it.",
    )


def read_scores(form_data, criteria: list[Criterion]):
    """(scores, criterion comments, errors) from a posted evaluation form."""
    scores, comments, errors = {}, {}, {}
    for criterion in criteria:
        raw = (form_data.get(f"score-{criterion.slug}") or "").strip()
        if raw:
            if raw.lstrip("-").isdigit():
                scores[criterion.slug] = int(raw)
            else:
                errors[f"scores.{criterion.slug}"] = ["Must be a whole number."]
        if text := (form_data.get(f"comment-{criterion.slug}") or "").strip():
            comments[criterion.slug] = text
    return scores, comments, errors
