"""patients: search keys for names as they sound and for the end of the phone number

family_sound and given_sound hold the Metaphone key of each name (so "Okafer" finds "Okafor");
phone_rev holds the phone digits back to front (so the last four digits are an indexed prefix).
An index on e-mail serves the duplicate check at registration. Existing rows are filled in.

Revision ID: b3f1d2e4a6c8
Revises: a7c3e91d5b20
Create Date: 2026-11-27 03:15:00
"""

import re
import unicodedata

import jellyfish
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "b3f1d2e4a6c8"
down_revision = "a7c3e91d5b20"
branch_labels = None
depends_on = None

BATCH = 2000


def _sound(value):
    """As clinic.patients.models.sound_key at the time of writing."""
    if not value:
        return ""
    plain = unicodedata.normalize("NFKD", value).encode("ascii", "ignore").decode()
    letters = re.sub(r"[^a-z]", "", plain.lower())
    return jellyfish.metaphone(letters)[:40].upper() if letters else ""


def upgrade():
    with op.batch_alter_table("patient") as batch:
        batch.add_column(
            sa.Column("family_sound", sa.String(40), nullable=False, server_default="")
        )
        batch.add_column(sa.Column("given_sound", sa.String(40), nullable=False, server_default=""))
        batch.add_column(sa.Column("phone_rev", sa.String(20), nullable=True))
    with op.batch_alter_table("patient") as batch:
        batch.alter_column("family_sound", server_default=None)
        batch.alter_column("given_sound", server_default=None)

    conn = op.get_bind()
    patient = sa.table(
        "patient",
        sa.column("id", sa.Integer),
        sa.column("given_name", sa.String),
        sa.column("family_name", sa.String),
        sa.column("phone_key", sa.String),
        sa.column("family_sound", sa.String),
        sa.column("given_sound", sa.String),
        sa.column("phone_rev", sa.String),
    )
    update = (
        sa.update(patient)
        .where(patient.c.id == sa.bindparam("row_id"))
        .values(
            family_sound=sa.bindparam("fs"),
            given_sound=sa.bindparam("gs"),
            phone_rev=sa.bindparam("pr"),
        )
    )
    last = 0
    while True:
        rows = conn.execute(
            sa.select(
                patient.c.id, patient.c.given_name, patient.c.family_name, patient.c.phone_key
            )
            .where(patient.c.id > last)
            .order_by(patient.c.id)
            .limit(BATCH)
        ).all()
        if not rows:
            break
        conn.execute(
            update,
            [
                {
                    "row_id": row.id,
                    "fs": _sound(row.family_name),
                    "gs": _sound(row.given_name),
                    "pr": row.phone_key[::-1] if row.phone_key else None,
                }
                for row in rows
            ],
        )
        last = rows[-1].id

    op.create_index("ix_patient_family_sound", "patient", ["family_sound", "given_sound"])
    op.create_index("ix_patient_given_sound", "patient", ["given_sound"])
    op.create_index("ix_patient_phone_rev", "patient", ["phone_rev"])
    op.create_index("ix_patient_email", "patient", ["email"])


def downgrade():
    op.drop_index("ix_patient_email", table_name="patient")
    op.drop_index("ix_patient_phone_rev", table_name="patient")
    op.drop_index("ix_patient_given_sound", table_name="patient")
    op.drop_index("ix_patient_family_sound", table_name="patient")
    with op.batch_alter_table("patient") as batch:
        batch.drop_column("phone_rev")
        batch.drop_column("given_sound")
        batch.drop_column("family_sound")
