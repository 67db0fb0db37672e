"""Money raised at events (auction lots, cards, artworks), published by the events service.

Amounts are integer pence; the split between the artist and the scheme is explicit so the
central office can report what the scheme raised and what went to artists.
"""

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from peerlink.contracts.catalogue import Channel, EventType
from peerlink.contracts.vocabulary import SALE_KINDS

# Why a recorded sale was taken back (events service; additive).
SALE_VOID_REASONS = ("entered-in-error", "refunded", "payment-failed", "other")


class _SaleAmounts(Schema):
    sale_id = fields.UUID(required=True)
    event_id = fields.UUID(required=True)
    group_id = fields.UUID(allow_none=True, load_default=None)
    artwork_id = fields.UUID(allow_none=True, load_default=None)
    kind = fields.String(required=True, validate=validate.OneOf(SALE_KINDS))
    quantity = fields.Integer(required=True, validate=validate.Range(min=1))
    amount_pence = fields.Integer(required=True, validate=validate.Range(min=0))
    artist_share_pence = fields.Integer(required=True, validate=validate.Range(min=0))
    scheme_share_pence = fields.Integer(required=True, validate=validate.Range(min=0))

    @validates_schema
    def _shares_add_up(self, data: dict[str, int], **kwargs: object) -> None:
        if {"amount_pence", "artist_share_pence", "scheme_share_pence"} <= set(data) and (
            data["artist_share_pence"] + data["scheme_share_pence"] != data["amount_pence"]
        ):
            raise ValidationError("The artist's and the scheme's shares add up to the amount.", "amount_pence")


class SaleRecordedV1(_SaleAmounts):
    recorded_at = fields.AwareDateTime(required=True, format="iso")


SALE_RECORDED = EventType(
    aggregate="sale",
    verb="recorded",
    version=1,
    schema=SaleRecordedV1,
    channel=Channel.EVENTS,
    description="A sale at an event (a winning auction bid, cards, an artwork, a donation), in pence.",
    example={
        "sale_id": "b8c9d0e1-f2a3-4b4c-9d5e-6f7a8b9c0d1e",
        "event_id": "c3d4e5f6-a7b8-4c9d-8e0f-1a2b3c4d5e6f",
        "group_id": "d4e5f6a7-b8c9-4d0e-9f1a-2b3c4d5e6f7a",
        "artwork_id": "e1f2a3b4-c5d6-4e7f-8a9b-0c1d2e3f4a5b",
        "kind": "auction-lot",
        "quantity": 1,
        "amount_pence": 12500,
        "artist_share_pence": 6250,
        "scheme_share_pence": 6250,
        "recorded_at": "2026-12-12T20:30:00Z",
    },
)


class SaleVoidedV1(_SaleAmounts):
    reason = fields.String(required=True, validate=validate.OneOf(SALE_VOID_REASONS))
    voided_at = fields.AwareDateTime(required=True, format="iso")


SALE_VOIDED = EventType(
    aggregate="sale",
    verb="voided",
    version=1,
    schema=SaleVoidedV1,
    channel=Channel.EVENTS,
    description="A recorded sale was taken back (entered in error, refunded): subtract its amounts, "
    "as recorded, from the totals.",
    example={
        "sale_id": "b8c9d0e1-f2a3-4b4c-9d5e-6f7a8b9c0d1e",
        "event_id": "c3d4e5f6-a7b8-4c9d-8e0f-1a2b3c4d5e6f",
        "group_id": "d4e5f6a7-b8c9-4d0e-9f1a-2b3c4d5e6f7a",
        "artwork_id": "e1f2a3b4-c5d6-4e7f-8a9b-0c1d2e3f4a5b",
        "kind": "auction-lot",
        "quantity": 1,
        "amount_pence": 12500,
        "artist_share_pence": 6250,
        "scheme_share_pence": 6250,
        "reason": "payment-failed",
        "voided_at": "2026-12-13T10:00:00Z",
    },
)

TYPES = (SALE_RECORDED, SALE_VOIDED)
