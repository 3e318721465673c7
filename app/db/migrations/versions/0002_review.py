"""api keys with roles, versioned rubrics, human grades (issue 8)

Revision ID: 0002
Revises: 0001
Create Date: 2025-11-28
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
        "api_keys",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("key_hash", sa.String(64), nullable=False),
        sa.Column("prefix", sa.String(16), nullable=False),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("label", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_api_keys"),
        sa.UniqueConstraint("key_hash", name="uq_api_keys_key_hash"),
    )
    op.create_table(
        "rubric_versions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("question_id", sa.String(80), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("content", sa.JSON(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("author", sa.String(64), nullable=True),
        sa.Column("based_on", sa.Integer(), nullable=True),
        sa.Column("agreement", sa.JSON(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_rubric_versions"),
        sa.UniqueConstraint("question_id", "version", name="uq_rubric_versions_question_version"),
    )
    op.create_index("ix_rubric_versions_question_id", "rubric_versions", ["question_id"])
    op.create_table(
        "human_grades",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("turn_id", sa.Integer(), nullable=True),
        sa.Column("question_id", sa.String(80), nullable=False),
        sa.Column("answer", sa.Text(), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("grader", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["turn_id"], ["turns.id"], name="fk_human_grades_turn_id_turns", ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_human_grades"),
        sa.UniqueConstraint("turn_id", "grader", name="uq_human_grades_turn_grader"),
    )
    op.create_index("ix_human_grades_question_id", "human_grades", ["question_id"])


def downgrade() -> None:
    op.drop_index("ix_human_grades_question_id", table_name="human_grades")
    op.drop_table("human_grades")
    op.drop_index("ix_rubric_versions_question_id", table_name="rubric_versions")
    op.drop_table("rubric_versions")
    op.drop_table("api_keys")
