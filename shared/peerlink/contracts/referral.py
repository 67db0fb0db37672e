"""Referral events: a person enters the network at a site and moves through triage (pseudonymous).

Every state change of a referral has its event, so that other services (matching) and the
central office follow the workflow without ever reading the referrals database. So does the
answer to whom a referral is about, when intake linked it to someone already known.
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
    PERSON_RESOLUTIONS,
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
        load_default=False,
        metadata={
            "description": "Linked to a person already referred at this site: only a possible duplicate until "
            "`referral.person-resolved` says whose referral it is. Until then it does not speak for "
            "`person_id` (neither an acknowledgement to her nor her consent to be counted)."
        },
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
    # Added after v1 was first published, so optional to read: an event from before it is absent.
    counted_in_figures = fields.Boolean(
        load_default=None,
        metadata={
            "description": "The referral's consent to be counted centrally, as on its `referral.received`: "
            "when false, what other services say about this referral (matching's `match.*`) stays at the "
            "site, on `peerlink.site-only`, as this event does. Always sent; absent only from events "
            "emitted before it existed (read as null: not known)."
        },
    )


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


class ReferralPersonResolvedV1(_ReferralEvent):
    """``person_id`` is whom the referral is about from now on (the new person, or the same)."""

    linked_person_id = fields.UUID(
        required=True, metadata={"description": "Whom intake linked it to: the `person_id` of its `referral.received`."}
    )
    resolution = fields.String(required=True, validate=validate.OneOf(PERSON_RESOLUTIONS))
    counted_in_figures = fields.Boolean(
        required=True,
        metadata={
            "description": "The referral's consent to be counted centrally, which now speaks for `person_id` "
            "as of `received_at`, as a `referral.received` of theirs would."
        },
    )
    age_band = fields.String(
        required=True,
        validate=validate.OneOf(AGE_BANDS),
        metadata={"description": "The referral's age band from now on (the same person: from her own record)."},
    )
    referral_status = fields.String(
        required=True,
        validate=validate.OneOf(REFERRAL_STATUSES),
        metadata={"description": "Where the referral stands at the answer: `received`, or `withdrawn` meanwhile."},
    )
    received_at = fields.AwareDateTime(required=True, format="iso")
    resolved_at = fields.AwareDateTime(required=True, format="iso")


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
REFERRAL_PERSON_RESOLVED = _referral_event(
    "person-resolved",
    ReferralPersonResolvedV1,
    "A coordinator said whom a referral linked to someone already known (a possible duplicate) is "
    "about: the same person, or a different one with a person of their own (`person_id` changes). "
    "Acknowledging it, and taking its consent to be counted, wait for this.",
    {
        "person_id": "6d7e8f9a-0b1c-4d2e-8f3a-4b5c6d7e8f9a",
        "linked_person_id": _PERSON,
        "resolution": "different-person",
        "counted_in_figures": True,
        "age_band": "35-44",
        "referral_status": "received",
        "received_at": "2026-11-02T10:15:00.000000Z",
        "resolved_at": "2026-11-02T14:40:00.000000Z",
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
        "counted_in_figures": True,
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
    REFERRAL_PERSON_RESOLVED,
    REFERRAL_ACCEPTED,
    REFERRAL_DECLINED,
    REFERRAL_WITHDRAWN,
    REFERRAL_MATCHED,
    REFERRAL_ACTIVATED,
    REFERRAL_REQUEUED,
    REFERRAL_CLOSED,
)
