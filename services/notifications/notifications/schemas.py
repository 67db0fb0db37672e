"""The API's bodies (marshmallow)."""

from marshmallow import Schema, fields, validate

STATUSES = ["pending", "sent", "failed", "skipped"]


class DeliveryOut(Schema):
    id = fields.UUID()
    event_id = fields.String()
    kind = fields.String()
    person_id = fields.String()
    channel = fields.String()
    status = fields.String(metadata={"enum": STATUSES})
    languages = fields.String(allow_none=True)
    attempts = fields.Integer()
    last_error = fields.String(allow_none=True)
    created_at = fields.AwareDateTime()
    sent_at = fields.AwareDateTime(allow_none=True)


class DeliveryQuery(Schema):
    status = fields.String(validate=validate.OneOf(STATUSES))
    person_id = fields.UUID()
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))
    offset = fields.Integer(load_default=0, validate=validate.Range(min=0))
