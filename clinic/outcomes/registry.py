"""The outcomes registry: a cohort of treated cycles, and its figures per follow-up timepoint.

Every figure is an SQL aggregate over the cohort (a fixed number of queries whatever the data
size); Python only turns sums into means, intervals and shares. The platelet dose is computed
from the volume actually injected (the sum of the injection sites), not the product's volume.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal

import sqlalchemy as sa
from flask import current_app

from clinic.extensions import db
from clinic.journeys import models as m
from clinic.journeys.models.journey import journey_condition
from clinic.journeys.states import StageKind, StageStatus, Therapy
from clinic.outcomes import stats
from clinic.outcomes.adverse_models import AdverseEvent
from clinic.outcomes.models import BASELINE, QuestionnaireResponse, ResponseStatus
from clinic.outcomes.scoring import MCID_POINTS, NRS_PERCENT
from clinic.timeutil import clinic_today, clinic_tz

INSTRUMENTS = {"odi": "Oswestry Disability Index", "ndi": "Neck Disability Index",
               "nrs_pain": "Pain (0–10)", "nrs_radiating": "Spreading pain (0–10)"}  # fmt: skip
DOSE_BANDS = ("A", "B", "C", "D")
PAW_BANDS = ("P1", "P2", "P3", "P4")
REGIONS = ("cervical", "lumbar")


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


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=clinic_tz())


def injected_volume(stage_id) -> sa.ScalarSelect:
    """The total volume injected over the injection stage's sites (mL): read per stage through
    the index on injection_site.stage_id, so a chunk of the cohort reads only its own sites."""
    return (
        sa.select(sa.func.sum(m.InjectionSite.volume_ml))
        .where(m.InjectionSite.stage_id == stage_id)
        .scalar_subquery()
    )


def cohort(filters: Filters, product: bool = True) -> sa.Subquery:
    """One row per injected cycle matching the filters, with its product and dose.

    Without `product` (the dashboard's counts need only cycles and patients) the processing
    stage is joined only when a platelet or dose filter needs it.
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
        query = query.where(injected_at >= _day_start(f.injected_from))
    if f.injected_to:
        query = query.where(injected_at < _day_start(f.injected_to + timedelta(days=1)))
    return query.subquery("cohort")


def _important(instrument: str, base, change):
    """SQL for 'reached the clinically important improvement' (mirrors scoring.change)."""
    if instrument in ("odi", "ndi"):
        return change >= MCID_POINTS[instrument]
    return sa.and_(
        change > 0,
        sa.or_(change >= MCID_POINTS["single"], change * 100 >= NRS_PERCENT * base),
    )


@dataclass
class TimepointRow:
    label: str
    due_days: int
    assigned: int
    pending: int
    eligible: int
    patients: int
    answered: int
    out_of_window: int
    missing: int
    change: stats.MeanCI | None
    responders: int
    worse: int
    suppressed: bool
    pgic_answered: int = 0
    pgic_responders: int = 0

    @property
    def completeness(self) -> float | None:
        return stats.share(self.answered, self.eligible)

    @property
    def responder_share(self) -> float | None:
        return stats.share(self.responders, self.change.n) if self.change else None

    @property
    def worse_share(self) -> float | None:
        return stats.share(self.worse, self.change.n) if self.change else None

    @property
    def pgic_share(self) -> float | None:
        return stats.share(self.pgic_responders, self.pgic_answered)


def _flag(cond) -> sa.Case:
    return sa.case((cond, 1), else_=0)


# What an answer is, as bits of one grouping key (one key, not seven: the database then expects
# few groups and counts them in a hash instead of sorting every answer).
OPENED, IN_WINDOW, OUT_OF_WINDOW, PAIRED, RESPONDER, WORSE, PGIC_RESPONDER = (
    1 << i for i in range(7)
)


def _timepoint_query(cycles: sa.Subquery, code: str, today: date):
    """The chosen instrument's and the PGIC's answers, counted per timepoint and per kind.

    The answers are read once for both instruments (only the chosen one is paired with its
    baseline) and grouped by what each answer is (open yet, answered in or out of its window,
    paired, improved enough, worse): a few dozen small groups a hash can hold, so the database
    neither sorts every answer nor evaluates a dozen conditional sums per row. _tally adds the
    groups up.
    """
    r = sa.orm.aliased(QuestionnaireResponse, name="r")
    b = sa.orm.aliased(QuestionnaireResponse, name="b")
    done = r.status == ResponseStatus.COMPLETED
    in_window = sa.and_(done, r.in_window.is_(True))
    change = b.score - r.score
    paired = sa.and_(in_window, b.id.is_not(None))
    kind = sum(  # one small integer per answer saying what it is (bits: see KIND_BITS)
        (_flag(cond) * bit for bit, cond in (
            (OPENED, r.available_from <= today),
            (IN_WINDOW, in_window),
            (OUT_OF_WINDOW, sa.and_(done, r.in_window.is_(False))),
            (PAIRED, paired),
            (RESPONDER, sa.and_(paired, _important(code, b.score, change))),
            (WORSE, sa.and_(paired, change < 0)),
            (PGIC_RESPONDER, sa.and_(in_window, r.score <= 2)),
        )),
        sa.literal(0),
    )  # fmt: skip
    keys = (r.instrument_code.label("code"), m.FollowUp.label.label("label"), kind.label("kind"))
    return (
        sa.select(
            *keys,
            sa.func.min(m.FollowUp.id).label("order_key"),
            sa.func.count(r.id).label("count"),
            sa.func.sum(sa.case((paired, change))).label("total"),
            sa.func.sum(sa.case((paired, change * change))).label("total_sq"),
        )
        .select_from(cycles)
        .join(
            r,
            sa.and_(
                r.cycle_id == cycles.c.cycle_id,
                sa.or_(
                    sa.and_(r.instrument_code == code, r.status != ResponseStatus.VOIDED),
                    # of the PGIC only the answers counted in the figures are needed
                    sa.and_(r.instrument_code == "pgic", in_window),
                ),
            ),
        )
        .join(m.FollowUp, m.FollowUp.id == r.follow_up_id)
        .outerjoin(
            b,
            sa.and_(
                r.instrument_code == code,
                b.cycle_id == cycles.c.cycle_id,
                b.timepoint == BASELINE,
                b.instrument_code == code,
                b.status == ResponseStatus.COMPLETED,
                b.in_window.is_(True),
            ),
        )
        .where(m.FollowUp.status != "cancelled")
        .group_by(*keys)
    )


def _patients_query(cycles: sa.Subquery, code: str, today: date):
    """Patients per timepoint whose questionnaire has opened (for small-cell suppression)."""
    r = sa.orm.aliased(QuestionnaireResponse, name="r")
    return (
        sa.select(m.FollowUp.label, sa.func.count(sa.distinct(cycles.c.patient_id)))
        .select_from(cycles)
        .join(
            r,
            sa.and_(
                r.cycle_id == cycles.c.cycle_id,
                r.instrument_code == code,
                r.status != ResponseStatus.VOIDED,
                r.available_from <= today,
            ),
        )
        .join(m.FollowUp, m.FollowUp.id == r.follow_up_id)
        .where(m.FollowUp.status != "cancelled")
        .group_by(m.FollowUp.label)
    )


@dataclass
class _Tally:
    """One timepoint's counts and sums, added up from the grouped rows."""

    order_key: int = 0
    assigned: int = 0
    pending: int = 0
    eligible: int = 0
    answered: int = 0
    out_of_window: int = 0
    n: int = 0
    total: Decimal = Decimal(0)
    total_sq: Decimal = Decimal(0)
    responders: int = 0
    worse: int = 0
    pgic_responders: int = 0
    patients: int = 0


def _tally(rows) -> dict[tuple[str, str], _Tally]:
    tallies: dict[tuple[str, str], _Tally] = {}
    for row in rows:
        t = tallies.get((row.code, row.label))
        if t is None:
            t = tallies[(row.code, row.label)] = _Tally(order_key=row.order_key)
        count, kind = int(row.count), int(row.kind)
        t.order_key = min(t.order_key, row.order_key)
        t.assigned += count
        if kind & OPENED:
            t.eligible += count
            t.answered += count if kind & IN_WINDOW else 0
        else:
            t.pending += count
        t.out_of_window += count if kind & OUT_OF_WINDOW else 0
        t.n += count if kind & PAIRED else 0
        t.total += Decimal(row.total or 0)
        t.total_sq += Decimal(row.total_sq or 0)
        t.responders += count if kind & RESPONDER else 0
        t.worse += count if kind & WORSE else 0
        t.pgic_responders += count if kind & PGIC_RESPONDER else 0
    return tallies


@dataclass
class Figures:
    filters: Filters
    min_cell: int
    cycles: int
    patients: int
    timepoints: list[TimepointRow]
    events: dict[int, dict[str, int]] = field(default_factory=dict)
    serious_events: int = 0
    surgery: int = 0
    surgery_suppressed: bool = False

    @property
    def surgery_share(self) -> float | None:
        return stats.share(self.surgery, self.cycles)


RELATEDNESS_ORDER = ("unrelated", "unlikely", "possible", "probable", "definite")


def figures(filters: Filters, today: date | None = None) -> Figures:
    """The cohort's figures: four aggregate queries whatever the number of patients."""
    today = today or clinic_today()
    min_cell = int(current_app.config.get("REGISTRY_MIN_CELL", 5))
    cycles = cohort(filters, product=False)
    size = db.session.execute(
        sa.select(
            sa.func.count(cycles.c.cycle_id),
            sa.func.count(sa.distinct(cycles.c.patient_id)),
            sa.func.count(
                sa.distinct(
                    sa.case(
                        (
                            sa.exists().where(
                                m.FollowUp.cycle_id == cycles.c.cycle_id,
                                m.FollowUp.later_procedure == "surgery",
                            ),
                            cycles.c.cycle_id,
                        )
                    )
                )
            ),
        )
    ).one()
    tallies = _tally(db.session.execute(_timepoint_query(cycles, filters.instrument, today)))
    for label, patients in db.session.execute(_patients_query(cycles, filters.instrument, today)):
        tallies[(filters.instrument, label)].patients = int(patients)
    rows = {label: t for (code, label), t in tallies.items() if code == filters.instrument}
    pgic = {label: t for (code, label), t in tallies.items() if code == "pgic"}
    timepoints = [_row(label, row, pgic.get(label), min_cell) for label, row in rows.items()]
    timepoints.sort(key=lambda t: t.due_days)
    result = Figures(filters, min_cell, size[0], size[1], timepoints, surgery=size[2])
    result.surgery_suppressed = stats.suppressed(size[1], min_cell) or stats.suppressed(
        size[2], min_cell
    )
    _events(result, cycles)
    return result


def _row(label: str, row, pgic, min_cell: int) -> TimepointRow:
    n = int(row.n or 0)
    change = stats.mean_ci(n, float(row.total or 0), float(row.total_sq or 0))
    patients = int(row.patients or 0)
    return TimepointRow(
        label=label,
        due_days=int(row.order_key or 0),
        assigned=int(row.assigned or 0),
        pending=int(row.pending or 0),
        eligible=int(row.eligible or 0),
        patients=patients,
        answered=int(row.answered or 0),
        out_of_window=int(row.out_of_window or 0),
        missing=int(row.eligible or 0) - int(row.answered or 0) - int(row.out_of_window or 0),
        change=change,
        responders=int(row.responders or 0),
        worse=int(row.worse or 0),
        suppressed=stats.suppressed(patients, min_cell) or stats.suppressed(n, min_cell),
        pgic_answered=int(pgic.answered or 0) if pgic else 0,
        pgic_responders=int(pgic.pgic_responders or 0) if pgic else 0,
    )


def _events(result: Figures, cycles: sa.Subquery) -> None:
    """Adverse events by grade and by the stronger of the two relatedness judgements."""
    query = (
        sa.select(
            AdverseEvent.grade,
            AdverseEvent.related_procedure,
            AdverseEvent.related_product,
            sa.func.count(AdverseEvent.id),
            sa.func.sum(sa.case((AdverseEvent.serious.is_(True), 1), else_=0)),
        )
        .join(cycles, cycles.c.cycle_id == AdverseEvent.cycle_id)
        .group_by(AdverseEvent.grade, AdverseEvent.related_procedure, AdverseEvent.related_product)
    )
    table: dict[int, dict[str, int]] = {g: dict.fromkeys(RELATEDNESS_ORDER, 0) for g in range(1, 6)}
    for grade, procedure, product, count, serious in db.session.execute(query):
        strongest = max(procedure.value, product.value, key=RELATEDNESS_ORDER.index)
        table[grade][strongest] += count
        result.serious_events += int(serious or 0)
    result.events = table


def dose_from_sites(product_platelets: Decimal | None, volumes: list[Decimal]) -> Decimal | None:
    """Platelets injected (billions) from the product count and the sites' volumes."""
    if product_platelets is None or not volumes:
        return None
    return (Decimal(product_platelets) * sum(volumes, Decimal(0)) / 1000).quantize(Decimal("0.01"))
