"""Registry CSV exports (one row per treated cycle × follow-up timepoint), identified or
de-identified, and a patient's outcome table. Columns are documented in
docs/registry-data-dictionary.md; change both together."""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
from collections.abc import Iterable, Iterator
from datetime import date, datetime, timedelta
from decimal import Decimal

import sqlalchemy as sa
from flask import current_app

from clinic.extensions import db
from clinic.journeys import models as m
from clinic.outcomes import services
from clinic.outcomes.adverse_models import AdverseEvent
from clinic.outcomes.cohort import Filters, cohort
from clinic.outcomes.models import BASELINE, QuestionnaireResponse, ResponseStatus
from clinic.outcomes.registry import stored_cohort
from clinic.outcomes.registry_models import RegistryCycle
from clinic.outcomes.registry_store import refresh_pending
from clinic.patients.models import Patient
from clinic.timeutil import to_clinic

CODES = ("nrs_pain", "nrs_radiating", "odi", "ndi", "pgic")
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

COLUMNS = [
    "patient", "journey", "cycle", "therapy", "region", "provider_id", "injection_date",
    "injected_ml", "paw_class", "platelet_dose_billions", "dose_band", "timepoint", "due_date",
    "follow_up_status", "loss_reason", "pain_medicine", "opioid_mme_per_day", "work_status",
    "later_procedure", "later_procedure_date",
    *(f"{c}_{part}" for c in CODES if c != "pgic" for part in ("baseline", "score", "in_window")),
    "pgic_score", "pgic_in_window", "adverse_events", "serious_adverse_events",
]  # fmt: skip
# the follow-up's columns each line carries (read as columns: no ORM object per line)
FOLLOW_UP_FIELDS = (
    "label", "due_on", "status", "loss_reason", "pain_medicine", "opioid_mme_per_day",
    "work_status", "later_procedure", "later_procedure_on",
)  # fmt: skip


def safe_cell(value: object) -> object:
    """Text a spreadsheet would run as a formula gets a leading apostrophe; numbers stay."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def csv_line(values: Iterable[object]) -> str:
    return csv_lines([values])


def csv_lines(rows: Iterable[Iterable[object]]) -> str:
    """Many CSV lines as one text (one writer for all of them)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    for values in rows:
        writer.writerow(["" if v is None else safe_cell(v) for v in values])
    return buffer.getvalue()


def shift_days(patient_id: int, key: bytes | None = None) -> int:
    """A stable per-patient offset (−182…+182 days, never 0) from a secret key."""
    digest = hmac.new(key or _key(), f"shift:{patient_id}".encode(), hashlib.sha256).digest()
    offset = int.from_bytes(digest[:4], "big") % 364 - 182
    return offset or 182


def _key() -> bytes:
    return (
        current_app.config.get("REGISTRY_SHIFT_KEY") or current_app.config["SECRET_KEY"]
    ).encode()


def subject_code(patient_id: int, key: bytes | None = None) -> str:
    """A pseudonymous subject code: the same patient always gets the same code."""
    digest = hmac.new(key or _key(), f"subject:{patient_id}".encode(), hashlib.sha256)
    return "S" + digest.hexdigest()[:12]


def _pivot(key_column, where, name: str) -> sa.Subquery:
    r = QuestionnaireResponse
    cols = [key_column.label("key")]
    for code in CODES:
        is_code = r.instrument_code == code
        cols.append(sa.func.max(sa.case((is_code, r.score))).label(f"{code}_score"))
        cols.append(
            sa.func.max(sa.case((is_code, sa.case((r.in_window.is_(True), 1), else_=0)))).label(
                f"{code}_in_window"
            )
        )
    return (
        sa.select(*cols)
        .where(r.status == ResponseStatus.COMPLETED, where)
        .group_by(key_column)
        .subquery(name)
    )


def registry_query(filters: Filters, cycle_ids: list[int] | None = None) -> sa.Select:
    """Cohort cycles × their follow-ups, with scores pivoted per instrument (one statement);
    with `cycle_ids`, only those cycles, every part of the query narrowed to them."""
    cycles = cohort(filters)
    r = QuestionnaireResponse
    at_where: sa.ColumnElement[bool] = r.follow_up_id.is_not(None)
    base_where: sa.ColumnElement[bool] = sa.and_(r.timepoint == BASELINE, r.in_window.is_(True))
    events_where: sa.ColumnElement[bool] = sa.true()
    if cycle_ids is not None:
        # a follow-up's answers carry its cycle (CHECK follow_up_in_cycle): read by cycle id
        at_where = sa.and_(at_where, r.cycle_id.in_(cycle_ids))
        base_where = sa.and_(base_where, r.cycle_id.in_(cycle_ids))
        events_where = AdverseEvent.cycle_id.in_(cycle_ids)
    at = _pivot(r.follow_up_id, at_where, "at_timepoint")
    base = _pivot(r.cycle_id, base_where, "base")
    events = (
        sa.select(
            AdverseEvent.cycle_id.label("cycle_id"),
            sa.func.count(AdverseEvent.id).label("events"),
            sa.func.sum(sa.case((AdverseEvent.serious.is_(True), 1), else_=0)).label("serious"),
        )
        .where(events_where)
        .group_by(AdverseEvent.cycle_id)
        .subquery("events")
    )
    neck = sa.exists().where(
        m.TargetSite.journey_id == cycles.c.journey_id, m.TargetSite.level.like("C%")
    )
    query = (
        sa.select(
            cycles,
            sa.case((neck, "cervical"), else_="lumbar").label("region"),
            *(getattr(m.FollowUp, name).label(f"fu_{name}") for name in FOLLOW_UP_FIELDS),
            Patient.mrn,
            *(c for c in at.c if c.name != "key"),
            *(c.label(f"base_{c.name}") for c in base.c if c.name != "key"),
            events.c.events,
            events.c.serious,
        )
        .join(m.FollowUp, m.FollowUp.cycle_id == cycles.c.cycle_id)
        .join(Patient, Patient.id == cycles.c.patient_id)
        .outerjoin(at, at.c.key == m.FollowUp.id)
        .outerjoin(base, base.c.key == cycles.c.cycle_id)
        .outerjoin(events, events.c.cycle_id == cycles.c.cycle_id)
        .where(m.FollowUp.status != "cancelled")
        .order_by(cycles.c.patient_id, cycles.c.cycle_id, m.FollowUp.due_on)
    )
    if cycle_ids is not None:
        query = query.where(cycles.c.cycle_id.in_(cycle_ids))
    return query


EXPORT_CHUNK = 300  # cycles per statement: the first rows stream while the rest are read


def _value(x: object) -> object:
    if isinstance(x, Decimal):
        return format(x.normalize(), "f") if x == x.to_integral() else str(x)
    return getattr(x, "value", x)


def _flag(value: int | None) -> str | None:
    return None if value is None else ("yes" if value else "no")


def registry_rows(filters: Filters, *, deidentified: bool) -> Iterator[str]:
    """CSV text: the header, then the lines of EXPORT_CHUNK cycles at a time (one line per
    cycle × timepoint). The cohort's cycles are listed first from the registry's stored rows
    (an index read), then read from the records chunk by chunk, so the first lines go out
    after two small queries rather than after the whole cohort is joined and sorted, and the
    work grows in step with the cohort."""
    yield csv_line(COLUMNS)
    keys = db.session.scalars(cohort_keys(filters)).all()
    values = RegistryValues(deidentified)
    for start in range(0, len(keys), EXPORT_CHUNK):
        chunk = list(keys[start : start + EXPORT_CHUNK])
        rows = db.session.execute(registry_query(filters, chunk))
        yield csv_lines(values(row._mapping) for row in rows)


def cohort_keys(filters: Filters) -> sa.Select:
    """The cohort's cycle ids in the export's order, from the stored registry rows (equal to
    the records: registry_store), with this transaction's own changes stored first."""
    refresh_pending()
    rc = RegistryCycle
    query = sa.select(rc.cycle_id).order_by(rc.patient_id, rc.cycle_id)
    cycles = stored_cohort(filters)
    return query if cycles is None else query.where(rc.cycle_id.in_(cycles))


class RegistryValues:
    """One export line's values from a row of registry_query (identified or de-identified)."""

    def __init__(self, deidentified: bool) -> None:
        self.deidentified = deidentified
        self.key = _key() if deidentified else b""

    def day(self, value: date | datetime | None, patient_id: int) -> str | None:
        if value is None:
            return None
        if isinstance(value, datetime):
            value = to_clinic(value).date()
        if self.deidentified:
            value = value + timedelta(days=shift_days(patient_id, self.key))
        return value.isoformat()

    def __call__(self, row) -> list[object]:
        patient_id = row["patient_id"]
        day = self.day
        values: list[object] = [
            subject_code(patient_id, self.key) if self.deidentified else row["mrn"],
            row["journey_id"],
            row["cycle_number"],
            _value(row["therapy"]),
            row["region"],
            row["provider_id"],
            day(row["injected_at"], patient_id),
            _value(row["injected_ml"]),
            row["paw_class"],
            _value(_round(row["dose_billions"])),
            row["dose_band"],
            row["fu_label"],
            day(row["fu_due_on"], patient_id),
            row["fu_status"].value,
            _value(row["fu_loss_reason"]),
            _value(row["fu_pain_medicine"]),
            _value(row["fu_opioid_mme_per_day"]),
            _value(row["fu_work_status"]),
            _value(row["fu_later_procedure"]),
            day(row["fu_later_procedure_on"], patient_id),
        ]
        for code in CODES:
            if code == "pgic":
                continue
            values += [
                _value(row[f"base_{code}_score"]),
                _value(row[f"{code}_score"]),
                _flag(row[f"{code}_in_window"]),
            ]
        values += [
            _value(row["pgic_score"]),
            _flag(row["pgic_in_window"]),
            row["events"] or 0,
            int(row["serious"] or 0),
        ]
        return values


def _round(value: object) -> Decimal | None:
    if value is None:
        return None
    return Decimal(str(value)).quantize(Decimal("0.01"))


PATIENT_COLUMNS = [
    "questionnaire", "timepoint", "cycle", "opened", "due", "status", "answered_on",
    "in_window", "score", "change_from_cycle_baseline", "clinically_important",
]  # fmt: skip


def patient_rows(patient: Patient) -> Iterator[str]:
    """The patient's outcome table: every questionnaire, its score and change from baseline."""

    responses = services.responses_for(patient)
    progress = {p.instrument.code: p for p in services.progress(responses)}
    cycle_numbers: dict[int | None, int] = {
        cycle_id: number
        for cycle_id, number in db.session.execute(
            sa.select(m.Cycle.id, m.Cycle.number)
            .join(m.Journey)
            .where(m.Journey.patient_id == patient.id)
        )
    }
    yield csv_line(PATIENT_COLUMNS)
    for response in sorted(responses, key=lambda r: (r.available_from, r.id)):
        instrument = services.instrument_of(response)
        change = _change_of(response, progress.get(response.instrument_code))
        yield csv_line(
            [
                instrument.short_name,
                response.timepoint,
                cycle_numbers.get(response.cycle_id),
                response.available_from.isoformat(),
                response.due_by.isoformat() if response.due_by else None,
                response.status.value,
                to_clinic(response.completed_at).date().isoformat()
                if response.completed_at
                else None,
                _flag(None if response.in_window is None else int(response.in_window)),
                _value(response.score),
                _value(change.improvement) if change else None,
                _flag(int(change.important)) if change else None,
            ]
        )


def _change_of(response: QuestionnaireResponse, progress):
    if progress is None or response.completed_at is None:
        return None
    day = to_clinic(response.completed_at).date()
    for point in progress.points:
        if point.timepoint == response.timepoint and point.completed_on == day:
            return point.change
    return None
