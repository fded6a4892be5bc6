"""interviewer ratings

Each interviewer rates each competency of an interview 1-5 on an anchored scale, with a note;
one row per interview, rater (the interviewer's link) and competency, updated in place.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rating",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("interview_id", sa.String(32), sa.ForeignKey("interview.id"), nullable=False),
        sa.Column("rater", sa.String(64), nullable=False),
        sa.Column("rater_label", sa.String(32), nullable=False),
        sa.Column("competency", sa.String(100), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("note", sa.String(2000), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("interview_id", "rater", "competency", name="uq_rating_seat"),
        sa.CheckConstraint("score BETWEEN 1 AND 5", name="ck_rating_score"),
    )
    op.create_index("ix_rating_interview_id", "rating", ["interview_id"])


def downgrade() -> None:
    op.drop_index("ix_rating_interview_id", "rating")
    op.drop_table("rating")
