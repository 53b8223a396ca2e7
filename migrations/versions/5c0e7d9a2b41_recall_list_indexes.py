"""indexes for the recall list (and the front desk's due count)

Found with EXPLAIN (ANALYZE, BUFFERS) at 100,000 patients (issue 15):
- follow_up: scheduled follow-ups in due order (due_on, id), carrying the journey and window
  the recall list filters on; its page walked ix_follow_up_due_on through 9,800 follow-ups of
  every status (8,800 removed by the filter), 30 ms; now 1,000 index entries, 2.5 ms;
- ix_follow_up_scheduled_window also carries the follow-up's id, so that the count of due
  follow-ups (front-desk home, recall list) reads it index-only, not by a bitmap heap scan;
- journey: open journeys by id (and provider), so that the join reads no journey rows (the
  count hashed all 20,000 by a sequential scan; the page probed 900 journeys' rows).

Revision ID: 5c0e7d9a2b41
Revises: c81f4e9a2d17
Create Date: 2026-11-27 09:40:00
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "5c0e7d9a2b41"
down_revision = "c81f4e9a2d17"
branch_labels = None
depends_on = None

SCHEDULED = sa.text("status = 'scheduled'")
OPEN_JOURNEY = sa.text("status IN ('evaluating', 'in_treatment', 'follow_up')")


def _window_index(**include):
    op.create_index(
        "ix_follow_up_scheduled_window",
        "follow_up",
        ["window_opens_on", "window_closes_on", "journey_id"],
        postgresql_where=SCHEDULED,
        sqlite_where=SCHEDULED,
        **include,
    )


def upgrade():
    op.drop_index("ix_follow_up_scheduled_window", table_name="follow_up")
    _window_index(postgresql_include=["id"])
    op.create_index(
        "ix_follow_up_scheduled_due",
        "follow_up",
        ["due_on", "id"],
        postgresql_include=["journey_id", "window_opens_on", "window_closes_on"],
        postgresql_where=SCHEDULED,
        sqlite_where=SCHEDULED,
    )
    op.create_index(
        "ix_journey_open",
        "journey",
        ["id", "provider_id"],
        postgresql_where=OPEN_JOURNEY,
        sqlite_where=OPEN_JOURNEY,
    )


def downgrade():
    op.drop_index("ix_journey_open", table_name="journey")
    op.drop_index("ix_follow_up_scheduled_due", table_name="follow_up")
    op.drop_index("ix_follow_up_scheduled_window", table_name="follow_up")
    _window_index()
