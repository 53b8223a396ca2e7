"""safety: independent verification: the product verifier confirms with their own credentials
(verified_at); each time-out team member confirms in person (timeout_member)

Revision ID: 8e8c4e6e492c
Revises: b0699614a03f
Create Date: 2026-11-27 00:42:45.175071

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '8e8c4e6e492c'
down_revision = 'b0699614a03f'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('timeout_member',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('stage_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('confirmed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('confirmed_by', sa.String(length=10), nullable=False),
    sa.CheckConstraint("confirmed_by IN ('password', 'session')", name=op.f('ck_timeout_member_confirmed_by_known')),
    sa.ForeignKeyConstraint(['stage_id'], ['stage.id'], name=op.f('fk_timeout_member_stage_id_stage')),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_timeout_member_user_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_timeout_member')),
    sa.UniqueConstraint('stage_id', 'user_id', name='stage_user')
    )
    with op.batch_alter_table('timeout_member', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_timeout_member_stage_id'), ['stage_id'], unique=False)

    with op.batch_alter_table('processing_record', schema=None) as batch_op:
        batch_op.add_column(sa.Column('verified_at', sa.DateTime(timezone=True), nullable=True))



def downgrade():
    with op.batch_alter_table('processing_record', schema=None) as batch_op:
        batch_op.drop_column('verified_at')

    with op.batch_alter_table('timeout_member', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_timeout_member_stage_id'))

    op.drop_table('timeout_member')
