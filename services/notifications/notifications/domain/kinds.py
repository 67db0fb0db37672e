"""Every kind of message and whom it is written for (a template may word itself by audience)."""

from __future__ import annotations

AUDIENCES_OF: dict[str, tuple[str, ...]] = {
    "referral-acknowledged": ("person",),
    "referral-accepted": ("person",),
    "referral-declined": ("person",),
    "match-confirmed-mentee": ("person",),
    "match-confirmed-mentor": ("mentor",),
    "match-ended": ("person", "mentor"),
    "registration-confirmed": ("person", "guest"),
    "registration-waitlisted": ("person", "guest"),
    "registration-promoted": ("person", "guest"),
    "event-reminder": ("person", "guest"),
    "event-changed": ("person", "guest"),
    "event-cancelled": ("person", "guest"),
    "digest": ("coordinator",),
    "please-phone": ("mentor", "coordinator"),
    "referral-received-coordinator": ("coordinator",),
}
