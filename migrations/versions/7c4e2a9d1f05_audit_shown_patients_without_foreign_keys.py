"""audit: the patients a list view showed (audit_event_patient) without foreign keys

A week's calendar writes one row per patient shown, ~320 per view at a real clinic's size.
PostgreSQL checked both keys of every row (the event, the patient): 4.8 ms for 322 rows, 1.3 ms
without them (issue 15). The keys could never fail: each row is written with its event in one
statement from ids the page had just read, audit rows are append-only and patients are never
deleted. The primary key (event, patient) and the index on patient_id stay: they answer "what
did this view show" and "who has seen this patient".

SQLite cannot drop a constraint in place: batch mode copies the table, which loses its
append-only triggers, so they are made again.

Revision ID: 7c4e2a9d1f05
Revises: 19fb3cf23a32
Create Date: 2026-11-27 18:40:00
"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "7c4e2a9d1f05"
down_revision = "19fb3cf23a32"
branch_labels = None
depends_on = None

KEYS = (
    ("fk_audit_event_patient_audit_event_id_audit_event", "audit_event", "audit_event_id"),
    ("fk_audit_event_patient_patient_id_patient", "patient", "patient_id"),
)


def _sqlite_guards(create: bool) -> None:
    for verb in ("UPDATE", "DELETE"):
        name = f"audit_event_patient_no_{verb.lower()}"
        op.execute(f"DROP TRIGGER IF EXISTS {name}")
        if create:
            op.execute(
                f"CREATE TRIGGER {name} BEFORE {verb} ON audit_event_patient "
                "BEGIN SELECT RAISE(ABORT, 'audit is append-only'); END"
            )


def upgrade():
    sqlite = op.get_bind().dialect.name == "sqlite"
    if sqlite:
        _sqlite_guards(create=False)
    with op.batch_alter_table("audit_event_patient") as batch_op:
        for name, _table, _column in KEYS:
            batch_op.drop_constraint(name, type_="foreignkey")
    if sqlite:
        _sqlite_guards(create=True)


def downgrade():
    sqlite = op.get_bind().dialect.name == "sqlite"
    if sqlite:
        _sqlite_guards(create=False)
    with op.batch_alter_table("audit_event_patient") as batch_op:
        for name, table, column in KEYS:
            batch_op.create_foreign_key(name, table, [column], ["id"], ondelete="RESTRICT")
    if sqlite:
        _sqlite_guards(create=True)
