"""coaching: how a turn was closed (answered, skipped, I don't know), its later attempts, early ends,
and which action an Idempotency-Key was sent with

Revision ID: 0005
Revises: 0004
Create Date: 2027-01-10
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("turns") as batch:
        batch.add_column(sa.Column("kind", sa.String(20), nullable=False, server_default="answered"))
        batch.add_column(sa.Column("retries", sa.JSON(), nullable=False, server_default="[]"))
    with op.batch_alter_table("interviews") as batch:
        batch.add_column(sa.Column("ended_early", sa.Boolean(), nullable=False, server_default=sa.false()))
    with op.batch_alter_table("answer_receipts") as batch:
        batch.add_column(sa.Column("action", sa.String(20), nullable=False, server_default="answered"))


def downgrade() -> None:
    with op.batch_alter_table("answer_receipts") as batch:
        batch.drop_column("action")
    with op.batch_alter_table("interviews") as batch:
        batch.drop_column("ended_early")
    with op.batch_alter_table("turns") as batch:
        batch.drop_column("retries")
        batch.drop_column("kind")
