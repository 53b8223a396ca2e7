"""stages: an index on updated_at, the stamp of the worklist's kept rows

The worklist's sections are kept per process until a stage, journey, care-team assignment or
appointment is written (clinic/journeys/services/kept.py); telling that is the latest
`updated_at` of each table, one index probe each. Journeys and appointments have that index
already (c81f4e9a2d17); stages get theirs here (issue 15).

Revision ID: 8b2d4e6f1a37
Revises: 3f6a2c9d8e15
Create Date: 2026-11-27 12:40:00
"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "8b2d4e6f1a37"
down_revision = "3f6a2c9d8e15"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("ix_stage_updated_at", "stage", ["updated_at"])


def downgrade():
    op.drop_index("ix_stage_updated_at", table_name="stage")
