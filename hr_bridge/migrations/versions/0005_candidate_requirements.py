"""candidate profiles; requisition requirements

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "candidate",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("ref", sa.String(200), nullable=False, unique=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("email", sa.String(320)),
        sa.Column("profile", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_candidate_ref", "candidate", ["ref"], unique=True)
    with op.batch_alter_table("requisition") as batch:
        batch.add_column(sa.Column("requirements", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("requisition") as batch:
        batch.drop_column("requirements")
    op.drop_table("candidate")
