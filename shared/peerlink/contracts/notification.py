"""What notifications delivered or could not, for the central figures (pseudonymous: no
address, no body, only the kind of message, the channel and the language)."""

from marshmallow import Schema, fields, validate

from peerlink.contracts.catalogue import Channel, EventType
from peerlink.contracts.vocabulary import (
    LANGUAGES,
    MESSAGE_AUDIENCES,
    MESSAGE_CHANNELS,
    MESSAGE_KINDS,
    NOTIFICATION_FAILURE_REASONS,
)

_DELIVERY = "c9d0e1f2-a3b4-4c5d-8e6f-7a8b9c0d1e2f"


class _Delivery(Schema):
    delivery_id = fields.UUID(required=True)
    kind = fields.String(required=True, validate=validate.OneOf(MESSAGE_KINDS))
    channel = fields.String(required=True, validate=validate.OneOf(MESSAGE_CHANNELS))
    languages = fields.List(
        fields.String(validate=validate.OneOf(LANGUAGES)),
        required=True,
        validate=validate.Length(min=1, max=2),
        metadata={"description": "Languages in order: both, Welsh first, when the preference is unknown."},
    )
    attempts = fields.Integer(required=True, validate=validate.Range(min=0))
    # Added after v1 was first published (optional, so the version stays).
    audience = fields.String(
        allow_none=True,
        load_default=None,
        validate=validate.OneOf(MESSAGE_AUDIENCES),
        metadata={"description": "Who the message was for: a person referred in, a mentor, a guest, a coordinator."},
    )
    segments = fields.Integer(
        allow_none=True,
        load_default=None,
        validate=validate.Range(min=1),
        metadata={"description": "SMS only: the parts the text was billed as (GSM-7 160/153, UCS-2 70/67)."},
    )


class NotificationSentV1(_Delivery):
    sent_at = fields.AwareDateTime(required=True, format="iso")


class NotificationFailedV1(_Delivery):
    reason = fields.String(required=True, validate=validate.OneOf(NOTIFICATION_FAILURE_REASONS))
    failed_at = fields.AwareDateTime(required=True, format="iso")


NOTIFICATION_SENT = EventType(
    aggregate="notification",
    verb="sent",
    version=1,
    schema=NotificationSentV1,
    channel=Channel.EVENTS,
    description="A message was accepted by its channel (the mail server, the SMS provider).",
    example={
        "delivery_id": _DELIVERY,
        "kind": "match-confirmed-mentee",
        "channel": "email",
        "languages": ["cy"],
        "attempts": 1,
        "audience": "person",
        "segments": None,
        "sent_at": "2026-11-20T15:31:02Z",
    },
)
NOTIFICATION_FAILED = EventType(
    aggregate="notification",
    verb="failed",
    version=1,
    schema=NotificationFailedV1,
    channel=Channel.EVENTS,
    description="A message could not be delivered and will not be retried; the mentor is asked to phone.",
    example={
        "delivery_id": _DELIVERY,
        "kind": "event-reminder",
        "channel": "sms",
        "languages": ["cy", "en"],
        "attempts": 5,
        "audience": "guest",
        "segments": 2,
        "reason": "attempts-exhausted",
        "failed_at": "2026-11-30T10:00:00Z",
    },
)

TYPES = (NOTIFICATION_SENT, NOTIFICATION_FAILED)
