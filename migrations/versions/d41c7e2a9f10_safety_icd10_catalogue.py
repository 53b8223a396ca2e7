"""safety: diagnosis catalogue on valid, billable ICD-10-CM codes. M51.36 and M51.37 need a
6th character since FY2025 and M47.890 does not exist: each row is migrated to the valid code
that keeps its meaning (journeys that used it follow), and the 6-character codes that say where
the pain is are offered beside them

Revision ID: d41c7e2a9f10
Revises: 8e8c4e6e492c
Create Date: 2026-11-27 00:50:00

"""
from datetime import datetime, timezone

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'd41c7e2a9f10'
down_revision = '8e8c4e6e492c'
branch_labels = None
depends_on = None

# old code -> (valid code, name, old name)
MIGRATED = {
    'M51.36': (
        'M51.369',
        'Degenerative disc disease, lumbar (back or leg pain not stated)',
        'Degenerative disc disease, lumbar (other intervertebral disc degeneration)',
    ),
    'M51.37': (
        'M51.379',
        'Degenerative disc disease, lumbosacral (back or leg pain not stated)',
        'Degenerative disc disease, lumbosacral',
    ),
    'M47.890': (
        'M47.899',
        'Early spinal arthritis (other spondylosis, site not stated)',
        'Early spinal arthritis (other spondylosis)',
    ),
}
ADDED = [
    ('M51.360', 'Degenerative disc disease, lumbar, with discogenic back pain only'),
    ('M51.361', 'Degenerative disc disease, lumbar, with leg pain only'),
    ('M51.362', 'Degenerative disc disease, lumbar, with back and leg pain'),
    ('M51.370', 'Degenerative disc disease, lumbosacral, with discogenic back pain only'),
    ('M51.371', 'Degenerative disc disease, lumbosacral, with leg pain only'),
    ('M51.372', 'Degenerative disc disease, lumbosacral, with back and leg pain'),
    ('M47.896', 'Early spinal arthritis, lumbar (other spondylosis)'),
]

condition = sa.table(
    'condition', sa.column('id', sa.Integer), sa.column('code', sa.String),
    sa.column('name', sa.String), sa.column('active', sa.Boolean),
    sa.column('created_at', sa.DateTime(timezone=True)),
    sa.column('updated_at', sa.DateTime(timezone=True)),
)


def upgrade():
    now = datetime.now(timezone.utc)
    bind = op.get_bind()
    taken = set(bind.scalars(sa.select(condition.c.code)))
    rows = [
        dict(code=c, name=n, active=True, created_at=now, updated_at=now)
        for c, n in ADDED if c not in taken
    ]
    if rows:
        op.bulk_insert(condition, rows)
    for old, (new, name, _) in MIGRATED.items():
        if new in taken:  # the valid code exists already: retire the invalid row instead
            values = dict(active=False, updated_at=now)
        else:
            values = dict(code=new, name=name, updated_at=now)
        op.execute(condition.update().where(condition.c.code == old).values(**values))


def downgrade():
    for old, (new, _, old_name) in MIGRATED.items():
        op.execute(condition.update().where(condition.c.code == new).values(code=old, name=old_name))
    op.execute(
        "DELETE FROM condition WHERE code IN ("
        + ", ".join(f"'{c}'" for c, _ in ADDED)
        + ") AND NOT EXISTS (SELECT 1 FROM journey_condition jc WHERE jc.condition_id = condition.id)"
    )
