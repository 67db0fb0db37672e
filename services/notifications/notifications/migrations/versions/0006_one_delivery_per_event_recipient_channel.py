"""One delivery per (event, recipient, channel), as promised, instead of per (event, recipient,
channel, kind): no event owes one recipient two kinds of message, and the messages we owe
ourselves (reminders, digests, calls asked for) carry event ids of their own, so the kind only
widened the key. A database holding two kinds for one event, recipient and channel (none should)
fails this upgrade rather than lose either row.

Revision ID: notifications_0006
Revises: notifications_0005
Create Date: 2026-12-06
"""

from collections.abc import Sequence

from alembic import op

revision: str = "notifications_0006"
down_revision: str | None = "notifications_0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("deliveries") as batch:
        batch.drop_constraint("uq_deliveries_event_id_recipient_id_channel_kind", type_="unique")
        batch.create_unique_constraint(
            "uq_deliveries_event_id_recipient_id_channel", ["event_id", "recipient_id", "channel"]
        )


def downgrade() -> None:
    with op.batch_alter_table("deliveries") as batch:
        batch.drop_constraint("uq_deliveries_event_id_recipient_id_channel", type_="unique")
        batch.create_unique_constraint(
            "uq_deliveries_event_id_recipient_id_channel_kind", ["event_id", "recipient_id", "channel", "kind"]
        )
