"""safety: a site outside the plan keeps a provider's reason; a discharge keeps a provider's
release; a specimen is labelled when collection starts (custody step 'labelled'); the tube's
ID scanned at processing

Revision ID: 9fdbbde01930
Revises: 9d460901ad6b
Create Date: 2026-11-27 00:19:43.398418

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '9fdbbde01930'
down_revision = '9d460901ad6b'
branch_labels = None
depends_on = None


OLD_STEPS = ('collected', 'received', 'processed', 'released', 'administered', 'discarded')
NEW_STEPS = ('labelled',) + OLD_STEPS
CUSTODY = (('specimen', 'custody_state'), ('custody_event', 'custody_step'))


def _steps(table, name, steps):
    column = 'custody_state' if table == 'specimen' else 'step'
    with op.batch_alter_table(table, schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f(f'ck_{table}_{name}'), type_='check')
        batch_op.create_check_constraint(batch_op.f(f'ck_{table}_{name}'), f'{column} IN {steps!r}')


def upgrade():
    for table, name in CUSTODY:
        _steps(table, name, NEW_STEPS)
    with op.batch_alter_table('processing_record', schema=None) as batch_op:
        batch_op.add_column(sa.Column('tube_code', sa.String(length=20), nullable=True))
    with op.batch_alter_table('injection_site', schema=None) as batch_op:
        batch_op.add_column(sa.Column('off_plan_reason', sa.String(length=300), nullable=True))
        batch_op.add_column(sa.Column('off_plan_by_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_injection_site_off_plan_by_id_user_account'), 'user_account', ['off_plan_by_id'], ['id'])
        batch_op.create_check_constraint(
            batch_op.f('ck_injection_site_off_plan_who_and_why'),
            '(off_plan_reason IS NULL) = (off_plan_by_id IS NULL)',
        )

    with op.batch_alter_table('recovery_record', schema=None) as batch_op:
        batch_op.add_column(sa.Column('release_note', sa.String(length=300), nullable=True))
        batch_op.add_column(sa.Column('released_by_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_recovery_record_released_by_id_user_account'), 'user_account', ['released_by_id'], ['id'])
        batch_op.create_check_constraint(
            batch_op.f('ck_recovery_record_release_who_and_why'),
            '(release_note IS NULL) = (released_by_id IS NULL)',
        )


def downgrade():
    with op.batch_alter_table('processing_record', schema=None) as batch_op:
        batch_op.drop_column('tube_code')
    op.execute("UPDATE custody_event SET step = 'collected' WHERE step = 'labelled'")
    op.execute("UPDATE specimen SET custody_state = 'collected' WHERE custody_state = 'labelled'")
    for table, name in CUSTODY:
        _steps(table, name, OLD_STEPS)
    with op.batch_alter_table('recovery_record', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_recovery_record_release_who_and_why'), type_='check')
        batch_op.drop_constraint(batch_op.f('fk_recovery_record_released_by_id_user_account'), type_='foreignkey')
        batch_op.drop_column('released_by_id')
        batch_op.drop_column('release_note')

    with op.batch_alter_table('injection_site', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_injection_site_off_plan_who_and_why'), type_='check')
        batch_op.drop_constraint(batch_op.f('fk_injection_site_off_plan_by_id_user_account'), type_='foreignkey')
        batch_op.drop_column('off_plan_by_id')
        batch_op.drop_column('off_plan_reason')
