"""audit trail: one index for an action's rows in time order

The audit trail filtered by action ("patient.v") read its page by walking the time index
backwards past every newer row of other actions: 50,793 rows for a page of 50 in the benchmark's
clinic of 1.8 million rows, and more as the trail grows (issue 15). (action, occurred_at, id)
gives each action's rows newest first; it replaces the index on action alone, which it also
serves (an exact action or a prefix as a range), so writing an audit row keeps the same number
of indexes.

Revision ID: 3f6a2c9d8e15
Revises: 0d1e6015612b
Create Date: 2026-11-27 12:50:00
"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "3f6a2c9d8e15"
down_revision = "0d1e6015612b"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("ix_audit_event_action_time", "audit_event", ["action", "occurred_at", "id"])
    op.drop_index("ix_audit_event_action", table_name="audit_event")


def downgrade():
    op.create_index("ix_audit_event_action", "audit_event", ["action"])
    op.drop_index("ix_audit_event_action_time", table_name="audit_event")
