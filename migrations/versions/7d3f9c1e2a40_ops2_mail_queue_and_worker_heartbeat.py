"""ops2 outgoing message queue and worker heartbeat

Revision ID: 7d3f9c1e2a40
Revises: c756d8c63666
Create Date: 2026-11-27 00:20:35.630256

E-mail goes through a queue in the database (`outgoing_message`), written in the request's
own transaction and delivered by `flask worker`, which records its heartbeat in
`worker_heartbeat` for /readyz. The downgrade refuses while messages wait to be delivered:
dropping the table would lose them silently.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '7d3f9c1e2a40'
down_revision = 'c756d8c63666'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('outgoing_message',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('recipient', sa.String(length=254), nullable=False),
    sa.Column('subject', sa.String(length=200), nullable=False),
    sa.Column('body', sa.Text(), nullable=True),
    sa.Column('status', sa.Enum('queued', 'sending', 'sent', 'failed', name='message_status', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('claimed_by', sa.String(length=100), nullable=True),
    sa.Column('lease_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.String(length=300), nullable=True),
    sa.CheckConstraint("(status = 'sending') = (lease_until IS NOT NULL AND claimed_by IS NOT NULL)", name=op.f('ck_outgoing_message_lease_while_sending')),
    sa.CheckConstraint("(status = 'sent') = (sent_at IS NOT NULL)", name=op.f('ck_outgoing_message_sent_when_sent')),
    sa.CheckConstraint("status = 'sent' OR body IS NOT NULL", name=op.f('ck_outgoing_message_body_until_sent')),
    sa.CheckConstraint('attempts >= 0', name=op.f('ck_outgoing_message_attempts_not_negative')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outgoing_message'))
    )
    with op.batch_alter_table('outgoing_message', schema=None) as batch_op:
        batch_op.create_index('ix_outgoing_message_due', ['status', 'next_attempt_at'], unique=False)

    op.create_table('worker_heartbeat',
    sa.Column('worker', sa.String(length=100), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('beat_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('worker', name=op.f('pk_worker_heartbeat'))
    )
    with op.batch_alter_table('worker_heartbeat', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_worker_heartbeat_beat_at'), ['beat_at'], unique=False)



def downgrade():
    waiting = op.get_bind().scalar(
        sa.text("SELECT count(*) FROM outgoing_message WHERE status <> 'sent'")
    )
    if waiting:
        raise RuntimeError(
            f"Refusing to downgrade: {waiting} e-mail messages are not delivered yet and "
            "would be lost. Let `flask worker` deliver them (or mark them sent) first."
        )
    with op.batch_alter_table('worker_heartbeat', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_worker_heartbeat_beat_at'))

    op.drop_table('worker_heartbeat')
    with op.batch_alter_table('outgoing_message', schema=None) as batch_op:
        batch_op.drop_index('ix_outgoing_message_due')

    op.drop_table('outgoing_message')
