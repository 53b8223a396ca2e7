"""patients: the name search's four indexes carry what it sorts by (and, on PostgreSQL, the
retired mark), so each index range is read from the index alone

A one-word name search reads four index ranges (family name, given name, and the two
sound-alike keys), each up to its first 501 matches in the results' order (family, given,
id), then shows a page of them. At 100,000 patients the family-name range ("okafor1": 703
matches) was a bitmap scan of 292 table pages and a sort (2.3 ms of the search's 5.9 in
EXPLAIN ANALYZE) and the sound-alike range read a table row per match to see that it was not
retired; with these indexes every range is an index-only scan (0.56 ms for the four, no table
row read) (issue 15). Same names and leading columns, so every lookup the old ones served is
served as before. Patients are registered and edited a few times a day: wider index entries
cost those writes next to nothing.

Revision ID: 5e8b1c7a9d24
Revises: 7c4e2a9d1f05
Create Date: 2026-11-27 19:00:00
"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "5e8b1c7a9d24"
down_revision = "7c4e2a9d1f05"
branch_labels = None
depends_on = None

NEW = {
    "ix_patient_family_key": ["family_key", "given_key", "id"],
    "ix_patient_given_key": ["given_key", "family_key", "id"],
    "ix_patient_family_sound_order": ["family_sound", "family_key", "given_key", "id"],
    "ix_patient_given_sound_order": ["given_sound", "family_key", "given_key", "id"],
}
OLD = {
    "ix_patient_family_key": ["family_key", "given_key"],
    "ix_patient_given_key": ["given_key"],
    "ix_patient_family_sound_order": ["family_sound", "family_key", "given_key", "id"],
    "ix_patient_given_sound_order": ["given_sound", "family_key", "given_key", "id"],
}


def _replace(indexes: dict[str, list[str]], include: list[str]) -> None:
    for name, columns in indexes.items():
        op.drop_index(name, table_name="patient")
        op.create_index(name, "patient", columns, postgresql_include=include)


def upgrade():
    _replace(NEW, ["merged_into_id"])


def downgrade():
    _replace(OLD, [])
