"""latest-write indexes for the front desk's due/overdue count

The front-desk home's count of unbooked follow-ups due and overdue reads every open follow-up
(15,000 at 100,000 patients: ~30 ms, and growing with the clinic's history). It is now kept per
process until a follow-up, appointment or journey is written, which these indexes tell in three
probes (`max(updated_at)`), issue 15.

Revision ID: c81f4e9a2d17
Revises: b5c0d7e21a44
Create Date: 2026-11-27 10:05:00
"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "c81f4e9a2d17"
down_revision = "b5c0d7e21a44"
branch_labels = None
depends_on = None

TABLES = ("follow_up", "appointment", "journey")


def upgrade():
    for table in TABLES:
        op.create_index(f"ix_{table}_updated_at", table, ["updated_at"])


def downgrade():
    for table in TABLES:
        op.drop_index(f"ix_{table}_updated_at", table_name=table)
