"""interview lifecycle (interrupted_at); webhook subscriptions

The interview states `interrupted` and `abandoned` need no schema change (state is a string);
`interrupted_at` dates the interruption so an interview that does not resume is finished in
time. Webhook subscribers, written from configuration at start-up, let every event reach its
deliveries in the event's own transaction; each delivery keeps its subscriber's format, applied
when it is sent.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD/DROP COLUMN (SQLite >= 3.35): batch mode would rebuild the table, and the
    # rebuild's DROP fails under the foreign keys that point at interviews.
    op.add_column("interview", sa.Column("interrupted_at", sa.DateTime(timezone=True)))
    op.add_column(
        "delivery",
        sa.Column("format", sa.String(16), nullable=False, server_default="hirestream"),
    )
    op.create_table(
        "webhook_subscription",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("url", sa.String(2000), nullable=False),
        sa.Column("format", sa.String(16), nullable=False),
        sa.Column("event_types", sa.JSON(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
    )
    op.create_index("ix_webhook_subscription_active", "webhook_subscription", ["active"])


def downgrade() -> None:
    op.drop_index("ix_webhook_subscription_active", "webhook_subscription")
    op.drop_table("webhook_subscription")
    op.drop_column("delivery", "format")
    op.drop_column("interview", "interrupted_at")
