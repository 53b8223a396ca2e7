"""Adverse events: the term list, reporting and review by staff, and patients' concerns."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path
from typing import NamedTuple

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import joinedload

from clinic.auth.models import Role, User
from clinic.errors import Refused, StaleWrite
from clinic.extensions import db
from clinic.journeys.models import Journey
from clinic.models import audit
from clinic.models.base import utcnow
from clinic.outcomes.adverse_models import (
    SERIOUS_CRITERIA,
    ActionTaken,
    AdverseEvent,
    ConcernStatus,
    EventOutcome,
    PatientConcern,
    Relatedness,
)
from clinic.patients.models import Patient
from clinic.timeutil import clinic_today

SHIPPED_TERMS = Path(__file__).resolve().parent / "data" / "adverse_terms.json"


@dataclass(frozen=True)
class Term:
    code: str
    term: str
    maps_to: str


@dataclass(frozen=True)
class TermList:
    terminology: str
    grades: dict[int, str]
    terms: tuple[Term, ...]

    def get(self, code: str) -> Term | None:
        return next((t for t in self.terms if t.code == code), None)


def parse_terms(data: dict) -> TermList:
    """A term list from its JSON form; raises ValueError when it is unusable."""
    grades = {int(k): str(v) for k, v in data.get("grades", {}).items()}
    if sorted(grades) != [1, 2, 3, 4, 5]:
        raise ValueError("an adverse event list describes grades 1 to 5")
    terms = tuple(
        Term(str(t["code"])[:40], str(t["term"])[:200], str(t.get("maps_to", ""))[:200])
        for t in data.get("terms", [])
    )
    if not terms or len({t.code for t in terms}) != len(terms):
        raise ValueError("an adverse event list needs terms with distinct codes")
    return TermList(str(data["terminology"])[:60], grades, terms)


def term_list() -> TermList:
    """The clinic's own list (ADVERSE_TERMS_FILE) when configured, else the shipped one."""
    path = current_app.config.get("ADVERSE_TERMS_FILE") or SHIPPED_TERMS
    cache = current_app.extensions.setdefault("adverse_terms", {})
    if path not in cache:
        cache[path] = parse_terms(json.loads(Path(path).read_text(encoding="utf-8")))
    return cache[path]


def _check(values: dict, journey) -> TermList:
    terms = term_list()
    if terms.get(values.get("term_code") or "") is None:
        raise Refused("Choose the event from the list.", field="term_code")
    if values.get("term_code") == "other" and not (values.get("description") or "").strip():
        raise Refused("Describe the event.", field="description")
    if values.get("grade") not in (1, 2, 3, 4, 5):
        raise Refused("Choose a grade from 1 to 5.", field="grade")
    onset, resolved = values.get("onset_on"), values.get("resolved_on")
    if onset is None or onset > clinic_today():
        raise Refused("Give the day it started (not in the future).", field="onset_on")
    if resolved is not None and (resolved < onset or resolved > clinic_today()):
        raise Refused("The end date is between the start and today.", field="resolved_on")
    if EventOutcome(values["outcome"]).ended and resolved is None:
        raise Refused("Give the day it ended.", field="resolved_on")
    if (values.get("grade") == 5) != bool(values.get("serious_death")):
        raise Refused("Grade 5 and 'resulted in death' go together.", field="grade")
    cycle_id = values.get("cycle_id")
    if cycle_id is not None and cycle_id not in {c.id for c in journey.cycles}:
        raise Refused("Choose a treatment cycle of this journey.", field="cycle_id")
    return terms


def _apply(event: AdverseEvent, values: dict, terms: TermList) -> None:
    term = terms.get(values["term_code"])
    assert term is not None
    if event.term_code != term.code:
        event.term_code, event.term_label, event.terminology = (
            term.code,
            term.term,
            terms.terminology,
        )
    event.cycle_id = values.get("cycle_id")
    event.description = (values.get("description") or "").strip() or None
    event.onset_on, event.resolved_on = values["onset_on"], values.get("resolved_on")
    event.grade = values["grade"]
    for name, _label in SERIOUS_CRITERIA:
        setattr(event, name, bool(values.get(name)))
    event.serious = any(bool(values.get(name)) for name, _label in SERIOUS_CRITERIA)
    event.related_procedure = Relatedness(values["related_procedure"])
    event.related_product = Relatedness(values["related_product"])
    event.action_taken = ActionTaken(values["action_taken"])
    event.outcome = EventOutcome(values["outcome"])


def report_event(
    journey,
    values: dict,
    by: User,
    concern: PatientConcern | None = None,
) -> AdverseEvent:
    """Record an adverse event of the journey's patient (from a patient's concern, if given)."""
    if by.role not in (Role.PROVIDER, Role.CLINICAL_STAFF):
        raise Refused("Only the clinical team records adverse events.")
    if concern is not None and (
        concern.patient_id != journey.patient_id or concern.status is not ConcernStatus.OPEN
    ):
        raise Refused("That concern is not open for this patient.")
    terms = _check(values, journey)
    event = AdverseEvent(
        patient_id=journey.patient_id, journey_id=journey.id, reported_by_id=by.id, term_code=""
    )
    _apply(event, values, terms)
    db.session.add(event)
    db.session.flush()
    audit.record(
        "adverse_event.reported",
        actor=by,
        obj=event,
        patient_id=event.patient_id,
        detail=f"{event.term_code} grade {event.grade}{' serious' if event.serious else ''}",
    )
    if concern is not None:
        concern.status = ConcernStatus.RECORDED
        concern.adverse_event_id = event.id
        concern.triaged_at = utcnow()
        concern.triaged_by_id = by.id
        db.session.flush()
        audit.record(
            "concern.recorded_as_event", actor=by, obj=concern, patient_id=concern.patient_id
        )
    return event


def update_event(event: AdverseEvent, values: dict, by: User, version: int) -> None:
    """Later facts (resolution, outcome, a regrade); a changed serious event needs review again."""
    if by.role not in (Role.PROVIDER, Role.CLINICAL_STAFF):
        raise Refused("Only the clinical team records adverse events.")
    if version != event.version:
        raise StaleWrite()

    terms = _check(values, db.session.get(Journey, event.journey_id))
    was_serious = event.serious
    _apply(event, values, terms)
    if event.serious and not was_serious:
        event.reviewed_at = event.reviewed_by_id = None
    db.session.flush()
    audit.record("adverse_event.updated", actor=by, obj=event, patient_id=event.patient_id)


def review_event(event: AdverseEvent, by: User, version: int) -> None:
    """A provider has looked at a serious event; it leaves the worklist's highlight."""
    if by.role is not Role.PROVIDER:
        raise Refused("A provider reviews serious adverse events.")
    if version != event.version:
        raise StaleWrite()
    if event.reviewed_at is not None:
        raise Refused("This event was already reviewed.")
    event.reviewed_at, event.reviewed_by_id = utcnow(), by.id
    db.session.flush()
    audit.record("adverse_event.reviewed", actor=by, obj=event, patient_id=event.patient_id)


def raise_concern(patient: Patient, body: str, started_on: date | None, by: User) -> PatientConcern:
    """A patient tells the clinic that something worries them; staff triage it."""
    text = (body or "").strip()
    if not text:
        raise Refused("Tell us what worries you.", field="body")
    if started_on is not None and started_on > clinic_today():
        raise Refused("The day it started cannot be in the future.", field="started_on")

    journey_id = db.session.scalar(
        sa.select(Journey.id)
        .where(Journey.patient_id == patient.id)
        .order_by(Journey.id.desc())
        .limit(1)
    )
    concern = PatientConcern(
        patient_id=patient.id, journey_id=journey_id, body=text, started_on=started_on
    )
    db.session.add(concern)
    db.session.flush()
    audit.record("concern.raised", actor=by, obj=concern, patient_id=patient.id)
    return concern


def dismiss_concern(concern: PatientConcern, reason: str, by: User) -> None:
    """Staff judged the concern not to be an adverse event, and say why."""
    if by.role not in (Role.PROVIDER, Role.CLINICAL_STAFF):
        raise Refused("Only the clinical team triages concerns.")
    if concern.status is not ConcernStatus.OPEN:
        raise Refused("This concern was already dealt with.")
    if not (reason or "").strip():
        raise Refused("Say why it is not an adverse event.", field="reason")
    concern.status = ConcernStatus.DISMISSED
    concern.dismiss_reason = reason.strip()[:300]
    concern.triaged_at, concern.triaged_by_id = utcnow(), by.id
    db.session.flush()
    audit.record("concern.dismissed", actor=by, obj=concern, patient_id=concern.patient_id)


def serious_awaiting_review(limit: int = 50) -> list[AdverseEvent]:
    """Serious events nobody has reviewed yet, oldest first."""
    return list(
        db.session.scalars(
            sa.select(AdverseEvent)
            .options(joinedload(AdverseEvent.patient))
            .where(AdverseEvent.serious.is_(True), AdverseEvent.reviewed_at.is_(None))
            .order_by(AdverseEvent.reported_at, AdverseEvent.id)
            .limit(limit)
        )
    )


class SeriousAlert(NamedTuple):
    """A serious event awaiting review, as the worklist's banner names it."""

    id: int
    term_label: str
    family_name: str
    given_name: str

    @property
    def patient_name(self) -> str:
        """As `Patient.display_name` writes it: family name first."""
        return f"{self.family_name}, {self.given_name}"


class SafetyAlerts(NamedTuple):
    """The worklist's safety banner: serious events awaiting review, open concerns' count."""

    serious: list[SeriousAlert]
    concerns: int


def safety_alerts(serious_limit: int = 50, concern_limit: int = 100) -> SafetyAlerts:
    """The worklist's safety banner in one statement: `serious_awaiting_review`'s events as it
    names them (the event, its term and the patient's name, not the event and patient records)
    and how many concerns `open_concerns` lists (it stops at `concern_limit`)."""
    rows = db.session.execute(_alerts_statement(serious_limit, concern_limit)).all()
    serious = [SeriousAlert(*row[1:]) for row in rows if row[1] is not None]
    return SafetyAlerts(serious, rows[0][0] or 0)


@cache
def _alerts_statement(serious_limit: int, concern_limit: int) -> sa.Select:
    """`safety_alerts`' statement, built once (its cache key too: the worklist runs it on every
    view): the concerns' count on every row, the serious events outer-joined to one row so
    that the count comes back when there are none."""
    serious = (
        sa.select(
            AdverseEvent.id,
            AdverseEvent.term_label,
            Patient.family_name,
            Patient.given_name,
            AdverseEvent.reported_at,
        )
        .join(Patient, Patient.id == AdverseEvent.patient_id)
        .where(AdverseEvent.serious.is_(True), AdverseEvent.reviewed_at.is_(None))
        .order_by(AdverseEvent.reported_at, AdverseEvent.id)
        .limit(serious_limit)
        .subquery("serious")
    )
    listed = (
        sa.select(PatientConcern.id)
        .where(PatientConcern.status == ConcernStatus.OPEN)
        .limit(concern_limit)
        .subquery("listed")
    )
    concerns = sa.select(sa.func.count()).select_from(listed).scalar_subquery()
    one = sa.select(sa.literal(1).label("one")).subquery("one")
    return (
        sa.select(
            concerns,
            serious.c.id,
            serious.c.term_label,
            serious.c.family_name,
            serious.c.given_name,
        )
        .select_from(one.outerjoin(serious, sa.true()))
        .order_by(serious.c.reported_at, serious.c.id)
    )


def open_concerns(limit: int = 100) -> list[PatientConcern]:
    return list(
        db.session.scalars(
            sa.select(PatientConcern)
            .options(joinedload(PatientConcern.patient))
            .where(PatientConcern.status == ConcernStatus.OPEN)
            .order_by(PatientConcern.raised_at, PatientConcern.id)
            .limit(limit)
        )
    )


def events_of(patient: Patient) -> list[AdverseEvent]:
    return list(
        db.session.scalars(
            sa.select(AdverseEvent)
            .where(AdverseEvent.patient_id == patient.id)
            .order_by(AdverseEvent.onset_on.desc(), AdverseEvent.id.desc())
        )
    )


def concerns_of(patient: Patient) -> list[PatientConcern]:
    return list(
        db.session.scalars(
            sa.select(PatientConcern)
            .where(PatientConcern.patient_id == patient.id)
            .order_by(PatientConcern.raised_at.desc())
        )
    )
