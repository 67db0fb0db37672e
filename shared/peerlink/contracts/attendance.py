"""Attendance at events, published by the events service (pseudonymous).

A registered participant attended or did not show (a gentle signal to their mentor, never a
ban); a drop-in session counts heads with no registration at all.
"""

from marshmallow import Schema, fields, validate

from peerlink.contracts.catalogue import Channel, EventType
from peerlink.contracts.vocabulary import ATTENDANCE_STATUSES


class AttendanceRecordedV1(Schema):
    attendance_id = fields.UUID(required=True)
    event_id = fields.UUID(required=True)
    registration_id = fields.UUID(allow_none=True, load_default=None)
    person_id = fields.UUID(allow_none=True, load_default=None)
    status = fields.String(required=True, validate=validate.OneOf(ATTENDANCE_STATUSES))
    headcount = fields.Integer(
        load_default=1,
        validate=validate.Range(min=0, max=10_000),
        metadata={"description": "People this record counts: 1 for a registration, the heads for a drop-in."},
    )
    recorded_at = fields.AwareDateTime(required=True, format="iso")


ATTENDANCE_RECORDED = EventType(
    aggregate="attendance",
    verb="recorded",
    version=1,
    schema=AttendanceRecordedV1,
    channel=Channel.EVENTS,
    description="Attendance at an event: a registration attended or did not show, or a drop-in headcount.",
    example={
        "attendance_id": "a7b8c9d0-e1f2-4a3b-8c4d-5e6f7a8b9c0d",
        "event_id": "c3d4e5f6-a7b8-4c9d-8e0f-1a2b3c4d5e6f",
        "registration_id": "f6a7b8c9-d0e1-4f2a-9b3c-4d5e6f7a8b9c",
        "person_id": "0b6f9a8e-1d2c-4b8a-9f3e-2a1b3c4d5e6f",
        "status": "attended",
        "headcount": 1,
        "recorded_at": "2026-12-01T10:05:00Z",
    },
)

TYPES = (ATTENDANCE_RECORDED,)
