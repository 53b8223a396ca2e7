"""races: MRNs from a sequence (a counter row on SQLite), a version per clinician's week

Revision ID: c4a7e2d91b05
Revises: 3b9adb9e42f8
Create Date: 2026-11-26 23:55:00.000000

Medical record numbers stop being "highest + 1" (which two simultaneous registrations both
took): PostgreSQL draws them from the sequence `patient_mrn_seq`, SQLite from the one row of
`mrn_counter`. Both start after the highest number already given out with the "CJ" prefix
(CJ100001 on an empty database). The counter table exists on both databases so the schema is
the same; PostgreSQL leaves it empty.

`working_week` holds the version of each clinician's saved working hours, so two saves of
the hours editor from the same version cannot both win. No row means version 0.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c4a7e2d91b05'
down_revision = '3b9adb9e42f8'
branch_labels = None
depends_on = None

FIRST_NUMBER = 100001


def _highest_mrn_number(bind) -> int:
    """The highest running number among "CJ" + digits MRNs, or one below the first."""
    if bind.dialect.name == "postgresql":
        query = "SELECT max(CAST(substr(mrn, 3) AS bigint)) FROM patient WHERE mrn ~ '^CJ[0-9]+$'"
    else:
        query = (
            "SELECT max(CAST(substr(mrn, 3) AS INTEGER)) FROM patient "
            "WHERE mrn LIKE 'CJ_%' AND substr(mrn, 3) NOT GLOB '*[^0-9]*'"
        )
    highest = bind.execute(sa.text(query)).scalar()
    return max(highest or 0, FIRST_NUMBER - 1)


def upgrade():
    bind = op.get_bind()
    op.create_table(
        'mrn_counter',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('last_number', sa.BigInteger(), nullable=False),
        sa.CheckConstraint('id = 1', name=op.f('ck_mrn_counter_one_row')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_mrn_counter')),
    )
    op.create_table(
        'working_week',
        sa.Column('clinician_id', sa.Integer(), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.CheckConstraint('version > 0', name=op.f('ck_working_week_version_positive')),
        sa.ForeignKeyConstraint(
            ['clinician_id'], ['user_account.id'],
            name=op.f('fk_working_week_clinician_id_user_account'), ondelete='RESTRICT',
        ),
        sa.PrimaryKeyConstraint('clinician_id', name=op.f('pk_working_week')),
    )
    highest = _highest_mrn_number(bind)
    if bind.dialect.name == "postgresql":
        op.execute(sa.text(f"CREATE SEQUENCE patient_mrn_seq START WITH {FIRST_NUMBER}"))
        if highest >= FIRST_NUMBER:
            op.execute(sa.text(f"SELECT setval('patient_mrn_seq', {highest})"))
    else:
        op.execute(sa.text(f"INSERT INTO mrn_counter (id, last_number) VALUES (1, {highest})"))


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute(sa.text("DROP SEQUENCE patient_mrn_seq"))
    op.drop_table('working_week')
    op.drop_table('mrn_counter')
