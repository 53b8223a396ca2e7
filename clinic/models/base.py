"""Declarative base with a naming convention, UTC timestamps, enum columns and version locking."""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, declared_attr, mapped_column

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    """The current time, timezone-aware in UTC."""
    return datetime.now(UTC)


class UTCDateTime(sa.types.TypeDecorator):
    """A timestamp stored in UTC and always handed back timezone-aware.

    PostgreSQL keeps `timestamptz`; SQLite keeps naive UTC text, so values are
    normalised on the way in and re-labelled as UTC on the way out.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored; attach a time zone first")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def enum_column(enum_cls: type[enum.Enum], name: str, **kwargs: Any) -> Any:
    """A VARCHAR column holding an enum's values, guarded by a named CHECK constraint."""
    return mapped_column(
        sa.Enum(
            enum_cls,
            name=name,
            native_enum=False,
            create_constraint=True,
            length=max(len(m.value) for m in enum_cls),
            values_callable=lambda cls: [m.value for m in cls],
            validate_strings=True,
        ),
        **kwargs,
    )


class Base(DeclarativeBase):
    """Declarative base for every model: stable constraint names, UTC timestamp type."""

    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)


class TimestampMixin:
    """`created_at` and `updated_at`, set in UTC by the application."""

    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime, default=utcnow, onupdate=utcnow, nullable=False
    )


class VersionedMixin:
    """Optimistic locking: a stale UPDATE raises StaleDataError instead of overwriting."""

    version: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=1)

    @declared_attr.directive
    def __mapper_args__(cls) -> dict[str, Any]:
        return {"version_id_col": cls.__table__.c.version}
