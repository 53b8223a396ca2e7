"""The registry's cohort: which treated cycles a set of filters selects, read live from the
records. The export reads it, and `registry_store` when it recomputes the stored rows the
dashboard reads. The platelet dose is computed from the volume actually injected (the sum of
the injection sites), not the product's volume.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import sqlalchemy as sa

from clinic.journeys import models as m
from clinic.journeys.models.journey import journey_condition
from clinic.journeys.states import StageKind, StageStatus, Therapy
from clinic.timeutil import clinic_tz


@dataclass(frozen=True)
class Filters:
    therapy: str | None = None
    condition_id: int | None = None
    region: str | None = None
    level: str | None = None
    provider_id: int | None = None
    paw: str | None = None
    dose_band: str | None = None
    injected_from: date | None = None
    injected_to: date | None = None
    instrument: str = "odi"

    def describe(self) -> str:
        """The filters as one line for the audit trail."""
        return "; ".join(f"{k}={v}" for k, v in vars(self).items() if v is not None)[:500]


def day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=clinic_tz())


def injected_volume(stage_id) -> sa.ScalarSelect:
    """The total volume injected over the injection stage's sites (mL): read per stage through
    the index on injection_site.stage_id, so a chunk of the cohort reads only its own sites."""
    return (
        sa.select(sa.func.sum(m.InjectionSite.volume_ml))
        .where(m.InjectionSite.stage_id == stage_id)
        .scalar_subquery()
    )


def cohort(
    filters: Filters, product: bool = True, cycle_ids: list[int] | None = None
) -> sa.Subquery:
    """One row per injected cycle matching the filters, with its product and dose (read live
    from the records: the export, and `registry_store` when it recomputes stored rows).

    Without `product` the processing stage is joined only when a platelet or dose filter needs
    it. `cycle_ids` limits it to those cycles.
    """
    inj = sa.orm.aliased(m.Stage, name="inj")
    proc = sa.orm.aliased(m.Stage, name="proc")
    injected_ml = injected_volume(inj.id)
    injected_at = sa.func.coalesce(m.InjectionRecord.procedure_started_at, inj.completed_at)
    dose = m.ProcessingRecord.product_platelets * injected_ml / 1000
    band = sa.case(
        (dose > 5, "A"), (dose >= 3, "B"), (dose >= 1, "C"), (dose.is_not(None), "D"), else_=None
    )
    f = filters
    product = product or bool(f.paw or f.dose_band)
    columns: list[sa.ColumnElement] = [
        m.Cycle.id.label("cycle_id"),
        m.Cycle.number.label("cycle_number"),
        m.Journey.id.label("journey_id"),
        m.Journey.patient_id.label("patient_id"),
        m.Journey.therapy.label("therapy"),
        m.Journey.provider_id.label("provider_id"),
        injected_at.label("injected_at"),
    ]
    if product:
        columns += [
            injected_ml.label("injected_ml"),
            m.ProcessingRecord.paw_class.label("paw_class"),
            dose.label("dose_billions"),
            band.label("dose_band"),
        ]
    query = (
        sa.select(*columns)
        .join(m.Journey, m.Journey.id == m.Cycle.journey_id)
        .join(inj, sa.and_(inj.cycle_id == m.Cycle.id, inj.kind == StageKind.INJECTION))
        .join(m.InjectionRecord, m.InjectionRecord.stage_id == inj.id)
        .where(inj.status.in_([StageStatus.COMPLETED, StageStatus.SIGNED]))
    )
    if product:
        query = query.outerjoin(
            proc,
            sa.and_(
                proc.cycle_id == m.Cycle.id,
                proc.kind == StageKind.PROCESSING,
                proc.status.in_([StageStatus.COMPLETED, StageStatus.SIGNED]),
            ),
        ).outerjoin(m.ProcessingRecord, m.ProcessingRecord.stage_id == proc.id)
    if cycle_ids is not None:
        query = query.where(m.Cycle.id.in_(cycle_ids))
    if f.therapy:
        query = query.where(m.Journey.therapy == Therapy(f.therapy))
    if f.provider_id:
        query = query.where(m.Journey.provider_id == f.provider_id)
    if f.condition_id:
        query = query.where(
            sa.exists().where(
                journey_condition.c.journey_id == m.Journey.id,
                journey_condition.c.condition_id == f.condition_id,
            )
        )
    neck = sa.exists().where(m.TargetSite.journey_id == m.Journey.id, m.TargetSite.level.like("C%"))
    if f.region == "cervical":
        query = query.where(neck)
    elif f.region == "lumbar":
        query = query.where(~neck)
    if f.level:
        query = query.where(
            sa.exists().where(
                m.TargetSite.journey_id == m.Journey.id, m.TargetSite.level == f.level
            )
        )
    if f.paw:
        query = query.where(m.ProcessingRecord.paw_class.like(f"{f.paw}%"))
    if f.dose_band:
        query = query.where(band == f.dose_band)
    if f.injected_from:
        query = query.where(injected_at >= day_start(f.injected_from))
    if f.injected_to:
        query = query.where(injected_at < day_start(f.injected_to + timedelta(days=1)))
    return query.subquery("cohort")
