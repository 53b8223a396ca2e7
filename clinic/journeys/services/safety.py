"""Procedure-day safety rules: stage times in order, kit expiry, leukocyte label, the injected
site and volume against the plan and the product, the cervical transforaminal warning, and a
provider's release of a patient whose discharge checks are not normal."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from flask import current_app

from clinic.auth.models import Role, User
from clinic.dates import fmt_datetime
from clinic.errors import Refused
from clinic.journeys import models as m
from clinic.journeys.classify import leukocyte_label
from clinic.journeys.models.custody import CustodyStep
from clinic.journeys.services.journeys import record_of
from clinic.journeys.states import StageKind, Therapy
from clinic.models import audit
from clinic.models.base import utcnow
from clinic.timeutil import clinic_today

# Hours from collection to injection: (warn after, stop after). Sample values for medical review;
# a clinic sets its own in PRODUCT_TIME_LIMITS_HOURS. None: no limit (a manufactured product).
PRODUCT_TIME_LIMITS_HOURS: dict[str, tuple[float, float] | None] = {
    "prp": (2, 4),
    "bmac": (2, 4),
    "adipose": (4, 8),
    "growth_factor": None,
}
# A clock a few minutes fast on a workstation is not a future date.
CLOCK_SLACK = timedelta(minutes=10)
# Products with cells or particles: by a transforaminal route at cervical levels they risk
# spinal cord infarction (FDA 2014; Rathmell 2015).
CELLULAR = (Therapy.PRP, Therapy.BMAC, Therapy.ADIPOSE)


def _record_in_cycle(stage: m.Stage, kind: StageKind):
    for other in stage.cycle.stages if stage.cycle else []:
        if other.kind is kind and other.is_live:
            return record_of(other)
    return None


def _when(value: datetime) -> str:
    return fmt_datetime(value)


def _not_future(value: datetime | None, field: str, what: str) -> None:
    if value is not None and value > utcnow() + CLOCK_SLACK:
        raise Refused(f"{what} cannot be in the future.", field=field)


def _not_before(value: datetime | None, earlier: datetime | None, field: str, what: str) -> None:
    """Refuse `value` before `earlier` by the minute: the pages enter times to the minute, so a
    time in the same minute as a moment the app stamped with seconds is not before it."""
    if value is None or earlier is None:
        return
    if value < earlier.replace(second=0, microsecond=0):
        raise Refused(f"{what} ({_when(earlier)}).", field=field)


def check_timeline(stage: m.Stage, record) -> None:
    """Each stage's times are in the past and follow the stage before it."""
    if isinstance(record, m.EvaluationRecord):
        _not_future(record.consent_signed_at, "consent_signed_at", "Consent")
    elif isinstance(record, m.CollectionRecord):
        _not_future(record.collected_at, "collected_at", "The collection time")
        evaluation = stage.journey.evaluation
        consent = record_of(evaluation).consent_signed_at if evaluation else None
        _not_before(
            record.collected_at, consent, "collected_at", "Collection is before consent was signed"
        )
    elif isinstance(record, m.InjectionRecord):
        _not_future(record.procedure_started_at, "procedure_started_at", "The start")
        _not_future(record.procedure_ended_at, "procedure_ended_at", "The end")
        collection = _record_in_cycle(stage, StageKind.COLLECTION)
        collected = collection.collected_at if collection else None
        _not_before(
            record.procedure_started_at,
            collected,
            "procedure_started_at",
            "The injection starts before the specimen was collected",
        )


def check_kit(record: m.ProcessingRecord) -> None:
    """An expired processing kit is refused."""
    if record.kit_expiry is not None and record.kit_expiry < clinic_today():
        raise Refused(
            f"This kit expired on {record.kit_expiry.isoformat()}. Use a kit that is in date.",
            field="kit_expiry",
        )


def settle_leukocytes(stage: m.Stage, record: m.ProcessingRecord) -> None:
    """The leukocyte label comes from the counts; a label that contradicts them is refused."""
    collection = _record_in_cycle(stage, StageKind.COLLECTION)
    baseline = collection.baseline_wbc if collection else None
    derived = leukocyte_label(record.product_wbc, baseline)
    if derived is None:
        return
    if record.leukocytes and record.leukocytes != derived:
        raise Refused(
            f"The counts make this product leukocyte-{derived}: product white cells "
            f"{record.product_wbc} against {baseline} in the blood. Correct the counts or "
            "the label.",
            field="leukocytes",
        )
    record.leukocytes = derived


def planned(stage: m.Stage, values: dict) -> bool:
    wanted = (values["level"], values["side"], values["structure"])
    return any((t.level, t.side, t.structure) == wanted for t in stage.journey.targets)


def check_site(
    stage: m.Stage,
    record: m.InjectionRecord,
    values: dict,
    by: User,
    *,
    off_plan_reason: str | None = None,
    cervical_risk_accepted: bool = False,
) -> None:
    """The site must be planned (or a provider's reason given), the volume within the product's,
    and a cellular product by a transforaminal route at a cervical level needs an explicit yes."""
    if not planned(stage, values):
        plan = "; ".join(t.display for t in stage.journey.targets) or "no targets"
        if not off_plan_reason:
            raise Refused(
                f"Stop: this site is not in the plan ({plan}). Check the level, side and "
                "structure; only a provider can record a site outside the plan, with the reason.",
                field="level",
            )
        if by.role is not Role.PROVIDER:
            raise Refused(
                "Only a provider can record a site outside the plan.", field="off_plan_reason"
            )
    processing = _record_in_cycle(stage, StageKind.PROCESSING)
    product = processing.final_volume_ml if processing else None
    if product is not None:
        total = sum((s.volume_ml for s in record.sites), Decimal(0)) + Decimal(values["volume_ml"])
        if total > product:
            raise Refused(
                f"The sites would add up to {total} mL, more than the {product} mL of product.",
                field="volume_ml",
            )
    cervical = values["level"].startswith("C") and values["approach"] == "transforaminal"
    if cervical and stage.journey.therapy in CELLULAR and not cervical_risk_accepted:
        raise Refused(
            "Warning: a cellular product given transforaminally at a cervical level carries a "
            "risk of spinal cord infarction. Tick the box to confirm the provider chose this.",
            field="approach",
        )


def cervical_transforaminal_risk(journey: m.Journey) -> bool:
    """A cellular product planned at a cervical level, where a transforaminal route is a risk."""
    return journey.therapy in CELLULAR and any(t.level.startswith("C") for t in journey.targets)


def settle_release(record: m.RecoveryRecord, note_before: str | None, by: User) -> None:
    """A changed release note is a provider's release, stamped with who gave it."""
    if record.release_note == note_before:
        return
    if not record.release_note:
        record.released_by_id = None
        return
    if by.role is not Role.PROVIDER:
        raise Refused("Only a provider can release the patient.", field="release_note")
    record.released_by_id = by.id


def discharge_needs_release(record: m.RecoveryRecord) -> bool:
    """The neuro or puncture-site check is not normal and no provider has released the patient."""
    abnormal = record.neuro_check_normal is not True or record.puncture_site_ok is not True
    return abnormal and record.released_by_id is None


def audit_site(stage: m.Stage, site: m.InjectionSite, by: User) -> None:
    """Off-plan sites are audited with their reason."""
    if site.off_plan_reason:
        audit.record(
            "injection.site_off_plan",
            actor=by,
            obj=stage,
            patient_id=stage.journey.patient_id,
            detail=f"{site.level} {site.side} {site.structure}",
        )


def product_time_limits(therapy: Therapy) -> tuple[float, float] | None:
    """(warn, stop) hours for this therapy, from the clinic's settings or the samples."""
    configured = current_app.config.get("PRODUCT_TIME_LIMITS_HOURS") or {}
    return configured.get(therapy.value, PRODUCT_TIME_LIMITS_HOURS.get(therapy.value))


def product_age(specimen: m.Specimen | None) -> tuple[float, str | None, str | None]:
    """Hours since collection, and 'warn' or 'stop' with a message when a limit is passed."""
    if specimen is None or specimen.custody_state is CustodyStep.LABELLED:
        return 0.0, None, None
    hours = (utcnow() - specimen.collected_at).total_seconds() / 3600
    limits = product_time_limits(specimen.product_type)
    if limits is None:
        return hours, None, None
    warn, stop = limits
    if hours > stop:
        return (
            hours,
            "stop",
            (
                f"Stop: the product was collected {hours:.1f} hours ago, past the {stop:g}-hour "
                "limit for this therapy. Do not inject it."
            ),
        )
    if hours > warn:
        return (
            hours,
            "warn",
            (
                f"The product was collected {hours:.1f} hours ago; the limit is {stop:g} hours. "
                "Inject without delay."
            ),
        )
    return hours, None, None


def check_blood_pressure(record: m.RecoveryRecord) -> None:
    """A plausible systolic/diastolic pair (the form checks the shape; this the numbers)."""
    value = record.blood_pressure
    if not value:
        return
    try:
        systolic, diastolic = (int(part) for part in value.split("/"))
    except ValueError:
        raise Refused("Write it as systolic/diastolic, e.g. 124/78.", "blood_pressure") from None
    if not (50 <= systolic <= 260 and 20 <= diastolic <= 160 and systolic > diastolic):
        raise Refused(
            "That blood pressure is not plausible: check the reading.", field="blood_pressure"
        )
