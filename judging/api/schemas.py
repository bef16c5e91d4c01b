"""The shapes of the JSON API, from which the OpenAPI document is generated."""

from marshmallow import Schema, fields


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
