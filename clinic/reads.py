"""Which patients a page showed, for the one read event each page view writes."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa

from clinic.auth.models import User
from clinic.extensions import db
from clinic.patients.models import Patient


def patients_of(rows: Iterable[object], attr: str = "patient_id") -> set[int]:
    """The patient ids of these records (appointments, stages' journeys, follow-ups …)."""
    found: set[int] = set()
    for row in rows:
        for part in attr.split("."):
            row = getattr(row, part, None)
        if row is not None:
            found.add(int(row))  # type: ignore[call-overload]
    return found


def on_postgresql() -> bool:
    """Whether the session's database is PostgreSQL (statements built once per kind)."""
    return db.session.get_bind().dialect.name == "postgresql"


def one_of(column: Any, name: str, *, postgresql: bool) -> sa.ColumnElement[bool]:
    """`column IN :name`, the ids given when the statement runs; on PostgreSQL as
    `= ANY(:name)`, one array parameter: the statement's text is then the same for any number
    of ids, so psycopg reuses its conversion and the server its prepared plan, where an
    expanded IN writes a placeholder (and a cast) per id."""
    if postgresql:
        return column == sa.any_(sa.bindparam(name, type_=sa.ARRAY(sa.Integer)))
    return column.in_(sa.bindparam(name, expanding=True))


def patients_addressed(addresses: Iterable[str]) -> set[int]:
    """Patients reached at these e-mail addresses (their record's or their portal account's)."""
    wanted = {a.strip().lower() for a in addresses if a}
    if not wanted:
        return set()
    by_record = sa.select(Patient.id).where(sa.func.lower(Patient.email).in_(wanted))
    by_account = sa.select(User.patient_id).where(
        User.email.in_(wanted), User.patient_id.is_not(None)
    )
    return set(db.session.scalars(sa.union(by_record, by_account)))
