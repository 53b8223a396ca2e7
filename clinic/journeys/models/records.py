"""Typed stage records: one table per stage kind, one row per stage (the stage's id is the key).

Every field a report could use is a typed column; derived values are computed by the services
and stored beside the inputs.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from clinic.extensions import Model, db
from clinic.journeys import codes
from clinic.journeys.bounds import check_constraints
from clinic.journeys.models.catalog import Contraindication
from clinic.models.base import UTCDateTime, enum_column

Num = sa.Numeric(10, 2)


def _stage_pk() -> Mapped[int]:
    return mapped_column(sa.ForeignKey("stage.id"), primary_key=True)


class Decision(enum.Enum):
    CANDIDATE = "candidate"
    NOT_CANDIDATE = "not_candidate"
    MORE_WORKUP = "more_workup"

    @property
    def label(self) -> str:
        return {
            "candidate": "Candidate",
            "not_candidate": "Not a candidate",
            "more_workup": "More work-up needed",
        }[self.value]


evaluation_contraindication = sa.Table(
    "evaluation_contraindication",
    db.metadata,
    sa.Column("stage_id", sa.ForeignKey("evaluation_record.stage_id"), primary_key=True),
    sa.Column("contraindication_id", sa.ForeignKey("contraindication.id"), primary_key=True),
)


class EvaluationRecord(Model):
    __tablename__ = "evaluation_record"

    stage_id: Mapped[int] = _stage_pk()
    pain_duration_months: Mapped[int | None] = mapped_column(sa.Integer)
    pain_location: Mapped[str | None] = mapped_column(sa.String(200))
    pain_radiation: Mapped[str | None] = mapped_column(sa.String(200))
    physical_therapy_weeks: Mapped[int | None] = mapped_column(sa.Integer)
    medications: Mapped[str | None] = mapped_column(sa.String(500))
    prior_injections: Mapped[str | None] = mapped_column(sa.String(500))
    prior_surgery: Mapped[str | None] = mapped_column(sa.String(500))
    imaging_modality: Mapped[str | None] = mapped_column(sa.String(20))
    imaging_date: Mapped[date | None] = mapped_column(sa.Date)
    imaging_findings: Mapped[str | None] = mapped_column(sa.Text)
    exam_findings: Mapped[str | None] = mapped_column(sa.Text)
    relative_acknowledgement: Mapped[str | None] = mapped_column(sa.Text)
    decision: Mapped[Decision | None] = enum_column(Decision, "decision")
    decision_reason: Mapped[str | None] = mapped_column(sa.String(500))
    planned_guidance: Mapped[str | None] = mapped_column(sa.String(20))
    planned_treatments: Mapped[int | None] = mapped_column(sa.Integer)
    consent_form_version: Mapped[str | None] = mapped_column(sa.String(40))
    consent_signed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    consent_witness: Mapped[str | None] = mapped_column(sa.String(120))

    contraindications: Mapped[list[Contraindication]] = relationship(
        secondary=evaluation_contraindication, order_by="Contraindication.position"
    )

    __table_args__ = (
        sa.CheckConstraint(
            "decision IS NULL OR decision <> 'not_candidate' OR decision_reason IS NOT NULL",
            name="not_candidate_has_reason",
        ),
        sa.CheckConstraint(
            "(consent_signed_at IS NULL) = (consent_form_version IS NULL)",
            name="consent_form_and_time_together",
        ),
        codes.check("imaging_modality", codes.ImagingModality, "modality_known"),
        codes.check("planned_guidance", codes.Guidance, "planned_guidance_known"),
        *check_constraints("evaluation_record"),
    )


class CollectionRecord(Model):
    __tablename__ = "collection_record"

    stage_id: Mapped[int] = _stage_pk()
    identifiers_checked: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=False)
    collected_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    collected_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    # PRP
    draw_site: Mapped[str | None] = mapped_column(sa.String(80))
    blood_volume_ml: Mapped[Decimal | None] = mapped_column(Num)
    anticoagulant_ml: Mapped[Decimal | None] = mapped_column(Num)
    baseline_platelets: Mapped[Decimal | None] = mapped_column(Num)
    baseline_wbc: Mapped[Decimal | None] = mapped_column(Num)
    baseline_neutrophils: Mapped[Decimal | None] = mapped_column(Num)
    baseline_hb: Mapped[Decimal | None] = mapped_column(Num)
    # BMAC
    harvest_side: Mapped[str | None] = mapped_column(sa.String(10))
    anaesthesia: Mapped[str | None] = mapped_column(sa.String(80))
    aspirate_ml: Mapped[Decimal | None] = mapped_column(Num)
    pull_count: Mapped[int | None] = mapped_column(sa.Integer)
    pull_size_ml: Mapped[Decimal | None] = mapped_column(Num)
    # Adipose
    harvest_site: Mapped[str | None] = mapped_column(sa.String(80))
    tumescent_ml: Mapped[Decimal | None] = mapped_column(Num)
    lipoaspirate_ml: Mapped[Decimal | None] = mapped_column(Num)
    # Growth factor
    product_name: Mapped[str | None] = mapped_column(sa.String(120))
    product_lot: Mapped[str | None] = mapped_column(sa.String(60))

    __table_args__ = tuple(check_constraints("collection_record"))


class ProcessingRecord(Model):
    __tablename__ = "processing_record"

    stage_id: Mapped[int] = _stage_pk()
    tube_code: Mapped[str | None] = mapped_column(sa.String(20))
    device: Mapped[str | None] = mapped_column(sa.String(120))
    kit_lot: Mapped[str | None] = mapped_column(sa.String(60))
    kit_expiry: Mapped[date | None] = mapped_column(sa.Date)
    spin1_g: Mapped[int | None] = mapped_column(sa.Integer)
    spin1_minutes: Mapped[int | None] = mapped_column(sa.Integer)
    spin2_g: Mapped[int | None] = mapped_column(sa.Integer)
    spin2_minutes: Mapped[int | None] = mapped_column(sa.Integer)
    final_volume_ml: Mapped[Decimal | None] = mapped_column(Num)
    product_platelets: Mapped[Decimal | None] = mapped_column(Num)
    product_wbc: Mapped[Decimal | None] = mapped_column(Num)
    product_neutrophils: Mapped[Decimal | None] = mapped_column(Num)
    product_rbc: Mapped[Decimal | None] = mapped_column(Num)
    leukocytes: Mapped[str | None] = mapped_column(sa.String(10))
    activation: Mapped[str | None] = mapped_column(sa.String(10))
    total_nucleated_cells_million: Mapped[Decimal | None] = mapped_column(Num)
    processed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    verified_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # derived, stored
    concentration_factor: Mapped[Decimal | None] = mapped_column(Num)
    platelet_dose_billions: Mapped[Decimal | None] = mapped_column(Num)
    paw_class: Mapped[str | None] = mapped_column(sa.String(16))
    depa_band: Mapped[str | None] = mapped_column(sa.String(1))

    __table_args__ = (
        codes.check("leukocytes", codes.Leukocytes, "leuko"),
        codes.check("activation", codes.Activation, "activation_known"),
        sa.CheckConstraint(
            "verified_by_id IS NULL OR processed_by_id IS NULL"
            " OR verified_by_id <> processed_by_id",
            name="second_person_verifies",
        ),
        sa.CheckConstraint("depa_band IS NULL OR depa_band IN ('A','B','C','D')", name="depa"),
        *check_constraints("processing_record"),
    )


class InjectionRecord(Model):
    __tablename__ = "injection_record"

    stage_id: Mapped[int] = _stage_pk()
    timeout_team: Mapped[str | None] = mapped_column(sa.String(300))
    timeout_specimen_code: Mapped[str | None] = mapped_column(sa.String(20))
    timeout_confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    timeout_confirmed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    guidance: Mapped[str | None] = mapped_column(sa.String(20))
    contrast_ml: Mapped[Decimal | None] = mapped_column(Num)
    fluoro_seconds: Mapped[Decimal | None] = mapped_column(Num)
    fluoro_dose_mgy: Mapped[Decimal | None] = mapped_column(Num)
    sedation: Mapped[str | None] = mapped_column(sa.String(80))
    complications: Mapped[str | None] = mapped_column(sa.String(20))
    complication_detail: Mapped[str | None] = mapped_column(sa.String(300))
    procedure_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    procedure_ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    images_saved: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=False)
    product_disposition: Mapped[str | None] = mapped_column(sa.String(10))
    discard_reason: Mapped[str | None] = mapped_column(sa.String(300))

    sites: Mapped[list[InjectionSite]] = relationship(order_by="InjectionSite.id")

    __table_args__ = (
        sa.CheckConstraint(
            "(timeout_confirmed_at IS NULL) = (timeout_confirmed_by_id IS NULL)",
            name="timeout_who_and_when",
        ),
        codes.check("product_disposition", codes.Disposition, "disposition_known"),
        codes.check("guidance", codes.Guidance, "guidance_known"),
        codes.check("complications", codes.Complication, "complications_known"),
        sa.CheckConstraint(
            "product_disposition IS NULL OR product_disposition <> 'discarded'"
            " OR discard_reason IS NOT NULL",
            name="discard_has_reason",
        ),
        *check_constraints("injection_record"),
    )


class InjectionSite(Model):
    __tablename__ = "injection_site"

    id: Mapped[int] = mapped_column(primary_key=True)
    stage_id: Mapped[int] = mapped_column(
        sa.ForeignKey("injection_record.stage_id"), nullable=False, index=True
    )
    level: Mapped[str] = mapped_column(sa.String(8), nullable=False)
    side: Mapped[str] = mapped_column(sa.String(10), nullable=False)
    structure: Mapped[str] = mapped_column(sa.String(16), nullable=False)
    approach: Mapped[str] = mapped_column(sa.String(24), nullable=False)
    volume_ml: Mapped[Decimal] = mapped_column(Num, nullable=False)
    needle: Mapped[str | None] = mapped_column(sa.String(40))
    off_plan_reason: Mapped[str | None] = mapped_column(sa.String(300))
    off_plan_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))

    __table_args__ = (
        sa.CheckConstraint("volume_ml > 0", name="volume_positive"),
        sa.CheckConstraint(
            "(off_plan_reason IS NULL) = (off_plan_by_id IS NULL)", name="off_plan_who_and_why"
        ),
        *check_constraints("injection_site"),
    )


class RecoveryRecord(Model):
    __tablename__ = "recovery_record"

    stage_id: Mapped[int] = _stage_pk()
    blood_pressure: Mapped[str | None] = mapped_column(sa.String(12))
    heart_rate: Mapped[int | None] = mapped_column(sa.Integer)
    pain_score: Mapped[int | None] = mapped_column(sa.Integer)
    neuro_check_normal: Mapped[bool | None] = mapped_column(sa.Boolean)
    puncture_site_ok: Mapped[bool | None] = mapped_column(sa.Boolean)
    discharge_criteria_met: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=False)
    instructions_version: Mapped[str | None] = mapped_column(sa.String(40))
    escort: Mapped[str | None] = mapped_column(sa.String(120))
    release_note: Mapped[str | None] = mapped_column(sa.String(300))
    released_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))

    __table_args__ = (
        sa.CheckConstraint(
            "(release_note IS NULL) = (released_by_id IS NULL)", name="release_who_and_why"
        ),
        sa.CheckConstraint("pain_score IS NULL OR pain_score BETWEEN 0 AND 10", name="pain_0_10"),
        *check_constraints("recovery_record", skip=("pain_score",)),  # pain_0_10 holds it
    )
