"""appointments link to journey stages and follow-ups

Revision ID: 3b9adb9e42f8
Revises: 669812401599
Create Date: 2026-11-25 18:15:28.741276

An appointment may say what it is for in the patient's clinical journey: a stage (an
evaluation or a procedure visit) and/or a follow-up timepoint (booked from the recall list).
A follow-up holds at most one live appointment at a time (partial unique index).

On SQLite the batch operation rebuilds the appointment table, which drops its triggers (the
overlap guards); they are read before and created again after.

The downgrade refuses while any appointment is linked to a stage or follow-up: dropping the
columns would lose which visit was for what, and nothing could bring it back.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '3b9adb9e42f8'
down_revision = '669812401599'
branch_labels = None
depends_on = None

LIVE_FOLLOW_UP = sa.text(
    "follow_up_id IS NOT NULL AND status IN ('booked', 'checked_in', 'in_progress', 'completed')"
)


def _sqlite_triggers() -> list[str]:
    """The appointment table's trigger definitions (SQLite only; none elsewhere)."""
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        return []
    return list(
        bind.execute(
            sa.text(
                "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'appointment'"
            )
        ).scalars()
    )


def upgrade():
    triggers = _sqlite_triggers()
    with op.batch_alter_table('appointment', schema=None) as batch_op:
        batch_op.add_column(sa.Column('follow_up_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('stage_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_appointment_stage_id'), ['stage_id'], unique=False)
        batch_op.create_index(
            'uq_appointment_live_follow_up',
            ['follow_up_id'],
            unique=True,
            sqlite_where=LIVE_FOLLOW_UP,
            postgresql_where=LIVE_FOLLOW_UP,
        )
        batch_op.create_foreign_key(
            batch_op.f('fk_appointment_follow_up_id_follow_up'),
            'follow_up', ['follow_up_id'], ['id'], ondelete='RESTRICT',
        )
        batch_op.create_foreign_key(
            batch_op.f('fk_appointment_stage_id_stage'),
            'stage', ['stage_id'], ['id'], ondelete='RESTRICT',
        )
    for sql in triggers:
        op.execute(sql)


def _refuse_to_drop_links() -> None:
    linked = op.get_bind().scalar(
        sa.text(
            "SELECT count(*) FROM appointment "
            "WHERE stage_id IS NOT NULL OR follow_up_id IS NOT NULL"
        )
    )
    if linked:
        raise RuntimeError(
            f"Refusing to downgrade revision 3b9adb9e42f8: {linked} appointments are linked to "
            "journey stages or follow-ups, and the downgrade would drop those links. Restore "
            "the backup taken before the upgrade instead, or run the older code on this schema."
        )


def downgrade():
    _refuse_to_drop_links()
    triggers = _sqlite_triggers()
    with op.batch_alter_table('appointment', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_appointment_stage_id_stage'), type_='foreignkey')
        batch_op.drop_constraint(
            batch_op.f('fk_appointment_follow_up_id_follow_up'), type_='foreignkey'
        )
        batch_op.drop_index('uq_appointment_live_follow_up')
        batch_op.drop_index(batch_op.f('ix_appointment_stage_id'))
        batch_op.drop_column('stage_id')
        batch_op.drop_column('follow_up_id')
    for sql in triggers:
        op.execute(sql)
