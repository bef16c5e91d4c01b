"""The shapes of the JSON API, from which the OpenAPI document is generated."""

from datetime import UTC

from marshmallow import RAISE, Schema, fields, validate

from judging.inputs import DATABASE_INT_MAX


class UTCDateTime(fields.AwareDateTime):
    """A stored (naive, UTC) time sent with its offset, so that a browser shows its local time."""

    def _serialize(self, value, attr, obj, **kwargs):
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return super()._serialize(value, attr, obj, **kwargs)


class JSONBoolean(fields.Boolean):
    """true or false, and nothing that merely equals them (1 == True in Python)."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, bool):
            raise self.make_error("invalid", input=value)
        return value


class AwardOut(Schema):
    slug = fields.String(required=True)
    title = fields.String(required=True)
    description = fields.String(required=True)
    status = fields.String(required=True)
    nominee_count = fields.Integer(required=True)


class NomineeOut(Schema):
    slug = fields.String(required=True)
    title = fields.String(required=True)
    organisation = fields.String(required=True)
    city = fields.String(required=True)
    country = fields.String(required=True)
    summary = fields.String(required=True)


class CriterionOut(Schema):
    slug = fields.String(required=True)
    name = fields.String(required=True)
    guidance = fields.String(required=True)
    weight = fields.Integer(required=True)
    min = fields.Integer(required=True, attribute="scale_min")
    max = fields.Integer(required=True, attribute="scale_max")


class EvaluationIn(Schema):
    """The whole evaluation as the juror's page holds it; a draft may leave scores out."""

    class Meta:
        unknown = RAISE  # a client cannot set the juror, the nominee or anything else

    scores = fields.Dict(
        keys=fields.String(),
        values=fields.Raw(),  # checked against each criterion's scale by the service
        required=True,
        metadata={"description": "criterion slug → whole number within its scale"},
    )
    comment = fields.String(load_default="", validate=validate.Length(max=10_000))
    criterion_comments = fields.Dict(
        keys=fields.String(), values=fields.String(), load_default=dict
    )
    submitted = JSONBoolean(required=True)
    version = fields.Integer(
        required=True,
        strict=True,
        validate=validate.Range(min=0, max=DATABASE_INT_MAX),
        metadata={"description": "the version this page last loaded; 0 for a new evaluation"},
    )


class EvaluationOut(Schema):
    scores = fields.Dict(keys=fields.String(), values=fields.Integer(), required=True)
    criterion_comments = fields.Dict(keys=fields.String(), values=fields.String(), required=True)
    comment = fields.String(required=True)
    submitted = fields.Boolean(required=True)
    submitted_at = UTCDateTime(default_timezone=UTC, allow_none=True, required=True)
    updated_at = UTCDateTime(default_timezone=UTC, allow_none=True, required=True)
    version = fields.Integer(required=True)


class ErrorOut(Schema):
    code = fields.Integer(required=True)
    status = fields.String(required=True)
    message = fields.String(required=True)
    errors = fields.Dict(metadata={"description": "field → messages"})


class ConflictOut(ErrorOut):
    current = fields.Nested(EvaluationOut, metadata={"description": "the newer version saved"})


class RecusalIn(Schema):
    class Meta:
        unknown = RAISE

    reason = fields.String(required=True, validate=validate.Length(min=1, max=2000))


class RecusalOut(Schema):
    nominee = fields.String(required=True)
    reason = fields.String(required=True)
    declared_at = UTCDateTime(default_timezone=UTC, required=True)


class RankedNomineeOut(Schema):
    rank = fields.Integer(required=True)
    slug = fields.String(required=True)
    title = fields.String(required=True)
    organisation = fields.String(required=True)
    city = fields.String(required=True)
    country = fields.String(required=True)
    score = fields.Float(required=True, allow_none=True, metadata={"description": "0-100"})
    tied = fields.Boolean(required=True)
    decided_by = fields.String(required=True)
    coverage = fields.Integer(required=True)
    median = fields.Float(required=True, allow_none=True)
    spread = fields.Float(required=True, allow_none=True)
    criteria = fields.Dict(keys=fields.String(), values=fields.Float(allow_none=True))
    by_method = fields.Dict(keys=fields.String(), values=fields.Float(allow_none=True))
    # With a vote (vote weight above 0): `score` is the final score combining these.
    jury_score = fields.Float(allow_none=True, metadata={"description": "0-100, with a vote"})
    votes = fields.Integer(metadata={"description": "ballots counted, with a vote"})
    vote_score = fields.Float(metadata={"description": "0-100, with a vote"})


class ResultsOut(Schema):
    award = fields.String(required=True)
    title = fields.String(required=True)
    method = fields.String(required=True)
    nominees = fields.List(fields.Nested(RankedNomineeOut), required=True)
    statistics = fields.Dict(required=True)
    flags = fields.List(fields.Dict(), required=True)
    criteria = fields.List(fields.Dict(), required=True)
    counts = fields.Dict(required=True)
    casting_decisions = fields.List(fields.Dict(), required=True)
    vote = fields.Dict(
        metadata={"description": "the weights, the formula and the ballots cast, voided, counted"}
    )
    published_at = fields.String(required=True, allow_none=True)
    app_version = fields.String(required=True, allow_none=True)
    override_reason = fields.String(required=True)
    digest = fields.String(
        required=True,
        allow_none=True,
        metadata={"description": "SHA-256 of the canonical published JSON"},
    )
    provisional = fields.Boolean(required=True)


class BallotIn(Schema):
    """One ballot: the code of a printed card and the slug of the chosen nominee."""

    class Meta:
        unknown = RAISE

    code = fields.String(
        required=True,
        validate=validate.Length(min=1, max=64),
        metadata={"description": "the card's access code, e.g. ABCD-EFGH-JKLM-NPQR"},
    )
    nominee = fields.String(
        required=True,
        validate=validate.Length(min=1, max=200),
        metadata={"description": "slug of a nominee on the award's shortlist"},
    )


class BallotOut(Schema):
    receipt = fields.String(
        required=True, metadata={"description": "check it at /vote/<award>/check?receipt=..."}
    )
    nominee = fields.String(required=True)
