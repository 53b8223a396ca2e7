"""indexes for the all-day pages at a real clinic's size

Each serves a query found slow with EXPLAIN (ANALYZE, BUFFERS) on 100,000 patients (issue 15):
- follow_up: the unbooked, scheduled follow-ups by window (front-desk due/overdue count and
  the recall list), partial on status = 'scheduled', with the columns those queries read;
- stage: the worklist's open stages (pending, in progress, awaiting signature), partial, in
  the order the worklist lists them; and today's procedures by start time;
- questionnaire_response: the registry export's pivots look answers up by follow-up and
  instrument, and baselines by cycle, timepoint and instrument (these replace the single-column
  indexes on follow_up_id and cycle_id, which they also serve).

Revision ID: f3b81c2d6e90
Revises: 02fcca865b37
Create Date: 2026-11-27 03:10:00
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "f3b81c2d6e90"
down_revision = "02fcca865b37"
branch_labels = None
depends_on = None

SCHEDULED = sa.text("status = 'scheduled'")
OPEN_STAGE = sa.text("status IN ('pending', 'in_progress', 'completed')")


def upgrade():
    op.create_index(
        "ix_follow_up_scheduled_window",
        "follow_up",
        ["window_opens_on", "window_closes_on", "journey_id"],
        postgresql_where=SCHEDULED,
        sqlite_where=SCHEDULED,
    )
    op.create_index(
        "ix_stage_open",
        "stage",
        ["status", "updated_at", "id"],
        postgresql_where=OPEN_STAGE,
        sqlite_where=OPEN_STAGE,
    )
    op.create_index("ix_stage_started_at", "stage", ["started_at"])
    op.create_index(
        "ix_questionnaire_response_follow_up_code",
        "questionnaire_response",
        ["follow_up_id", "instrument_code"],
    )
    op.create_index(
        "ix_questionnaire_response_cycle_timepoint",
        "questionnaire_response",
        ["cycle_id", "timepoint", "instrument_code"],
    )
    op.drop_index("ix_questionnaire_response_follow_up_id", table_name="questionnaire_response")
    op.drop_index("ix_questionnaire_response_cycle_id", table_name="questionnaire_response")


def downgrade():
    op.create_index("ix_questionnaire_response_cycle_id", "questionnaire_response", ["cycle_id"])
    op.create_index(
        "ix_questionnaire_response_follow_up_id", "questionnaire_response", ["follow_up_id"]
    )
    op.drop_index("ix_questionnaire_response_cycle_timepoint", table_name="questionnaire_response")
    op.drop_index("ix_questionnaire_response_follow_up_code", table_name="questionnaire_response")
    op.drop_index("ix_stage_started_at", table_name="stage")
    op.drop_index("ix_stage_open", table_name="stage")
    op.drop_index("ix_follow_up_scheduled_window", table_name="follow_up")
