"""auth state: when API keys were first switched on, so revoking every key never reopens the service

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "auth_state",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("keys_enabled_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_auth_state"),
        sa.CheckConstraint("id = 1", name="ck_auth_state_single_row"),
    )
    # One row, there from the start: enabling keys is then an UPDATE, which two processes can race on
    # safely. A database that already holds keys (even revoked ones) starts in keys mode.
    op.execute("INSERT INTO auth_state (id, keys_enabled_at) SELECT 1, MIN(created_at) FROM api_keys")


def downgrade() -> None:
    op.drop_table("auth_state")
