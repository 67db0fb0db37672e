"""Every event type on the wire, one module per aggregate; the catalogue is built here."""

from peerlink.contracts import advocacy, contact, match, outcome, person, referral
from peerlink.contracts.advocacy import ADVOCACY_OPENED, ADVOCACY_RESOLVED
from peerlink.contracts.catalogue import (
    EVENTS_EXCHANGE,
    PRIVATE_EXCHANGE,
    Catalogue,
    Channel,
    ContractViolation,
    EventType,
    personal_fields,
)
from peerlink.contracts.contact import CONTACT_RECORDED
from peerlink.contracts.match import MATCH_CONFIRMED, MATCH_ENDED
from peerlink.contracts.outcome import OUTCOME_RECORDED
from peerlink.contracts.person import PERSON_ERASED
from peerlink.contracts.referral import (
    REFERRAL_ACCEPTED,
    REFERRAL_ACTIVATED,
    REFERRAL_CLOSED,
    REFERRAL_DECLINED,
    REFERRAL_MATCHED,
    REFERRAL_RECEIVED,
    REFERRAL_REQUEUED,
    REFERRAL_WITHDRAWN,
)

CATALOGUE = Catalogue([*referral.TYPES, *advocacy.TYPES, *outcome.TYPES, *person.TYPES, *match.TYPES, *contact.TYPES])

__all__ = [
    "ADVOCACY_OPENED",
    "ADVOCACY_RESOLVED",
    "CATALOGUE",
    "CONTACT_RECORDED",
    "EVENTS_EXCHANGE",
    "MATCH_CONFIRMED",
    "MATCH_ENDED",
    "OUTCOME_RECORDED",
    "PERSON_ERASED",
    "PRIVATE_EXCHANGE",
    "REFERRAL_ACCEPTED",
    "REFERRAL_ACTIVATED",
    "REFERRAL_CLOSED",
    "REFERRAL_DECLINED",
    "REFERRAL_MATCHED",
    "REFERRAL_RECEIVED",
    "REFERRAL_REQUEUED",
    "REFERRAL_WITHDRAWN",
    "Catalogue",
    "Channel",
    "ContractViolation",
    "EventType",
    "personal_fields",
]
