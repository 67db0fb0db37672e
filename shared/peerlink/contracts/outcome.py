"""Wellbeing check-ins: the change per person, for distance-travelled figures (pseudonymous)."""

from marshmallow import Schema, fields, validate

from peerlink.contracts.catalogue import Channel, EventType
from peerlink.contracts.vocabulary import CHECK_IN_TIMEPOINTS


class OutcomeRecordedV1(Schema):
    check_in_id = fields.UUID(required=True)
    referral_id = fields.UUID(required=True)
    person_id = fields.UUID(required=True)
    scale = fields.String(required=True, validate=validate.Regexp(r"^[a-z0-9-]{1,40}$"))
    timepoint = fields.String(required=True, validate=validate.OneOf(CHECK_IN_TIMEPOINTS))
    score = fields.Integer(required=True, validate=validate.Range(min=0))
    maximum = fields.Integer(required=True, validate=validate.Range(min=1))
    baseline_score = fields.Integer(allow_none=True, load_default=None)
    change = fields.Integer(allow_none=True, load_default=None)
    weeks_since_baseline = fields.Integer(allow_none=True, load_default=None)
    recorded_at = fields.AwareDateTime(required=True, format="iso")


OUTCOME_RECORDED = EventType(
    aggregate="outcome",
    verb="recorded",
    version=1,
    schema=OutcomeRecordedV1,
    channel=Channel.EVENTS,
    description="A wellbeing check-in was recorded: its total, and its change since the baseline.",
    example={
        "check_in_id": "1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d",
        "referral_id": "5f0c6f0e-8f4e-4a7e-9a43-3f6f3e1c2b11",
        "person_id": "0b6f9a8e-1d2c-4b8a-9f3e-2a1b3c4d5e6f",
        "scale": "peerlink-wellbeing-4",
        "timepoint": "review",
        "score": 14,
        "maximum": 20,
        "baseline_score": 9,
        "change": 5,
        "weeks_since_baseline": 12,
        "recorded_at": "2027-02-01T10:00:00Z",
    },
)

TYPES = (OUTCOME_RECORDED,)
