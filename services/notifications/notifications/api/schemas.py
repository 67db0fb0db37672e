"""The API's bodies and query strings (marshmallow)."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from notifications.domain.recipients import AUDIENCES, DIGEST_CHOICES
from notifications.store import STATUSES
from peerlink.contracts.vocabulary import LANGUAGES, MESSAGE_CHANNELS, MESSAGE_KINDS
from peerlink.web import paging

CLOCK = validate.Regexp(r"^([01]\d|2[0-3]):[0-5]\d$", error="Not a time of day such as 21:00.")


def _unique(values: list[Any]) -> None:
    if len(set(values)) != len(values):
        raise ValidationError("Each value may appear once.")


# Deliveries -------------------------------------------------------------------------------


class DeliveryQuery(Schema):
    status = fields.String(validate=validate.OneOf(STATUSES))
    kind = fields.String(validate=validate.OneOf(MESSAGE_KINDS))
    channel = fields.String(validate=validate.OneOf(MESSAGE_CHANNELS))
    audience = fields.String(validate=validate.OneOf(AUDIENCES))
    recipient_id = fields.UUID()
    person_id = fields.UUID(metadata={"description": "The same as recipient_id (kept for older clients)."})
    event_id = fields.String(validate=validate.Length(min=1, max=160))
    art_event_id = fields.UUID()
    reason = fields.String(validate=validate.Length(min=1, max=30))
    since = fields.AwareDateTime(metadata={"description": "Owed at or after this time."})
    until = fields.AwareDateTime(metadata={"description": "Owed before this time."})
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))
    offset = paging.offset()

    @validates_schema
    def _one_recipient(self, data: dict[str, Any], **kwargs: Any) -> None:
        if data.get("person_id") and data.get("recipient_id") and data["person_id"] != data["recipient_id"]:
            raise ValidationError("Give recipient_id or person_id, not two different ids.", "person_id")


class DeliveryOut(Schema):
    id = fields.UUID()
    event_id = fields.String(metadata={"description": "The event that caused it, or reminder:/digest: keys of ours"})
    kind = fields.String()
    recipient_id = fields.String()
    audience = fields.String()
    channel = fields.String()
    status = fields.String(metadata={"enum": list(STATUSES)})
    reason = fields.String(allow_none=True, metadata={"description": "Why skipped, failed or put off"})
    languages = fields.List(fields.String(), allow_none=True)
    attempts = fields.Integer()
    last_error = fields.String(allow_none=True)
    segments = fields.Integer(allow_none=True, metadata={"description": "Texts: the parts billed"})
    provider = fields.String(allow_none=True)
    art_event_id = fields.String(allow_none=True)
    registration_id = fields.String(allow_none=True)
    digest_id = fields.UUID(allow_none=True)
    site_only = fields.Boolean(
        metadata={"description": "About someone not counted centrally: its events stay at the site"}
    )
    due_at = fields.AwareDateTime(allow_none=True, metadata={"description": "Pending only: when it is next tried"})
    created_at = fields.AwareDateTime()
    sent_at = fields.AwareDateTime(allow_none=True)
    settled_at = fields.AwareDateTime(allow_none=True)


class DeliveryDetailOut(DeliveryOut):
    subject = fields.String(allow_none=True, metadata={"description": "Coordinators only; erased with the person"})
    body = fields.String(allow_none=True, metadata={"description": "Coordinators only; erased with the person"})
    values = fields.Dict(metadata={"description": "What the message was made from (ids, codes, times)"})


class CountOut(Schema):
    kind = fields.String()
    channel = fields.String()
    status = fields.String()
    count = fields.Integer()


# Preferences ------------------------------------------------------------------------------


class QuietHoursSchema(Schema):
    start = fields.String(required=True, validate=CLOCK, metadata={"example": "21:00"})
    end = fields.String(required=True, validate=CLOCK, metadata={"example": "08:00"})

    @validates_schema
    def _not_empty(self, data: dict[str, Any], **kwargs: Any) -> None:
        if data.get("start") and data.get("start") == data.get("end"):
            raise ValidationError("Quiet hours must start and end at different times.", "end")


class PreferencesIn(Schema):
    """The whole of someone's choices (a PUT replaces them all)."""

    channels = fields.List(
        fields.String(validate=validate.OneOf(MESSAGE_CHANNELS)),
        allow_none=True,
        load_default=None,
        validate=_unique,
        metadata={"description": "Which channels to use, of those they consented to; null: all of them."},
    )
    language = fields.String(
        allow_none=True,
        load_default=None,
        validate=validate.OneOf(LANGUAGES),
        metadata={"description": "null: as their contact details say (unknown: both, Welsh first)."},
    )
    quiet_hours = fields.Nested(QuietHoursSchema, allow_none=True, load_default=None)
    opt_out = fields.List(
        fields.String(validate=validate.OneOf(MESSAGE_KINDS)),
        load_default=list,
        validate=_unique,
        metadata={"description": "Kinds of message they do not want."},
    )
    digest = fields.String(
        load_default="each",
        validate=validate.OneOf(DIGEST_CHOICES),
        metadata={"description": "Coordinators: one email per item (each) or one a day (daily)."},
    )


class PreferencesOut(Schema):
    recipient_id = fields.String()
    contact_known = fields.Boolean()
    audience = fields.String(allow_none=True)
    consented_channels = fields.List(fields.String())
    safe_to_text = fields.Boolean()
    texts_stopped = fields.Boolean(metadata={"description": "They texted STOP (START undoes it)"})
    preferences = fields.Nested(PreferencesIn)
    effective_channels = fields.List(fields.String(), metadata={"description": "Where messages go now"})
    languages = fields.List(fields.String(), metadata={"description": "In order; both, Welsh first, if unknown"})
    updated_at = fields.AwareDateTime(allow_none=True)
    updated_by = fields.String(allow_none=True)


# Coordinators -----------------------------------------------------------------------------


class CoordinatorIn(Schema):
    given_name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    email = fields.Email(required=True, validate=validate.Length(max=254))
    preferred_language = fields.String(allow_none=True, load_default=None, validate=validate.OneOf(LANGUAGES))


class CoordinatorOut(Schema):
    id = fields.String()
    given_name = fields.String()
    email = fields.String()
    preferred_language = fields.String(allow_none=True)
    digest = fields.String()


# Templates --------------------------------------------------------------------------------


class TemplateFileOut(Schema):
    language = fields.String()
    name = fields.String()
    revision = fields.Integer(allow_none=True)


class TemplateOut(Schema):
    kind = fields.String()
    ready = fields.Boolean(metadata={"description": "False: nothing of this kind is sent (see problem)"})
    problem = fields.String(allow_none=True)
    has_sms = fields.Boolean()
    audiences = fields.List(fields.String())
    files = fields.List(fields.Nested(TemplateFileOut))


class TemplateDetailOut(TemplateOut):
    sources = fields.Dict(keys=fields.String(), values=fields.String())


class PreviewIn(Schema):
    language = fields.String(load_default="both", validate=validate.OneOf(["cy", "en", "both"]))
    audience = fields.String(validate=validate.OneOf(AUDIENCES))
    given_name = fields.String(load_default="Rhian", validate=validate.Length(min=1, max=100))
    values = fields.Dict(
        keys=fields.String(),
        load_default=dict,
        metadata={"description": "Overrides for the sample values (see the template for names)."},
    )


class TextOut(Schema):
    text = fields.String()
    encoding = fields.String(metadata={"enum": ["GSM-7", "UCS-2"]})
    units = fields.Integer()
    segments = fields.Integer()
    indiscreet_words = fields.List(fields.String(), metadata={"description": "Would stop it being sent"})


class PreviewOut(Schema):
    kind = fields.String()
    languages = fields.List(fields.String())
    ready = fields.Boolean()
    problem = fields.String(allow_none=True)
    subject = fields.String()
    body = fields.String()
    sms = fields.Nested(TextOut, allow_none=True)


# Records ----------------------------------------------------------------------------------


class PageQuery(Schema):
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))
    offset = paging.offset()


class LanguageDecisionQuery(PageQuery):
    recipient_id = fields.UUID()
    since = fields.AwareDateTime()


class LanguageDecisionOut(Schema):
    delivery_id = fields.UUID()
    recipient_id = fields.String()
    kind = fields.String()
    channel = fields.String()
    languages = fields.List(fields.String())
    reason = fields.String()
    decided_at = fields.AwareDateTime()


class ReminderQuery(PageQuery):
    art_event_id = fields.UUID()
    status = fields.String(validate=validate.OneOf(["scheduled", "sent", "missed", "not-needed", "cancelled"]))


class ReminderOut(Schema):
    registration_id = fields.String()
    art_event_id = fields.String()
    recipient_id = fields.String()
    audience = fields.String()
    starts_at = fields.AwareDateTime()
    due_at = fields.AwareDateTime(allow_none=True)
    status = fields.String()
    sent_for = fields.AwareDateTime(allow_none=True)
