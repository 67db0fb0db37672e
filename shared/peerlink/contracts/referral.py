"""Referral events: a person enters the network at a site and moves through triage (pseudonymous).

Every state change of a referral has its event, so that other services (matching) and the
central office follow the workflow without ever reading the referrals database.
"""

from marshmallow import Schema, fields, validate

from peerlink.contracts.catalogue import Channel, EventType
from peerlink.contracts.vocabulary import (
    AGE_BANDS,
    AVAILABILITY_SLOTS,
    CLOSURE_OUTCOMES,
    DECLINE_REASONS,
    INTERESTS,
    LANGUAGES,
    MATCH_END_REASONS,
    MENTOR_GENDER_PREFERENCES,
    REFERRAL_SOURCES,
    SUPPORT_NEEDS,
    WITHDRAW_REASONS,
)

REFERRAL_STATUSES = ("received", "accepted", "declined", "matched", "active", "closed", "withdrawn")

_REFERRAL = "5f0c6f0e-8f4e-4a7e-9a43-3f6f3e1c2b11"
_PERSON = "0b6f9a8e-1d2c-4b8a-9f3e-2a1b3c4d5e6f"
_MATCH = "9c1d2e3f-4a5b-4c6d-8e7f-0a1b2c3d4e5f"
_MENTOR = "3e4f5a6b-7c8d-4e9f-a0b1-c2d3e4f5a6b7"


def _codes(choices: tuple[str, ...], **kwargs: object) -> fields.List:
    return fields.List(fields.String(validate=validate.OneOf(choices)), **kwargs)  # type: ignore[arg-type]


class _ReferralEvent(Schema):
    referral_id = fields.UUID(required=True)
    person_id = fields.UUID(required=True)


class ReferralReceivedV1(_ReferralEvent):
    source = fields.String(required=True, validate=validate.OneOf(REFERRAL_SOURCES))
    support_needs = _codes(SUPPORT_NEEDS, required=True, validate=validate.Length(min=1))
    age_band = fields.String(required=True, validate=validate.OneOf(AGE_BANDS))
    preferred_language = fields.String(required=True, validate=validate.OneOf(LANGUAGES))
    received_at = fields.AwareDateTime(required=True, format="iso")
    counted_in_figures = fields.Boolean(
        required=True,
        metadata={"description": "The person's consent or lawful basis lets the central office count them."},
    )
    self_referral = fields.Boolean(load_default=False)
    known_person = fields.Boolean(
        load_default=False, metadata={"description": "Linked to a person already referred at this site."}
    )


class MentorPreferencesV1(Schema):
    mentor_gender = fields.String(load_default="no-preference", validate=validate.OneOf(MENTOR_GENDER_PREFERENCES))
    welsh_speaking_mentor = fields.Boolean(load_default=False)


class ReferralAcceptedV1(_ReferralEvent):
    accepted_at = fields.AwareDateTime(required=True, format="iso")
    priority = fields.Boolean(required=True)
    reentry = fields.Boolean(
        required=True, metadata={"description": "Back on the waiting list after closing, without a new triage."}
    )
    support_needs = _codes(SUPPORT_NEEDS, required=True)
    interests = _codes(INTERESTS, required=True)
    availability = _codes(AVAILABILITY_SLOTS, required=True)
    preferred_language = fields.String(required=True, validate=validate.OneOf(LANGUAGES))
    preferences = fields.Nested(MentorPreferencesV1, required=True)


class ReferralDeclinedV1(_ReferralEvent):
    reason = fields.String(required=True, validate=validate.OneOf(DECLINE_REASONS))
    declined_at = fields.AwareDateTime(required=True, format="iso")


class ReferralWithdrawnV1(_ReferralEvent):
    reason = fields.String(required=True, validate=validate.OneOf(WITHDRAW_REASONS))
    from_status = fields.String(required=True, validate=validate.OneOf(REFERRAL_STATUSES))
    withdrawn_at = fields.AwareDateTime(required=True, format="iso")


class ReferralMatchedV1(_ReferralEvent):
    match_id = fields.UUID(required=True)
    mentor_id = fields.UUID(required=True)
    matched_at = fields.AwareDateTime(required=True, format="iso")
    days_waiting = fields.Integer(required=True, validate=validate.Range(min=0))


class ReferralActivatedV1(_ReferralEvent):
    activated_at = fields.AwareDateTime(required=True, format="iso")


class ReferralRequeuedV1(_ReferralEvent):
    match_id = fields.UUID(required=True)
    reason = fields.String(required=True, validate=validate.OneOf(MATCH_END_REASONS))
    requeued_at = fields.AwareDateTime(required=True, format="iso")


class ReferralClosedV1(_ReferralEvent):
    outcome = fields.String(required=True, validate=validate.OneOf(CLOSURE_OUTCOMES))
    closed_at = fields.AwareDateTime(required=True, format="iso")
    days_open = fields.Integer(required=True, validate=validate.Range(min=0))


def _referral_event(verb: str, schema: type[Schema], description: str, example: dict[str, object]) -> EventType:
    return EventType(
        aggregate="referral",
        verb=verb,
        version=1,
        schema=schema,
        channel=Channel.EVENTS,
        description=description,
        example={"referral_id": _REFERRAL, "person_id": _PERSON, **example},
    )


REFERRAL_RECEIVED = _referral_event(
    "received",
    ReferralReceivedV1,
    "A referral was taken in at a site (by the person, an agency or a professional).",
    {
        "source": "gp",
        "support_needs": ["alcohol", "isolation"],
        "age_band": "35-44",
        "preferred_language": "cy",
        "received_at": "2026-11-02T10:15:00.000000Z",
        "counted_in_figures": True,
        "self_referral": False,
        "known_person": False,
    },
)
REFERRAL_ACCEPTED = _referral_event(
    "accepted",
    ReferralAcceptedV1,
    "Triage accepted the referral (or a closed one came back): the person waits for a mentor.",
    {
        "accepted_at": "2026-11-03T09:00:00.000000Z",
        "priority": False,
        "reentry": False,
        "support_needs": ["alcohol", "isolation"],
        "interests": ["art", "walking"],
        "availability": ["tue-pm", "thu-am"],
        "preferred_language": "cy",
        "preferences": {"mentor_gender": "female", "welsh_speaking_mentor": True},
    },
)
REFERRAL_DECLINED = _referral_event(
    "declined",
    ReferralDeclinedV1,
    "Triage declined the referral.",
    {"reason": "needs-another-service", "declined_at": "2026-11-03T09:00:00.000000Z"},
)
REFERRAL_WITHDRAWN = _referral_event(
    "withdrawn",
    ReferralWithdrawnV1,
    "The referral was withdrawn from an open state.",
    {"reason": "by-person", "from_status": "accepted", "withdrawn_at": "2026-11-10T12:00:00.000000Z"},
)
REFERRAL_MATCHED = _referral_event(
    "matched",
    ReferralMatchedV1,
    "A match with a peer mentor was confirmed.",
    {"match_id": _MATCH, "mentor_id": _MENTOR, "matched_at": "2026-11-20T15:30:00.000000Z", "days_waiting": 17},
)
REFERRAL_ACTIVATED = _referral_event(
    "activated",
    ReferralActivatedV1,
    "Mentoring started (the first meeting took place).",
    {"activated_at": "2026-11-25T11:00:00.000000Z"},
)
REFERRAL_REQUEUED = _referral_event(
    "requeued",
    ReferralRequeuedV1,
    "The match ended before the referral closed: the person waits for a mentor again.",
    {"match_id": _MATCH, "reason": "mentor-paused", "requeued_at": "2026-12-15T10:00:00.000000Z"},
)
REFERRAL_CLOSED = _referral_event(
    "closed",
    ReferralClosedV1,
    "The referral closed, with its outcome.",
    {"outcome": "completed", "closed_at": "2027-05-01T10:00:00.000000Z", "days_open": 180},
)

TYPES = (
    REFERRAL_RECEIVED,
    REFERRAL_ACCEPTED,
    REFERRAL_DECLINED,
    REFERRAL_WITHDRAWN,
    REFERRAL_MATCHED,
    REFERRAL_ACTIVATED,
    REFERRAL_REQUEUED,
    REFERRAL_CLOSED,
)
