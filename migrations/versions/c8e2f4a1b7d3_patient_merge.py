"""patients: merging a duplicate record into the survivor

A merged record is kept, retired (merged_into_id, merged_at) and points at the survivor;
patient_merge keeps one row per merge: who, when, why, what moved and the retired record's
identifying details.

Revision ID: c8e2f4a1b7d3
Revises: b3f1d2e4a6c8
Create Date: 2026-11-27 03:05:00
"""

import sqlalchemy as sa
from alembic import op

import clinic.models.base

# revision identifiers, used by Alembic.
revision = "c8e2f4a1b7d3"
down_revision = "b3f1d2e4a6c8"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("patient") as batch:
        batch.add_column(sa.Column("merged_into_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("merged_at", clinic.models.base.UTCDateTime(), nullable=True))
        batch.create_foreign_key(
            "fk_patient_merged_into_id_patient", "patient", ["merged_into_id"], ["id"]
        )
        batch.create_check_constraint(
            batch.f("ck_patient_merged_where_and_when"),
            "(merged_into_id IS NULL) = (merged_at IS NULL)",
        )
        batch.create_check_constraint(
            batch.f("ck_patient_not_self"), "merged_into_id IS NULL OR merged_into_id <> id"
        )
    op.create_table(
        "patient_merge",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("survivor_id", sa.Integer(), nullable=False),
        sa.Column("retired_id", sa.Integer(), nullable=False),
        sa.Column("merged_by_id", sa.Integer(), nullable=False),
        sa.Column("merged_at", clinic.models.base.UTCDateTime(), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("moved", sa.Text(), nullable=False),
        sa.Column("retired_snapshot", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["merged_by_id"], ["user_account.id"], name="fk_patient_merge_merged_by_id_user_account"
        ),
        sa.ForeignKeyConstraint(
            ["retired_id"],
            ["patient.id"],
            name="fk_patient_merge_retired_id_patient",
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["survivor_id"],
            ["patient.id"],
            name="fk_patient_merge_survivor_id_patient",
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_patient_merge"),
        sa.UniqueConstraint("retired_id", name="uq_patient_merge_retired_id"),
    )
    op.create_index("ix_patient_merge_survivor_id", "patient_merge", ["survivor_id"])


def downgrade():
    op.drop_index("ix_patient_merge_survivor_id", table_name="patient_merge")
    op.drop_table("patient_merge")
    with op.batch_alter_table("patient") as batch:
        batch.drop_constraint(batch.f("ck_patient_not_self"), type_="check")
        batch.drop_constraint(batch.f("ck_patient_merged_where_and_when"), type_="check")
        batch.drop_constraint("fk_patient_merged_into_id_patient", type_="foreignkey")
        batch.drop_column("merged_at")
        batch.drop_column("merged_into_id")
