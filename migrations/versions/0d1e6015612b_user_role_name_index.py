"""user accounts by role and name

The registry's provider filter (and other staff lists) read the accounts of one role in name
order; at 100,000 patients one account in twenty is a portal patient's, so each read scanned
~5,000 accounts for six providers. An index on role and name reads them in order.

Revision ID: 0d1e6015612b
Revises: 89743aaa753d
Create Date: 2026-11-27 09:57:10
"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "0d1e6015612b"
down_revision = "89743aaa753d"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("user_account", schema=None) as batch_op:
        batch_op.create_index("ix_user_account_role_name", ["role", "full_name"], unique=False)


def downgrade():
    with op.batch_alter_table("user_account", schema=None) as batch_op:
        batch_op.drop_index("ix_user_account_role_name")
