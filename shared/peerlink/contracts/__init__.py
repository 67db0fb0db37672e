"""Every event type on the wire, one module per aggregate; the catalogue is built here.

Producers and consumers import the types they use from here (or from the aggregate's own
module); a new aggregate's module joins ``MODULES`` so that the catalogue, the README and
the contract tests see it.
"""

from peerlink.contracts import (
    advocacy,
    artevent,
    attendance,
    contact,
    match,
    mentor,
    notification,
    outcome,
    person,
    referral,
    registration,
    sale,
)
from peerlink.contracts.advocacy import ADVOCACY_OPENED, ADVOCACY_RESOLVED
from peerlink.contracts.artevent import ARTEVENT_CANCELLED, ARTEVENT_CHANGED, ARTEVENT_SCHEDULED
from peerlink.contracts.attendance import ATTENDANCE_RECORDED
from peerlink.contracts.catalogue import (
    EVENTS_EXCHANGE,
    PRIVATE_EXCHANGE,
    SITE_ONLY_EXCHANGE,
    Catalogue,
    Channel,
    ContractViolation,
    EventType,
    personal_fields,
)
from peerlink.contracts.contact import CONTACT_RECORDED, GUEST_CONTACT_RECORDED, MENTOR_CONTACT_RECORDED
from peerlink.contracts.match import MATCH_CONFIRMED, MATCH_DECLINED, MATCH_ENDED, MATCH_PROPOSED
from peerlink.contracts.mentor import MENTOR_LEFT, MENTOR_PAUSED, MENTOR_REGISTERED, MENTOR_RESUMED, MENTOR_UPDATED
from peerlink.contracts.notification import NOTIFICATION_FAILED, NOTIFICATION_SENT
from peerlink.contracts.outcome import OUTCOME_RECORDED
from peerlink.contracts.person import PERSON_ERASED
from peerlink.contracts.referral import (
    REFERRAL_ACCEPTED,
    REFERRAL_ACTIVATED,
    REFERRAL_CLOSED,
    REFERRAL_DECLINED,
    REFERRAL_MATCHED,
    REFERRAL_PERSON_RESOLVED,
    REFERRAL_RECEIVED,
    REFERRAL_REQUEUED,
    REFERRAL_WITHDRAWN,
)
from peerlink.contracts.registration import (
    REGISTRATION_CANCELLED,
    REGISTRATION_CONFIRMED,
    REGISTRATION_PROMOTED,
    REGISTRATION_WAITLISTED,
)
from peerlink.contracts.sale import SALE_RECORDED

MODULES = (
    referral,
    advocacy,
    outcome,
    person,
    mentor,
    match,
    artevent,
    registration,
    attendance,
    sale,
    notification,
    contact,
)
CATALOGUE = Catalogue(event_type for module in MODULES for event_type in module.TYPES)

__all__ = [
    "ADVOCACY_OPENED",
    "ADVOCACY_RESOLVED",
    "ARTEVENT_CANCELLED",
    "ARTEVENT_CHANGED",
    "ARTEVENT_SCHEDULED",
    "ATTENDANCE_RECORDED",
    "CATALOGUE",
    "CONTACT_RECORDED",
    "EVENTS_EXCHANGE",
    "GUEST_CONTACT_RECORDED",
    "MATCH_CONFIRMED",
    "MATCH_DECLINED",
    "MATCH_ENDED",
    "MATCH_PROPOSED",
    "MENTOR_CONTACT_RECORDED",
    "MENTOR_LEFT",
    "MENTOR_PAUSED",
    "MENTOR_REGISTERED",
    "MENTOR_RESUMED",
    "MENTOR_UPDATED",
    "NOTIFICATION_FAILED",
    "NOTIFICATION_SENT",
    "OUTCOME_RECORDED",
    "PERSON_ERASED",
    "PRIVATE_EXCHANGE",
    "REFERRAL_ACCEPTED",
    "REFERRAL_ACTIVATED",
    "REFERRAL_CLOSED",
    "REFERRAL_DECLINED",
    "REFERRAL_MATCHED",
    "REFERRAL_PERSON_RESOLVED",
    "REFERRAL_RECEIVED",
    "REFERRAL_REQUEUED",
    "REFERRAL_WITHDRAWN",
    "REGISTRATION_CANCELLED",
    "REGISTRATION_CONFIRMED",
    "REGISTRATION_PROMOTED",
    "REGISTRATION_WAITLISTED",
    "SALE_RECORDED",
    "SITE_ONLY_EXCHANGE",
    "Catalogue",
    "Channel",
    "ContractViolation",
    "EventType",
    "personal_fields",
]
