"""The outcomes registry: a cohort of treated cycles, and its figures per follow-up timepoint.

Every figure is an SQL aggregate (a fixed number of queries whatever the data size) over the
stored registry rows (`registry_models`: one narrow row per injected cycle and per follow-up
answer, kept current by `registry_store`); Python only turns sums into means, intervals and
shares. The cohort's definition, read live from the records, is in `cohort`.

The aggregates' rows are stored per set of filters (`RegistryFigures`) for the registry's
generation and the day they were computed for, so a view reads them in one statement while
nothing they depend on has changed; the small-cell rule (a setting) is applied after reading.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields
from datetime import date, timedelta
from decimal import Decimal
from typing import NamedTuple

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.dialects import postgresql, sqlite

from clinic.extensions import db
from clinic.journeys import models as m
from clinic.journeys.models.journey import journey_condition
from clinic.journeys.states import Therapy
from clinic.outcomes import stats
from clinic.outcomes.adverse_models import AdverseEvent
from clinic.outcomes.cohort import Filters, day_start
from clinic.outcomes.registry_models import (
    IN_WINDOW,
    OUT_OF_WINDOW,
    PAIRED,
    PGIC_RESPONDER,
    RESPONDER,
    WORSE,
    RegistryCycle,
    RegistryFigures,
    RegistryGeneration,
    RegistryPoint,
)
from clinic.outcomes.registry_store import changed_in_transaction, refresh_pending
from clinic.timeutil import clinic_today

INSTRUMENTS = {"odi": "Oswestry Disability Index", "ndi": "Neck Disability Index",
               "nrs_pain": "Pain (0–10)", "nrs_radiating": "Spreading pain (0–10)"}  # fmt: skip
DOSE_BANDS = ("A", "B", "C", "D")
PAW_BANDS = ("P1", "P2", "P3", "P4")
REGIONS = ("cervical", "lumbar")


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


def stored_cohort(filters: Filters) -> sa.Select | None:
    """The injected cycles matching the filters, read from the stored registry rows
    (`registry_store` keeps them equal to the records); None when no filter is set (every
    stored cycle is in the cohort)."""
    rc, f = RegistryCycle, filters
    conditions: list[sa.ColumnElement[bool]] = []
    if f.therapy:
        conditions.append(rc.therapy == Therapy(f.therapy).value)
    if f.provider_id:
        conditions.append(rc.provider_id == f.provider_id)
    if f.condition_id:
        conditions.append(
            sa.exists().where(
                journey_condition.c.journey_id == rc.journey_id,
                journey_condition.c.condition_id == f.condition_id,
            )
        )
    if f.region:
        conditions.append(rc.cervical.is_(f.region == "cervical"))
    if f.level:
        conditions.append(
            sa.exists().where(
                m.TargetSite.journey_id == rc.journey_id, m.TargetSite.level == f.level
            )
        )
    if f.paw:
        conditions.append(rc.paw_class.like(f"{f.paw}%"))
    if f.dose_band:
        conditions.append(rc.dose_band == f.dose_band)
    if f.injected_from:
        conditions.append(rc.injected_at >= day_start(f.injected_from))
    if f.injected_to:
        conditions.append(rc.injected_at < day_start(f.injected_to + timedelta(days=1)))
    return sa.select(rc.cycle_id).where(*conditions) if conditions else None


def _in_cohort(query: sa.Select, cycles: sa.Select | None, column) -> sa.Select:
    """The query limited to the cohort's cycles (a semi-join; nothing to add without filters)."""
    return query if cycles is None else query.where(column.in_(cycles))


def _timepoint_query(cycles: sa.Select | None, code: str, today: date):
    """The chosen instrument's and the PGIC's answers, counted per timepoint and per kind.

    Each stored answer says what it is (answered in or out of its window, paired with its
    baseline, improved enough, worse) and its change; grouped by that they make a few dozen
    groups (each counting how many of its answers have opened by `today`); _tally adds them.
    """
    p = RegistryPoint
    paired = p.kind.op("&")(PAIRED) != 0
    keys = (p.instrument_code.label("code"), p.label.label("label"), p.kind.label("kind"))
    query = (
        sa.select(
            *keys,
            sa.func.min(p.follow_up_id).label("order_key"),
            sa.func.count().label("answers"),
            sa.func.count(sa.case((p.available_from <= today, 1))).label("opened"),
            sa.func.sum(sa.case((paired, p.change))).label("total"),
            sa.func.sum(sa.case((paired, p.change * p.change))).label("total_sq"),
        )
        # of the PGIC only the answers counted in the figures are needed (written as a range of
        # the index's first column, then a filter, so one index-only walk serves both)
        .where(
            p.instrument_code.in_((code, "pgic")),
            sa.or_(p.instrument_code == code, p.kind.op("&")(IN_WINDOW) != 0),
        )
        .group_by(*keys)
    )
    return _in_cohort(query, cycles, p.cycle_id)


def _patients_query(cycles: sa.Select | None, code: str, today: date):
    """Patients per timepoint whose questionnaire has opened (for small-cell suppression)."""
    p = RegistryPoint
    query = (
        sa.select(p.label, sa.func.count(sa.distinct(p.patient_id)))
        .where(p.instrument_code == code, p.available_from <= today)
        .group_by(p.label)
    )
    return _in_cohort(query, cycles, p.cycle_id)


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
        count, opened, kind = int(row.answers), int(row.opened), int(row.kind)
        t.order_key = min(t.order_key, row.order_key)
        t.assigned += count
        t.eligible += opened
        t.answered += opened if kind & IN_WINDOW else 0
        t.pending += count - opened
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
    """The cohort's figures: stored ones when they are current (one statement), else four
    aggregate queries over the stored registry rows, whatever the number of patients, then
    stored. A transaction with changes of its own not yet committed computes them afresh."""
    refresh_pending()
    db.session.flush()  # an adverse event not flushed yet counts as a change too
    today = today or clinic_today()
    if changed_in_transaction():
        return _figures(filters, _aggregates(filters, today))
    key = filters_key(filters)
    stored = db.session.execute(_STORED, {"key": key, "day": today}).one_or_none()
    if stored is not None and stored.figures is None and _one_computes(key):
        # another view computed them while this one waited: read what it stored
        stored = db.session.execute(_STORED, {"key": key, "day": today}).one_or_none()
    if stored is not None and stored.figures is not None:
        return _figures(filters, json.loads(stored.figures))
    # Computed after reading the generation: in read-committed each statement sees at least
    # what that one did, so the figures are never older than the number they are stored under.
    aggregates = _aggregates(filters, today)
    if stored is not None:
        _store(key, stored.generation, today, json.dumps(aggregates, separators=(",", ":")))
    return _figures(filters, aggregates)


FIGURES_LOCK = 7312  # pg_advisory_xact_lock(namespace, hashtext(filters key))


def _one_computes(key: str) -> bool:
    """On PostgreSQL, views that miss the same figures at once compute them one at a time: each
    waits for the lock on this set of filters (held until its transaction ends, after the
    figures are stored) and then reads again, so the first computes and the others read what it
    stored (eight clients after a change made eight ~200 ms recomputes at 100,000 patients, and
    every view queued behind them). Returns whether a lock was waited for (and the stored
    figures are worth reading again)."""
    if db.session.get_bind().dialect.name != "postgresql":
        return False
    db.session.execute(
        sa.select(sa.func.pg_advisory_xact_lock(FIGURES_LOCK, sa.func.hashtext(key)))
    )
    return True


def filters_key(filters: Filters) -> str:
    """The filters, normalised: those set, by name, in a fixed order."""
    return ";".join(
        f"{f.name}={value}"
        for f in fields(filters)
        if (value := getattr(filters, f.name)) is not None
    )


# The generation and, when they are current, the figures stored for these filters and this day.
_STORED = (
    sa.select(RegistryGeneration.value.label("generation"), RegistryFigures.figures)
    .outerjoin(
        RegistryFigures,
        sa.and_(
            RegistryFigures.filters_key == sa.bindparam("key"),
            RegistryFigures.generation == RegistryGeneration.value,
            RegistryFigures.day == sa.bindparam("day"),
        ),
    )
    .where(RegistryGeneration.id == 1)
)


def _store(key: str, generation: int, day: date, aggregates: str) -> None:
    """Store the figures, unless another view stored some for a later generation meanwhile
    (two views computing the same figures at once: the second waits, then replaces or keeps)."""
    dialect = db.session.get_bind().dialect.name
    insert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(RegistryFigures)
    statement = insert.values(filters_key=key, generation=generation, day=day, figures=aggregates)
    db.session.execute(
        statement.on_conflict_do_update(
            index_elements=[RegistryFigures.filters_key],
            set_={
                "generation": statement.excluded.generation,
                "day": statement.excluded.day,
                "figures": statement.excluded.figures,
            },
            where=RegistryFigures.generation <= statement.excluded.generation,
        )
    )


class _Group(NamedTuple):
    """One group of answers (_timepoint_query's row), as stored."""

    code: str
    label: str
    kind: int
    order_key: int
    answers: int
    opened: int
    total: str | None
    total_sq: str | None


def _text(value) -> str | None:
    return None if value is None else str(value)


def _group(r) -> list:
    """A row of _timepoint_query as stored (the sums as exact decimal text)."""
    return [r.code, r.label, int(r.kind), int(r.order_key), int(r.answers), int(r.opened),
            _text(r.total), _text(r.total_sq)]  # fmt: skip


def _aggregates(filters: Filters, today: date) -> dict:
    """The four aggregate queries' rows, as plain values (JSON: sums as exact decimal text)."""
    cycles = stored_cohort(filters)
    rc = RegistryCycle
    size = db.session.execute(
        _in_cohort(
            sa.select(
                sa.func.count(),
                sa.func.count(sa.distinct(rc.patient_id)),
                sa.func.count(sa.case((rc.surgery.is_(True), 1))),
            ),
            cycles,
            rc.cycle_id,
        )
    ).one()
    groups = [
        _group(r) for r in db.session.execute(_timepoint_query(cycles, filters.instrument, today))
    ]
    patients = [
        [label, int(n)]
        for label, n in db.session.execute(_patients_query(cycles, filters.instrument, today))
    ]
    events = [
        [int(grade), procedure.value, product.value, int(count), int(serious or 0)]
        for grade, procedure, product, count, serious in db.session.execute(_events_query(cycles))
    ]
    return dict(size=[int(v) for v in size], groups=groups, patients=patients, events=events)


def _figures(filters: Filters, aggregates: dict) -> Figures:
    """The figures from the aggregates' rows (stored or just computed)."""
    min_cell = int(current_app.config.get("REGISTRY_MIN_CELL", 5))
    tallies = _tally(_Group(*row) for row in aggregates["groups"])
    for label, patients in aggregates["patients"]:
        tallies[(filters.instrument, label)].patients = patients
    rows = {label: t for (code, label), t in tallies.items() if code == filters.instrument}
    pgic = {label: t for (code, label), t in tallies.items() if code == "pgic"}
    timepoints = [_row(label, row, pgic.get(label), min_cell) for label, row in rows.items()]
    timepoints.sort(key=lambda t: t.due_days)
    cycles, patients, surgery = aggregates["size"]
    result = Figures(filters, min_cell, cycles, patients, timepoints, surgery=surgery)
    result.surgery_suppressed = stats.suppressed(patients, min_cell) or stats.suppressed(
        surgery, min_cell
    )
    _events(result, aggregates["events"])
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


def _events_query(cycles: sa.Select | None) -> sa.Select:
    """Adverse events counted by grade and both relatedness judgements (and how many serious)."""
    query = (
        sa.select(
            AdverseEvent.grade,
            AdverseEvent.related_procedure,
            AdverseEvent.related_product,
            sa.func.count(AdverseEvent.id),
            sa.func.sum(sa.case((AdverseEvent.serious.is_(True), 1), else_=0)),
        )
        .join(RegistryCycle, RegistryCycle.cycle_id == AdverseEvent.cycle_id)
        .group_by(AdverseEvent.grade, AdverseEvent.related_procedure, AdverseEvent.related_product)
    )
    return _in_cohort(query, cycles, AdverseEvent.cycle_id)


def _events(result: Figures, rows) -> None:
    """Adverse events by grade and by the stronger of the two relatedness judgements."""
    table: dict[int, dict[str, int]] = {g: dict.fromkeys(RELATEDNESS_ORDER, 0) for g in range(1, 6)}
    for grade, procedure, product, count, serious in rows:
        strongest = max(procedure, product, key=RELATEDNESS_ORDER.index)
        table[grade][strongest] += count
        result.serious_events += serious
    result.events = table


def dose_from_sites(product_platelets: Decimal | None, volumes: list[Decimal]) -> Decimal | None:
    """Platelets injected (billions) from the product count and the sites' volumes."""
    if product_platelets is None or not volumes:
        return None
    return (Decimal(product_platelets) * sum(volumes, Decimal(0)) / 1000).quantize(Decimal("0.01"))
