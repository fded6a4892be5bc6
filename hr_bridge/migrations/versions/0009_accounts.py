"""staff accounts: accounts and their roles, sessions, API keys, setup links

Per-person accounts with roles (hr_bridge.roles) replace the one shared admin key. Sessions,
API keys and setup links store a SHA-256 of their token, never the token.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def _at(name: str, nullable: bool = False) -> sa.Column[datetime]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "account",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("email", sa.String(254), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("password_hash", sa.String(200), nullable=True),
        sa.Column("totp_secret", sa.String(64), nullable=True),
        sa.Column("totp_last_step", sa.Integer(), nullable=True),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        sa.Column("oidc_subject", sa.String(300), nullable=True),
        sa.Column("failed_logins", sa.Integer(), nullable=False),
        _at("locked_until", nullable=True),
        _at("last_sign_in_at", nullable=True),
        _at("created_at"),
        _at("updated_at"),
        sa.UniqueConstraint("email", name="uq_account_email"),
        sa.UniqueConstraint("oidc_subject", name="uq_account_oidc_subject"),
    )
    op.create_table(
        "account_role",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("account_id", sa.String(32), sa.ForeignKey("account.id"), nullable=False),
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("requisition_id", sa.String(32), sa.ForeignKey("requisition.id")),
        sa.Column("interview_id", sa.String(32), sa.ForeignKey("interview.id")),
        sa.UniqueConstraint(
            "account_id", "role", "requisition_id", "interview_id", name="uq_account_role_grant"
        ),
    )
    op.create_index("ix_account_role_account_id", "account_role", ["account_id"])
    op.create_table(
        "staff_session",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("account_id", sa.String(32), sa.ForeignKey("account.id"), nullable=False),
        sa.Column("csrf", sa.String(64), nullable=False),
        sa.Column("via", sa.String(16), nullable=False),
        _at("created_at"),
        _at("last_seen_at"),
        _at("expires_at"),
        _at("revoked_at", nullable=True),
    )
    op.create_index("ix_staff_session_account_id", "staff_session", ["account_id"])
    op.create_table(
        "api_key",
        sa.Column("id", sa.String(16), primary_key=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("secret_hash", sa.String(64), nullable=False),
        sa.Column("scopes", sa.JSON(), nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        _at("created_at"),
        _at("last_used_at", nullable=True),
        _at("revoked_at", nullable=True),
    )
    op.create_table(
        "setup_link",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("purpose", sa.String(16), nullable=False),
        sa.Column("account_id", sa.String(32), sa.ForeignKey("account.id"), nullable=True),
        _at("created_at"),
        _at("expires_at"),
        _at("used_at", nullable=True),
    )


def downgrade() -> None:
    op.drop_table("setup_link")
    op.drop_table("api_key")
    op.drop_index("ix_staff_session_account_id", "staff_session")
    op.drop_table("staff_session")
    op.drop_index("ix_account_role_account_id", "account_role")
    op.drop_table("account_role")
    op.drop_table("account")
