"""requisition and interview tables

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "requisition",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("language", sa.String(8), nullable=False),
        sa.Column("competencies", sa.JSON(), nullable=False),
        sa.Column("questions", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "interview",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("requisition_id", sa.String(32), sa.ForeignKey("requisition.id"), nullable=False),
        sa.Column("candidate_name", sa.String(200), nullable=False),
        sa.Column("candidate_ref", sa.String(200)),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("affect_allowed", sa.Boolean(), nullable=False),
        sa.Column("invite_jti", sa.String(32), nullable=False),
        sa.Column("invite_used_at", sa.DateTime(timezone=True)),
        sa.Column("consent_at", sa.DateTime(timezone=True)),
        sa.Column("notice_version", sa.String(32)),
        sa.Column("started_at", sa.DateTime(timezone=True)),
        sa.Column("finished_at", sa.DateTime(timezone=True)),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_interview_requisition_id", "interview", ["requisition_id"])
    op.create_index("ix_interview_state", "interview", ["state"])


def downgrade() -> None:
    op.drop_table("interview")
    op.drop_table("requisition")
