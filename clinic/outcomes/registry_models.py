"""The registry's stored rows: each treated cycle's cohort facts and each follow-up answer's facts.

They are derived data, kept current by `registry_store` from the records they summarise
(answers, follow-ups, stages, processing and injection records, journeys) in the same
transaction as the change, so the cohort dashboard reads two narrow tables instead of joining
the whole clinical history on every view. `flask registry rebuild` recomputes them.

The dashboard's aggregates over them are stored too (`RegistryFigures`, per set of filters),
valid while the registry's generation (`RegistryGeneration`, moved on by every commit that
changes what they are computed from) and the day are those they were computed for.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from clinic.extensions import Model
from clinic.models.base import UTCDateTime


class RegistryCycle(Model):
    """One injected cycle (injection completed or signed) with what the registry filters on."""

    __tablename__ = "registry_cycle"

    cycle_id: Mapped[int] = mapped_column(
        sa.ForeignKey("treatment_cycle.id", ondelete="CASCADE"), primary_key=True
    )
    journey_id: Mapped[int] = mapped_column(sa.ForeignKey("journey.id"), nullable=False)
    patient_id: Mapped[int] = mapped_column(sa.ForeignKey("patient.id"), nullable=False)
    therapy: Mapped[str] = mapped_column(sa.String(20), nullable=False)
    provider_id: Mapped[int | None] = mapped_column(sa.Integer)
    injected_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    paw_class: Mapped[str | None] = mapped_column(sa.String(20))
    dose_band: Mapped[str | None] = mapped_column(sa.String(1))
    # a target at a cervical level (the registry's "neck" region; otherwise "lower back")
    cervical: Mapped[bool] = mapped_column(sa.Boolean, nullable=False)
    # a follow-up of the cycle recorded surgery at the treated level
    surgery: Mapped[bool] = mapped_column(sa.Boolean, nullable=False)

    __table_args__ = (sa.Index("ix_registry_cycle_journey", "journey_id"),)


class RegistryPoint(Model):
    """One questionnaire answer (not voided) at a follow-up (not cancelled) of an injected cycle:
    what kind of answer it is (the bits below: answered in or out of its window,
    paired with the cycle's baseline, improved enough, worse) and its change from the baseline."""

    __tablename__ = "registry_point"

    response_id: Mapped[int] = mapped_column(
        sa.ForeignKey("questionnaire_response.id", ondelete="CASCADE"), primary_key=True
    )
    cycle_id: Mapped[int] = mapped_column(
        sa.ForeignKey("registry_cycle.cycle_id", ondelete="CASCADE"), nullable=False
    )
    # the cycle's patient (as on registry_cycle): patients per timepoint from one index
    patient_id: Mapped[int] = mapped_column(sa.ForeignKey("patient.id"), nullable=False)
    instrument_code: Mapped[str] = mapped_column(sa.String(40), nullable=False)
    label: Mapped[str] = mapped_column(sa.String(80), nullable=False)
    # the follow-up's id: timepoints are listed in the order their follow-ups were planned
    follow_up_id: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    # the questionnaire opens on this day (before it, the answer is still pending)
    available_from: Mapped[date] = mapped_column(sa.Date, nullable=False)
    kind: Mapped[int] = mapped_column(sa.SmallInteger, nullable=False)
    # baseline score minus this score (positive: better), when paired with a baseline
    change: Mapped[Decimal | None] = mapped_column(sa.Numeric(6, 1))

    # The dashboard's two reads, each served by an index alone on PostgreSQL (its other columns
    # included): answers by instrument, timepoint and kind; patients by instrument and timepoint.
    __table_args__ = (
        sa.Index(
            "ix_registry_point_kinds",
            "instrument_code",
            "label",
            "kind",
            postgresql_include=["available_from", "follow_up_id", "change", "cycle_id"],
        ),
        sa.Index(
            "ix_registry_point_patients",
            "instrument_code",
            "label",
            "patient_id",
            postgresql_include=["available_from", "cycle_id"],
        ),
        sa.Index("ix_registry_point_cycle", "cycle_id"),
    )


# What a stored answer is, as bits of RegistryPoint.kind (whether it has opened depends on the
# day, so the registry works that out when it reads them).
IN_WINDOW, OUT_OF_WINDOW, PAIRED, RESPONDER, WORSE, PGIC_RESPONDER = (1 << i for i in range(6))


class RegistryGeneration(Model):
    """One row: a number `registry_store` moves on, in the same transaction, whenever a commit
    changes anything the registry's figures are computed from (stored rows, adverse events).
    Figures stored for an older number are out of date."""

    __tablename__ = "registry_generation"

    id: Mapped[int] = mapped_column(sa.SmallInteger, primary_key=True)
    value: Mapped[int] = mapped_column(sa.BigInteger, nullable=False)

    __table_args__ = (sa.CheckConstraint("id = 1", name="one_row"),)


class RegistryFigures(Model):
    """The dashboard's aggregates for one set of filters, as computed for a generation and a day
    (what has opened depends on the day); read instead of recomputing while both still hold."""

    __tablename__ = "registry_figures"

    # the filters, normalised (registry.filters_key)
    filters_key: Mapped[str] = mapped_column(sa.String(400), primary_key=True)
    generation: Mapped[int] = mapped_column(sa.BigInteger, nullable=False)
    day: Mapped[date] = mapped_column(sa.Date, nullable=False)
    # the aggregate queries' rows, as JSON (registry._encode)
    figures: Mapped[str] = mapped_column(sa.Text, nullable=False)
