"""Match events, published by matching; referrals follows them to move its workflow.

A match is proposed (by a coordinator, a whole-group run or a re-match), then confirmed or
declined; a confirmed match ends with a reason. A proposal that events overtook (the referral
withdrawn or closed, the person erased, the mentor paused or left) is cancelled: nobody
declined it. Only confirmation and ending change a referral.

A match event about a person whose referral does not let the central office count them goes to
``peerlink.site-only``, as the referral's own events do (``referral.accepted`` says which).
"""

from marshmallow import Schema, fields, validate

from peerlink.contracts.catalogue import Channel, EventType
from peerlink.contracts.vocabulary import (
    MATCH_CANCEL_REASONS,
    MATCH_DECLINE_REASONS,
    MATCH_DECLINED_BY,
    MATCH_END_REASONS,
    MATCH_METHODS,
)

_MATCH = "9c1d2e3f-4a5b-4c6d-8e7f-0a1b2c3d4e5f"
_REFERRAL = "5f0c6f0e-8f4e-4a7e-9a43-3f6f3e1c2b11"
_PERSON = "0b6f9a8e-1d2c-4b8a-9f3e-2a1b3c4d5e6f"
_MENTOR = "3e4f5a6b-7c8d-4e9f-a0b1-c2d3e4f5a6b7"
_RUN = "b1c2d3e4-f5a6-4b7c-8d9e-0f1a2b3c4d5e"


class _MatchEvent(Schema):
    match_id = fields.UUID(required=True)
    referral_id = fields.UUID(required=True)
    person_id = fields.UUID(required=True)
    mentor_id = fields.UUID(required=True)


class MatchProposedV1(_MatchEvent):
    method = fields.String(required=True, validate=validate.OneOf(MATCH_METHODS))
    score = fields.Float(required=True, validate=validate.Range(min=0), metadata={"description": "The pair's score."})
    run_id = fields.UUID(allow_none=True, load_default=None, metadata={"description": "The matching run, if any."})
    proposed_at = fields.AwareDateTime(required=True, format="iso")


class MatchConfirmedV1(_MatchEvent):
    confirmed_at = fields.AwareDateTime(required=True, format="iso")


class MatchDeclinedV1(_MatchEvent):
    declined_by = fields.String(required=True, validate=validate.OneOf(MATCH_DECLINED_BY))
    reason = fields.String(required=True, validate=validate.OneOf(MATCH_DECLINE_REASONS))
    declined_at = fields.AwareDateTime(required=True, format="iso")


class MatchEndedV1(_MatchEvent):
    reason = fields.String(required=True, validate=validate.OneOf(MATCH_END_REASONS))
    ended_at = fields.AwareDateTime(required=True, format="iso")
    never_pair_again = fields.Boolean(
        load_default=False, metadata={"description": "The pair must never be proposed again."}
    )


class MatchCancelledV1(_MatchEvent):
    reason = fields.String(required=True, validate=validate.OneOf(MATCH_CANCEL_REASONS))
    cancelled_at = fields.AwareDateTime(required=True, format="iso")


_IDS = {"match_id": _MATCH, "referral_id": _REFERRAL, "person_id": _PERSON, "mentor_id": _MENTOR}


def _match_event(verb: str, schema: type[Schema], description: str, example: dict[str, object]) -> EventType:
    return EventType(
        aggregate="match",
        verb=verb,
        version=1,
        schema=schema,
        channel=Channel.EVENTS,
        description=description,
        example={**_IDS, **example},
    )


MATCH_PROPOSED = _match_event(
    "proposed",
    MatchProposedV1,
    "A match between a waiting person and a peer mentor was proposed; it waits for confirmation.",
    {"method": "run", "score": 0.82, "run_id": _RUN, "proposed_at": "2026-11-19T10:00:00Z"},
)
MATCH_CONFIRMED = _match_event(
    "confirmed",
    MatchConfirmedV1,
    "A proposed match between a person and a peer mentor was confirmed.",
    {"confirmed_at": "2026-11-20T15:30:00Z"},
)
MATCH_DECLINED = _match_event(
    "declined",
    MatchDeclinedV1,
    "A proposed match was declined (by the coordinator, the mentor or the mentee), with the reason.",
    {"declined_by": "mentor", "reason": "mentor-unavailable", "declined_at": "2026-11-20T09:00:00Z"},
)
MATCH_ENDED = _match_event(
    "ended",
    MatchEndedV1,
    "A confirmed match ended, with the reason.",
    {"reason": "mentor-paused", "ended_at": "2026-12-15T10:00:00Z", "never_pair_again": False},
)
MATCH_CANCELLED = _match_event(
    "cancelled",
    MatchCancelledV1,
    "A proposed match was withdrawn before anyone decided on it: the referral was withdrawn or closed, "
    "the person erased, or the mentor paused or left.",
    {"reason": "referral-withdrawn", "cancelled_at": "2026-11-21T09:00:00Z"},
)

TYPES = (MATCH_PROPOSED, MATCH_CONFIRMED, MATCH_DECLINED, MATCH_ENDED, MATCH_CANCELLED)
