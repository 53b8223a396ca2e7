"""sound-alike search indexes in the results' order

A one-word name search keeps each of its index ranges to the first 501 matches in the page's
order (family name, given name, id). The sound-alike ranges are read in that order from these
indexes: at 100,000 patients a common sound (6,207 patients) took 38 ms of index walking and
filtering; now under 1 ms (issue 15). (Not partial on unmerged records: on a small table the
planner would take such an index for a cheap list of every record.)
They replace the two older sound indexes (family sound with given sound; given sound), whose
lookups they serve as well.

Revision ID: b5c0d7e21a44
Revises: a17e9b073ac0
Create Date: 2026-11-27 09:45:00
"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "b5c0d7e21a44"
down_revision = "a17e9b073ac0"
branch_labels = None
depends_on = None


def upgrade():
    for column in ("family_sound", "given_sound"):
        op.create_index(
            f"ix_patient_{column}_order",
            "patient",
            [column, "family_key", "given_key", "id"],
        )
    op.drop_index("ix_patient_given_sound", table_name="patient")
    op.drop_index("ix_patient_family_sound", table_name="patient")


def downgrade():
    op.create_index("ix_patient_given_sound", "patient", ["given_sound"])
    op.create_index("ix_patient_family_sound", "patient", ["family_sound", "given_sound"])
    for column in ("family_sound", "given_sound"):
        op.drop_index(f"ix_patient_{column}_order", table_name="patient")
