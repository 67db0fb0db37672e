"""One function per consumed event type; each writes only inside the consumer's transaction."""

from __future__ import annotations

from datetime import UTC, datetime

from notifications import store
from notifications.domain import Recipient
from peerlink.contracts import CONTACT_RECORDED, REFERRAL_RECEIVED
from peerlink.subscriptions import Event, HandlerContext, Subscriptions

subscriptions = Subscriptions("notifications")


@subscriptions.on(CONTACT_RECORDED)
def on_contact_recorded(event: Event, tx: HandlerContext) -> None:
    data = event.data
    person_id = str(data["person_id"])
    now = datetime.now(UTC)
    store.upsert_recipient(
        tx.connection,
        Recipient(
            person_id=person_id,
            given_name=data["given_name"],
            email=data.get("email"),
            phone=data.get("phone"),
            preferred_language=data.get("preferred_language"),
            channels=tuple(data["channels"]),
            safe_to_text=data["safe_to_text"],
        ),
        now,
    )
    store.expedite(tx.connection, person_id, now)


@subscriptions.on(REFERRAL_RECEIVED)
def on_referral_received(event: Event, tx: HandlerContext) -> None:
    data = event.data
    store.owe_message(
        tx.connection,
        event_id=event.id,
        kind="referral-acknowledged",
        person_id=str(data["person_id"]),
        channel="email",
        values={"reference": str(data["referral_id"])[:8].upper(), "site": event.site},
        now=datetime.now(UTC),
    )
