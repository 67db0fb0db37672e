"""Every event type on the wire, one module per aggregate; the catalogue is built here."""

from peerlink.contracts import contact, referral
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
from peerlink.contracts.referral import REFERRAL_RECEIVED

CATALOGUE = Catalogue([*referral.TYPES, *contact.TYPES])

__all__ = [
    "CATALOGUE",
    "CONTACT_RECORDED",
    "EVENTS_EXCHANGE",
    "PRIVATE_EXCHANGE",
    "REFERRAL_RECEIVED",
    "Catalogue",
    "Channel",
    "ContractViolation",
    "EventType",
    "personal_fields",
]
