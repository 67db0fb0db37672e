"""Mentor events, published by matching (pseudonymous: codes and counts, never a name).

A mentor who was once referred in carries their ``person_id``: the central office counts
"the receiver as a giver" from it without ever seeing who they are.
"""

from marshmallow import Schema, fields, validate

from peerlink.contracts.catalogue import Channel, EventType
from peerlink.contracts.vocabulary import (
    AVAILABILITY_SLOTS,
    INTERESTS,
    LANGUAGES,
    MENTOR_KINDS,
    MENTOR_LEAVE_REASONS,
    MENTOR_PAUSE_REASONS,
    SUPPORT_NEEDS,
)

_MENTOR = "3e4f5a6b-7c8d-4e9f-a0b1-c2d3e4f5a6b7"
_FORMER_PARTICIPANT = "0b6f9a8e-1d2c-4b8a-9f3e-2a1b3c4d5e6f"


def _codes(choices: tuple[str, ...], **kwargs: object) -> fields.List:
    return fields.List(fields.String(validate=validate.OneOf(choices)), **kwargs)  # type: ignore[arg-type]


class _MentorProfile(Schema):
    mentor_id = fields.UUID(required=True)
    kind = fields.String(required=True, validate=validate.OneOf(MENTOR_KINDS))
    languages = _codes(LANGUAGES, required=True, validate=validate.Length(min=1))
    lived_experience = _codes(SUPPORT_NEEDS, required=True)
    skills = _codes(
        SUPPORT_NEEDS,
        load_default=list,
        metadata={"description": "Needs the mentor is trained or experienced to help with, beyond lived experience."},
    )
    interests = _codes(INTERESTS, required=True)
    availability = _codes(AVAILABILITY_SLOTS, required=True)
    capacity = fields.Integer(required=True, validate=validate.Range(min=1, max=20))
    person_id = fields.UUID(
        allow_none=True,
        load_default=None,
        metadata={"description": "The mentor's own person id when they were once referred in (receiver as giver)."},
    )


class MentorRegisteredV1(_MentorProfile):
    registered_at = fields.AwareDateTime(required=True, format="iso")


class MentorUpdatedV1(_MentorProfile):
    updated_at = fields.AwareDateTime(required=True, format="iso")


class MentorPausedV1(Schema):
    mentor_id = fields.UUID(required=True)
    reason = fields.String(required=True, validate=validate.OneOf(MENTOR_PAUSE_REASONS))
    paused_at = fields.AwareDateTime(required=True, format="iso")
    mentees_requeued = fields.Integer(required=True, validate=validate.Range(min=0))


class MentorResumedV1(Schema):
    mentor_id = fields.UUID(required=True)
    resumed_at = fields.AwareDateTime(required=True, format="iso")


class MentorLeftV1(Schema):
    mentor_id = fields.UUID(required=True)
    reason = fields.String(required=True, validate=validate.OneOf(MENTOR_LEAVE_REASONS))
    left_at = fields.AwareDateTime(required=True, format="iso")
    mentees_requeued = fields.Integer(required=True, validate=validate.Range(min=0))


_PROFILE = {
    "mentor_id": _MENTOR,
    "kind": "volunteer",
    "languages": ["cy", "en"],
    "lived_experience": ["alcohol", "mental-health"],
    "skills": ["housing"],
    "interests": ["art", "walking"],
    "availability": ["tue-pm", "thu-am"],
    "capacity": 3,
    "person_id": _FORMER_PARTICIPANT,
}


def _mentor_event(verb: str, schema: type[Schema], description: str, example: dict[str, object]) -> EventType:
    return EventType(
        aggregate="mentor",
        verb=verb,
        version=1,
        schema=schema,
        channel=Channel.EVENTS,
        description=description,
        example=example,
    )


MENTOR_REGISTERED = _mentor_event(
    "registered",
    MentorRegisteredV1,
    "A peer mentor (paid or volunteer) joined the site's registry.",
    {**_PROFILE, "registered_at": "2026-10-01T09:00:00.000000Z"},
)
MENTOR_UPDATED = _mentor_event(
    "updated",
    MentorUpdatedV1,
    "A mentor's profile changed (languages, experience, interests, availability, capacity).",
    {**_PROFILE, "capacity": 2, "updated_at": "2026-11-01T09:00:00.000000Z"},
)
MENTOR_PAUSED = _mentor_event(
    "paused",
    MentorPausedV1,
    "A mentor paused (relapse, burnout, an expired check): their mentees go back to the queue with priority.",
    {"mentor_id": _MENTOR, "reason": "burnout", "paused_at": "2026-12-01T09:00:00.000000Z", "mentees_requeued": 2},
)
MENTOR_RESUMED = _mentor_event(
    "resumed",
    MentorResumedV1,
    "A paused mentor is available again.",
    {"mentor_id": _MENTOR, "resumed_at": "2027-01-15T09:00:00.000000Z"},
)
MENTOR_LEFT = _mentor_event(
    "left",
    MentorLeftV1,
    "A mentor left the scheme: their mentees go back to the queue with priority.",
    {"mentor_id": _MENTOR, "reason": "employment", "left_at": "2027-03-01T09:00:00.000000Z", "mentees_requeued": 1},
)

TYPES = (MENTOR_REGISTERED, MENTOR_UPDATED, MENTOR_PAUSED, MENTOR_RESUMED, MENTOR_LEFT)
