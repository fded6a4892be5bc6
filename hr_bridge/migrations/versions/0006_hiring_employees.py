"""hiring workflow, employees, analytics inputs

Decisions, job offers, HR events; employees with onboarding tasks, probation and performance
reviews, training records and follow-ups; voluntary self-identification; flat report scores
(backfilled from stored reports); requisition family, match weights, salary band, probation,
follow-up rules; synthetic markers.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30
"""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def _ts(name: str, nullable: bool = False) -> sa.Column[Any]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    with op.batch_alter_table("requisition") as batch:
        batch.add_column(
            sa.Column("family", sa.String(100), nullable=False, server_default="general")
        )
        batch.add_column(sa.Column("match_config", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("salary_band", sa.JSON(), nullable=True))
        batch.add_column(
            sa.Column("probation_months", sa.Integer(), nullable=False, server_default="6")
        )
        batch.add_column(sa.Column("follow_up_rules", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("synthetic", sa.Boolean(), nullable=False, server_default="0"))
    op.create_index("ix_requisition_family", "requisition", ["family"])
    op.create_index("ix_requisition_synthetic", "requisition", ["synthetic"])
    with op.batch_alter_table("candidate") as batch:
        batch.add_column(sa.Column("synthetic", sa.Boolean(), nullable=False, server_default="0"))
    op.create_index("ix_candidate_synthetic", "candidate", ["synthetic"])
    if op.get_bind().dialect.name == "postgresql":
        # 0005 made both a unique constraint and a unique index on candidate.ref; the index
        # (what the model declares) is enough.
        op.drop_constraint("candidate_ref_key", "candidate", type_="unique")

    score = op.create_table(
        "report_score",
        sa.Column("interview_id", sa.String(32), sa.ForeignKey("interview.id"), primary_key=True),
        sa.Column("competency", sa.String(100), primary_key=True),
        sa.Column("value", sa.Float(), nullable=False),
    )
    conn = op.get_bind()
    rows = []
    for iid, body in conn.execute(sa.text("SELECT interview_id, body FROM report")):
        data = json.loads(body) if isinstance(body, str) else body
        for name, s in (data.get("competencies") or {}).items():
            rows.append({"interview_id": iid, "competency": name, "value": float(s["value"])})
        if data.get("overall") is not None:
            rows.append({"interview_id": iid, "competency": "overall", "value": data["overall"]})
    if rows:
        op.bulk_insert(score, rows)

    op.create_table(
        "self_id",
        sa.Column("interview_id", sa.String(32), sa.ForeignKey("interview.id"), primary_key=True),
        sa.Column("sex", sa.String(64)),
        sa.Column("race_ethnicity", sa.String(64)),
        _ts("reported_at"),
    )
    op.create_table(
        "hr_event",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("type", sa.String(64), nullable=False, index=True),
        sa.Column("subject", sa.String(200), nullable=False, index=True),
        sa.Column("data", sa.JSON(), nullable=False),
        _ts("at"),
    )
    op.create_table(
        "decision",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "interview_id", sa.String(32), sa.ForeignKey("interview.id"), nullable=False, index=True
        ),
        sa.Column("decision", sa.String(16), nullable=False),
        sa.Column("reason", sa.String(2000), nullable=False),
        sa.Column("decided_by", sa.String(200), nullable=False),
        sa.Column("recommendation", sa.JSON()),
        _ts("decided_at"),
    )
    op.create_table(
        "job_offer",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "interview_id", sa.String(32), sa.ForeignKey("interview.id"), nullable=False, index=True
        ),
        sa.Column("decision_id", sa.Integer(), sa.ForeignKey("decision.id"), nullable=False),
        sa.Column("salary", sa.Float(), nullable=False),
        sa.Column("currency", sa.String(8), nullable=False),
        sa.Column("probation_months", sa.Integer(), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("text_sha256", sa.String(64), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        _ts("created_at"),
        sa.Column("accepted_name", sa.String(200)),
        _ts("answered_at", nullable=True),
    )
    op.create_table(
        "employee",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "interview_id",
            sa.String(32),
            sa.ForeignKey("interview.id"),
            nullable=False,
            unique=True,
        ),
        sa.Column("candidate_ref", sa.String(200)),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column(
            "requisition_id",
            sa.String(32),
            sa.ForeignKey("requisition.id"),
            nullable=False,
            index=True,
        ),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("offer_id", sa.Integer(), sa.ForeignKey("job_offer.id")),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("probation_end", sa.Date(), nullable=False),
        sa.Column("synthetic", sa.Boolean(), nullable=False, index=True),
        _ts("created_at"),
    )
    op.create_table(
        "onboarding_task",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "employee_id", sa.Integer(), sa.ForeignKey("employee.id"), nullable=False, index=True
        ),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=False),
        _ts("done_at", nullable=True),
    )
    op.create_table(
        "probation_review",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "employee_id", sa.Integer(), sa.ForeignKey("employee.id"), nullable=False, index=True
        ),
        sa.Column("month", sa.Integer(), nullable=False),
        sa.Column("manager_feedback", sa.String(4000), nullable=False),
        sa.Column("manager_rating", sa.Float(), nullable=False),
        sa.Column("task_completion", sa.Float(), nullable=False),
        sa.Column("peer_rating", sa.Float(), nullable=False),
        sa.Column("reviewer", sa.String(200), nullable=False),
        _ts("at"),
    )
    op.create_table(
        "performance_review",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "employee_id", sa.Integer(), sa.ForeignKey("employee.id"), nullable=False, index=True
        ),
        sa.Column("period", sa.String(32), nullable=False),
        sa.Column("rating", sa.Float(), nullable=False),
        sa.Column("reviewer", sa.String(200), nullable=False),
        sa.Column("notes", sa.String(4000), nullable=False),
        _ts("at"),
    )
    op.create_table(
        "follow_up",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "employee_id", sa.Integer(), sa.ForeignKey("employee.id"), nullable=False, index=True
        ),
        sa.Column("rule_id", sa.String(64), nullable=False),
        sa.Column("title", sa.String(300), nullable=False),
        sa.Column("course", sa.String(200), nullable=False),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("decided_by", sa.String(200)),
        _ts("created_at"),
        sa.UniqueConstraint("employee_id", "rule_id"),
    )
    op.create_table(
        "training_record",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "employee_id", sa.Integer(), sa.ForeignKey("employee.id"), nullable=False, index=True
        ),
        sa.Column("course", sa.String(200), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("follow_up_id", sa.Integer(), sa.ForeignKey("follow_up.id")),
        _ts("at"),
        _ts("completed_at", nullable=True),
    )


def downgrade() -> None:
    for table in (
        "training_record",
        "follow_up",
        "performance_review",
        "probation_review",
        "onboarding_task",
        "employee",
        "job_offer",
        "decision",
        "hr_event",
        "self_id",
        "report_score",
    ):
        op.drop_table(table)
    op.drop_index("ix_candidate_synthetic", "candidate")
    if op.get_bind().dialect.name == "postgresql":
        op.create_unique_constraint("candidate_ref_key", "candidate", ["ref"])
    op.drop_column("candidate", "synthetic")
    op.drop_index("ix_requisition_synthetic", "requisition")
    op.drop_index("ix_requisition_family", "requisition")
    for column in (
        "synthetic",
        "follow_up_rules",
        "probation_months",
        "salary_band",
        "match_config",
        "family",
    ):
        # Plain ALTER TABLE ... DROP COLUMN (SQLite >= 3.35): a batch rebuild would drop the
        # table that interviews point at, which foreign keys refuse.
        op.drop_column("requisition", column)
