"""Patient safety data (allergies, blood thinners and NSAIDs) and the day-of-procedure screen:
washout by procedure risk, infection, pregnancy, consent, measured values, and absolute
contraindications carried from earlier journeys."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import NamedTuple

import sqlalchemy as sa
from flask import current_app

from clinic.auth.models import Role, User
from clinic.errors import NO_PAGE, NoPage, Refused, StaleWrite
from clinic.extensions import db
from clinic.journeys import models as m
from clinic.journeys.models.catalog import ContraindicationKind
from clinic.journeys.models.records import Decision, evaluation_contraindication
from clinic.journeys.models.screening import ProcedureRisk, ScreenOutcome
from clinic.journeys.services import (
    journeys as journey_services,
)  # a module: they import each other
from clinic.journeys.states import JourneyStatus, StageKind, StageStatus, Therapy
from clinic.models import audit
from clinic.models.base import utcnow
from clinic.patients.models import AntithromboticDrug, Patient, PatientAllergy, PatientMedicine

CONSENT_VALID_DAYS = 180  # default; a clinic sets CONSENT_VALID_DAYS
STRUCTURE_RISK = {
    "disc": ProcedureRisk.HIGH,  # intradiscal (and epidural routes) are high risk
    "facet": ProcedureRisk.INTERMEDIATE,
    "si_joint": ProcedureRisk.LOW,
    "ligament": ProcedureRisk.LOW,
    "muscle_tendon": ProcedureRisk.LOW,
}
OPEN = (JourneyStatus.EVALUATING, JourneyStatus.IN_TREATMENT, JourneyStatus.FOLLOW_UP)
RISK_ORDER = [ProcedureRisk.LOW, ProcedureRisk.INTERMEDIATE, ProcedureRisk.HIGH]


# Patient safety data -------------------------------------------------------------------------


def allergies(patient: Patient) -> list[PatientAllergy]:
    return list(
        db.session.scalars(
            sa.select(PatientAllergy)
            .where(PatientAllergy.patient_id == patient.id, PatientAllergy.removed_at.is_(None))
            .order_by(PatientAllergy.id)
        )
    )


def medicines(patient: Patient) -> list[PatientMedicine]:
    return list(
        db.session.scalars(
            sa.select(PatientMedicine)
            .where(PatientMedicine.patient_id == patient.id, PatientMedicine.stopped_at.is_(None))
            .order_by(PatientMedicine.id)
        )
    )


def safety_lists_stamp(patient: Patient) -> str:
    """Which allergies and medicines a page showed ("a1,4;m3"): a screen that confirms them
    with the patient stands on this list, not on one changed since."""
    allergy_ids = ",".join(str(a.id) for a in allergies(patient))
    medicine_ids = ",".join(str(x.id) for x in medicines(patient))
    return f"a{allergy_ids};m{medicine_ids}"


def _clinical(by: User) -> None:
    if by.role not in (Role.PROVIDER, Role.CLINICAL_STAFF):
        raise Refused("Only the clinical team records allergies and medicines.")


def add_allergy(patient: Patient, substance: str, reaction: str, by: User) -> PatientAllergy:
    _clinical(by)
    if not substance.strip():
        raise Refused("Name what the patient is allergic to.", field="substance")
    if not reaction.strip():
        raise Refused("Describe the reaction.", field="reaction")
    allergy = PatientAllergy(
        patient_id=patient.id,
        substance=substance.strip()[:120],
        reaction=reaction.strip()[:200],
        recorded_by_id=by.id,
    )
    db.session.add(allergy)
    db.session.flush()
    audit.record("allergy.recorded", actor=by, obj=allergy, patient_id=patient.id)
    return allergy


def remove_allergy(allergy: PatientAllergy, by: User) -> None:
    _clinical(by)
    allergy.removed_at = utcnow()
    allergy.removed_by_id = by.id
    db.session.flush()
    audit.record("allergy.removed", actor=by, obj=allergy, patient_id=allergy.patient_id)


def add_medicine(
    patient: Patient,
    drug: AntithromboticDrug,
    name: str,
    last_dose_at: datetime | None,
    by: User,
) -> PatientMedicine:
    _clinical(by)
    if last_dose_at is not None and last_dose_at > utcnow() + timedelta(minutes=10):
        raise Refused("The last dose cannot be in the future.", field="last_dose_at")
    medicine = PatientMedicine(
        patient_id=patient.id,
        drug=drug,
        name=(name or "").strip()[:120] or drug.label,
        last_dose_at=last_dose_at,
        recorded_by_id=by.id,
    )
    db.session.add(medicine)
    db.session.flush()
    audit.record("medicine.recorded", actor=by, obj=medicine, patient_id=patient.id)
    return medicine


def stop_medicine(medicine: PatientMedicine, by: User) -> None:
    _clinical(by)
    medicine.stopped_at = utcnow()
    medicine.stopped_by_id = by.id
    db.session.flush()
    audit.record("medicine.stopped", actor=by, obj=medicine, patient_id=medicine.patient_id)


# Earlier absolute contraindications ----------------------------------------------------------


@dataclass
class EarlierAbsolute:
    journey: m.Journey
    labels: list[str]
    review: m.ContraindicationReview | None


def _contraindications_by_journey(
    patient: Patient, kind: ContraindicationKind, statuses: tuple[JourneyStatus, ...]
) -> dict[int, list[str]]:
    """Labels of this kind recorded at the live evaluation of each journey (one query)."""
    rows = db.session.execute(
        _contraindication_rows(patient).where(
            m.Journey.status.in_(statuses), m.Contraindication.kind == kind
        )
    )
    found: dict[int, list[str]] = {}
    for journey_id, label, _kind in rows:
        found.setdefault(journey_id, []).append(label)
    return found


def _contraindication_rows(patient: Patient) -> sa.Select:
    """(journey, label, kind) of contraindications recorded at each live evaluation."""
    return _contraindication_rows_of(patient.id)


def _contraindication_rows_of(patient_id: int | sa.BindParameter[int]) -> sa.Select:
    return (
        sa.select(m.Journey.id, m.Contraindication.label, m.Contraindication.kind)
        .join(m.Stage, m.Stage.journey_id == m.Journey.id)
        .join(evaluation_contraindication, evaluation_contraindication.c.stage_id == m.Stage.id)
        .join(
            m.Contraindication,
            m.Contraindication.id == evaluation_contraindication.c.contraindication_id,
        )
        .where(
            m.Journey.patient_id == patient_id,
            m.Stage.kind == StageKind.EVALUATION,
            m.Stage.status.not_in((StageStatus.CANCELLED, StageStatus.VOIDED)),
        )
        .order_by(m.Journey.id, m.Contraindication.position)
    )


def relative_labels(patient: Patient) -> list[str]:
    """Relative contraindications recorded in the patient's open journeys."""
    by_journey = _contraindications_by_journey(patient, ContraindicationKind.RELATIVE, OPEN)
    return _labels(by_journey)


def _labels(by_journey: dict[int, list[str]]) -> list[str]:
    return sorted({label for labels in by_journey.values() for label in labels})


# What the banner alerts on: relative contraindications of open journeys, and the absolute ones
# that ended an earlier journey (not a candidate).
_BANNER_CONTRAINDICATIONS = sa.or_(
    sa.and_(
        m.Contraindication.kind == ContraindicationKind.RELATIVE,
        m.Journey.status.in_(OPEN),
    ),
    sa.and_(
        m.Contraindication.kind == ContraindicationKind.ABSOLUTE,
        m.Journey.status == JourneyStatus.NOT_CANDIDATE,
    ),
)


def contraindication_alerts(patient: Patient) -> tuple[list[EarlierAbsolute], list[str]]:
    """`earlier_absolutes` and `relative_labels` for the banner, read in one statement."""
    relative: dict[int, list[str]] = {}
    absolute: dict[int, list[str]] = {}
    rows = db.session.execute(_contraindication_rows(patient).where(_BANNER_CONTRAINDICATIONS))
    for journey_id, label, kind in rows:
        found = relative if kind is ContraindicationKind.RELATIVE else absolute
        found.setdefault(journey_id, []).append(label)
    return _with_reviews(absolute), _labels(relative)


class AllergyLine(NamedTuple):
    """A current allergy as the banner and the safety panel show it."""

    id: int
    substance: str
    reaction: str


class MedicineLine(NamedTuple):
    """A current blood thinner or NSAID as the banner and the safety panel show it."""

    id: int
    drug: AntithromboticDrug
    name: str
    last_dose_at: datetime | None


@dataclass
class SafetyFacts:
    """What the patient banner draws from the database, read in one statement."""

    allergies: list[AllergyLine]
    medicines: list[MedicineLine]
    earlier: list[EarlierAbsolute]  # absolute contraindications that ended a journey
    relative: list[str]  # relative contraindications of open journeys
    screens: list[ScreenOutcome]  # open screens' outcomes, oldest first


_ALLERGY, _MEDICINE, _CONTRAINDICATION, _SCREEN = range(4)


@functools.cache
def _safety_statement() -> sa.CompoundSelect:
    """Current allergies and medicines, the banner's contraindications and the open screens of
    journeys in treatment, as (part, id, a, b, at, position) rows of one UNION ALL (each part
    is the query the banner ran on its own; rows are put in order in Python). Built once and
    run with the patient's id: building it and working out its cache key cost more than the
    database took to answer."""
    patient_id = sa.bindparam("safety_patient", type_=sa.Integer)
    text, null = sa.String(), sa.null()
    allergies = sa.select(
        sa.literal(_ALLERGY, sa.Integer).label("part"),
        PatientAllergy.id,
        sa.cast(PatientAllergy.substance, text).label("a"),
        sa.cast(PatientAllergy.reaction, text).label("b"),
        sa.type_coerce(null, PatientMedicine.last_dose_at.type).label("at"),
        sa.cast(PatientAllergy.id, sa.Integer).label("position"),
    ).where(PatientAllergy.patient_id == patient_id, PatientAllergy.removed_at.is_(None))
    medicines = sa.select(
        sa.literal(_MEDICINE, sa.Integer),
        PatientMedicine.id,
        sa.cast(PatientMedicine.drug, text),
        sa.cast(PatientMedicine.name, text),
        PatientMedicine.last_dose_at,
        PatientMedicine.id,
    ).where(PatientMedicine.patient_id == patient_id, PatientMedicine.stopped_at.is_(None))
    contraindications = (
        _contraindication_rows_of(patient_id)
        .with_only_columns(
            sa.literal(_CONTRAINDICATION, sa.Integer),
            m.Journey.id,
            sa.cast(m.Contraindication.label, text),
            sa.cast(m.Contraindication.kind, text),
            null,
            m.Contraindication.position,
        )
        .order_by(None)
        .where(_BANNER_CONTRAINDICATIONS)
    )
    screens = (
        sa.select(
            sa.literal(_SCREEN, sa.Integer),
            m.DayOfScreen.id,
            sa.cast(m.DayOfScreen.outcome, text),
            null,
            null,
            m.DayOfScreen.id,
        )
        .join(m.Cycle, m.Cycle.id == m.DayOfScreen.cycle_id)
        .join(m.Journey, m.Journey.id == m.Cycle.journey_id)
        .where(
            m.Journey.patient_id == patient_id,
            m.Journey.status == JourneyStatus.IN_TREATMENT,
            m.DayOfScreen.outcome != ScreenOutcome.CLEARED,
        )
    )
    return sa.union_all(allergies, medicines, contraindications, screens)


def safety_facts(patient: Patient) -> SafetyFacts:
    """`allergies`, `medicines`, `contraindication_alerts` and `open_screens` as the banner
    shows them, in one statement."""
    rows = sorted(
        db.session.execute(_safety_statement(), {"safety_patient": patient.id}).all(),
        key=lambda row: (row.part, row.id, row.position),
    )
    facts = SafetyFacts([], [], [], [], [])
    relative: dict[int, list[str]] = {}
    absolute: dict[int, list[str]] = {}
    for part, row_id, a, b, at, _position in rows:
        if part == _ALLERGY:
            facts.allergies.append(AllergyLine(row_id, a, b))
        elif part == _MEDICINE:
            facts.medicines.append(MedicineLine(row_id, AntithromboticDrug(a), b, at))
        elif part == _CONTRAINDICATION:
            found = relative if b == ContraindicationKind.RELATIVE.value else absolute
            found.setdefault(row_id, []).append(a)
        else:
            facts.screens.append(ScreenOutcome(a))
    facts.earlier, facts.relative = _with_reviews(absolute), _labels(relative)
    return facts


def earlier_absolutes(patient: Patient) -> list[EarlierAbsolute]:
    """Absolute contraindications that ended an earlier journey, with their review."""
    by_journey = _contraindications_by_journey(
        patient, ContraindicationKind.ABSOLUTE, (JourneyStatus.NOT_CANDIDATE,)
    )
    return _with_reviews(by_journey)


def _with_reviews(by_journey: dict[int, list[str]]) -> list[EarlierAbsolute]:
    if not by_journey:
        return []
    journeys = db.session.scalars(sa.select(m.Journey).where(m.Journey.id.in_(by_journey)))
    reviews = {
        r.journey_id: r
        for r in db.session.scalars(
            sa.select(m.ContraindicationReview).where(
                m.ContraindicationReview.journey_id.in_(by_journey)
            )
        )
    }
    return [
        EarlierAbsolute(j, by_journey[j.id], reviews.get(j.id))
        for j in sorted(journeys, key=lambda j: j.id)
    ]


def open_screens(patient: Patient) -> list[m.DayOfScreen]:
    """Screens of the patient's journeys in treatment that are not simply cleared."""
    return list(
        db.session.scalars(
            sa.select(m.DayOfScreen)
            .join(m.Cycle, m.Cycle.id == m.DayOfScreen.cycle_id)
            .join(m.Journey, m.Journey.id == m.Cycle.journey_id)
            .where(
                m.Journey.patient_id == patient.id,
                m.Journey.status == JourneyStatus.IN_TREATMENT,
                m.DayOfScreen.outcome != ScreenOutcome.CLEARED,
            )
            .order_by(m.DayOfScreen.id)
        )
    )


def unreviewed_absolutes(patient: Patient) -> list[EarlierAbsolute]:
    return [e for e in earlier_absolutes(patient) if e.review is None]


def review_absolutes(journey: m.Journey, note: str, by: User) -> m.ContraindicationReview:
    """A provider reviews an earlier journey's absolute contraindications (with a note)."""
    if by.role is not Role.PROVIDER:
        raise Refused("Only a provider reviews a contraindication.")
    if not (note or "").strip():
        raise Refused("Write what you reviewed and why a new journey is safe.", field="note")
    review = m.ContraindicationReview(
        patient_id=journey.patient_id,
        journey_id=journey.id,
        reviewed_at=utcnow(),
        reviewed_by_id=by.id,
        note=note.strip()[:500],
    )
    db.session.add(review)
    db.session.flush()
    audit.record("contraindication.reviewed", actor=by, obj=journey, patient_id=journey.patient_id)
    return review


# The day-of-procedure screen -----------------------------------------------------------------


def procedure_risk(journey: m.Journey) -> ProcedureRisk:
    """The highest bleeding-risk grade among the planned targets."""
    risks = [STRUCTURE_RISK.get(t.structure, ProcedureRisk.HIGH) for t in journey.targets]
    return max(risks, key=RISK_ORDER.index, default=ProcedureRisk.HIGH)


def hold_days(drug: AntithromboticDrug, risk: ProcedureRisk) -> int | None:
    return db.session.scalar(
        sa.select(m.WashoutRule.hold_days).where(
            m.WashoutRule.drug == drug, m.WashoutRule.risk == risk
        )
    )


def washout_findings(patient: Patient, risk: ProcedureRisk, now: datetime) -> list[str]:
    """Each current medicine taken inside its hold time (or with no last dose recorded)."""
    findings = []
    for medicine in medicines(patient):
        days = hold_days(medicine.drug, risk)
        if medicine.last_dose_at is None:
            findings.append(f"{medicine.name}: when was the last dose? Not recorded.")
        elif days is None:
            findings.append(f"{medicine.name}: no washout rule; a provider decides.")
        elif now - medicine.last_dose_at < timedelta(days=days):
            taken = (now - medicine.last_dose_at).total_seconds() / 86400
            findings.append(
                f"{medicine.name} was last taken {taken:.1f} days ago; the hold before a "
                f"{risk.label} procedure is {days} days."
            )
    return findings


def measured_flags(values: dict[str, Decimal | None]) -> list[str]:
    """Measured values that cross a catalogue threshold (e.g. platelets below 100)."""
    items = db.session.scalars(
        sa.select(m.Contraindication)
        .where(m.Contraindication.active, m.Contraindication.measure.is_not(None))
        .order_by(m.Contraindication.position)
    )
    return [
        f"{item.label}: measured {values[item.measure]}."
        for item in items
        if item.measure in values and item.flags(values[item.measure])
    ]


def consent_for(cycle: m.Cycle, values: dict) -> tuple[datetime | None, str | None]:
    """The consent this cycle relies on: its own re-consent, or for cycle 1 the evaluation's."""
    if values.get("consent_signed_at"):
        return values["consent_signed_at"], values.get("consent_form_version")
    if cycle.number == 1 and cycle.journey.evaluation is not None:
        evaluation = journey_services.record_of(cycle.journey.evaluation)
        if evaluation.decision is Decision.CANDIDATE:
            return evaluation.consent_signed_at, evaluation.consent_form_version
    return None, None


def _stops(cycle: m.Cycle, values: dict, now: datetime) -> list[str]:
    stops = []
    if not values.get("medicines_confirmed") or not values.get("allergies_confirmed"):
        stops.append("Go through the allergy and medicine lists with the patient and confirm.")
    if values.get("infection_signs"):
        stops.append("Signs of infection today: no procedure.")
    if values.get("pregnancy") == "positive":
        stops.append("Pregnancy: no procedure.")
    signed, _ = consent_for(cycle, values)
    valid_days = current_app.config.get("CONSENT_VALID_DAYS", CONSENT_VALID_DAYS)
    if signed is None:
        stops.append("This repeat cycle needs the patient's consent again (re-consent).")
    elif signed > now + timedelta(minutes=10):
        stops.append("The consent cannot be dated in the future.")
    elif now - signed > timedelta(days=valid_days):
        stops.append(f"The consent is older than {valid_days} days: consent the patient again.")
    for earlier in unreviewed_absolutes(cycle.journey.patient):
        stops.append("Absolute contraindication not reviewed: " + "; ".join(earlier.labels))
    return stops


def findings_for(cycle: m.Cycle, values: dict, now: datetime) -> tuple[list[str], list[str]]:
    """(hard stops, items a provider may override with a reason)."""
    patient = cycle.journey.patient
    overridable = washout_findings(patient, procedure_risk(cycle.journey), now)
    if values.get("new_medicines"):
        overridable.append(f"New medicines since the evaluation: {values['new_medicines']}.")
    overridable += measured_flags({k: values.get(k) for k in ("platelets", "hb", "inr")})
    return _stops(cycle, values, now), overridable


SCREEN_FIELDS = (
    "medicines_confirmed",
    "allergies_confirmed",
    "new_medicines",
    "infection_signs",
    "pregnancy",
    "platelets",
    "hb",
    "inr",
    "consent_form_version",
    "consent_signed_at",
)


def screen_of(cycle: m.Cycle | None) -> m.DayOfScreen | None:
    if cycle is None:
        return None
    return db.session.scalar(sa.select(m.DayOfScreen).where(m.DayOfScreen.cycle_id == cycle.id))


# `record_screen(seen_version=…)` when the caller does not say which screen it saw.
UNSEEN = -1


def record_screen(
    cycle: m.Cycle,
    values: dict,
    by: User,
    override_reason: str | None = None,
    seen_version: int | None = UNSEEN,
    lists_seen: str | NoPage | None = NO_PAGE,
) -> m.DayOfScreen:
    """Save the cycle's day-of screen; its outcome says whether collection may start.

    `seen_version` is the version of the screen the user's page showed (None: no screen yet).
    A screen saved since (a stop found by a colleague, a provider's override) makes this save
    stale (StaleWrite) instead of being overwritten by answers given without it.
    """
    _clinical(by)
    saved = screen_of(cycle)
    if seen_version != UNSEEN and (saved.version if saved else None) != seen_version:
        raise StaleWrite("Someone else saved this screen after you opened it.")
    confirming = values.get("allergies_confirmed") or values.get("medicines_confirmed")
    if (
        confirming
        and not isinstance(lists_seen, NoPage)
        and lists_seen != safety_lists_stamp(cycle.journey.patient)
    ):
        # "gone through with the patient" would vouch for allergies or medicines never shown
        raise StaleWrite(
            "The patient's allergies or medicines changed after this screen was opened."
        )
    if (values.get("consent_signed_at") is None) != (not values.get("consent_form_version")):
        raise Refused(
            "Record both the consent form version and when it was signed.",
            field="consent_form_version",
        )
    now = utcnow()
    stops, overridable = findings_for(cycle, values, now)
    reason = (override_reason or "").strip()[:500] or None
    if reason and by.role is not Role.PROVIDER:
        raise Refused("Only a provider can override the screen.", field="override_reason")
    if stops:
        outcome = ScreenOutcome.STOPPED
    elif not overridable:
        outcome = ScreenOutcome.CLEARED
    elif reason:
        outcome = ScreenOutcome.OVERRIDDEN
    else:
        outcome = ScreenOutcome.NEEDS_OVERRIDE
    screen = saved or m.DayOfScreen(cycle_id=cycle.id)
    for name in SCREEN_FIELDS:
        setattr(screen, name, values.get(name))
    screen.pregnancy = values.get("pregnancy") or "not_applicable"
    screen.medicines_confirmed = bool(values.get("medicines_confirmed"))
    screen.allergies_confirmed = bool(values.get("allergies_confirmed"))
    screen.infection_signs = bool(values.get("infection_signs"))
    screen.screened_at, screen.screened_by_id = now, by.id
    screen.findings = "\n".join(stops + overridable) or None
    screen.outcome = outcome
    overridden = outcome is ScreenOutcome.OVERRIDDEN
    screen.override_reason = reason if overridden else None
    screen.override_by_id = by.id if overridden else None
    db.session.add(screen)
    db.session.flush()
    audit.record(
        f"screen.{outcome.value}",
        actor=by,
        obj=cycle.journey,
        patient_id=cycle.journey.patient_id,
        detail=f"cycle {cycle.number}",
    )
    return screen


@dataclass
class ConsentTerms:
    regulatory_status: str | None
    risks: list[str]


def consent_terms(therapy: Therapy) -> ConsentTerms:
    """What the consent names for this therapy: its regulatory status and its risks, as data."""
    profile = db.session.get(m.TherapyConsent, therapy)
    risks = db.session.scalars(
        sa.select(m.ConsentRisk.text)
        .where(m.ConsentRisk.therapy == therapy, m.ConsentRisk.active)
        .order_by(m.ConsentRisk.position)
    ).all()
    return ConsentTerms(profile.regulatory_status if profile else None, list(risks))
