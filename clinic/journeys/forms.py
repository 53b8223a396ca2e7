"""Stage forms: one per stage kind, field names equal to the typed record's columns."""

from __future__ import annotations

from wtforms import (
    BooleanField,
    DateField,
    DateTimeLocalField,
    DecimalField,
    FieldList,
    Form,
    FormField,
    HiddenField,
    IntegerField,
    PasswordField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import (
    DataRequired,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    Regexp,
)
from wtforms.widgets import HiddenInput

from clinic.forms import ClinicForm, VersionField, clinic_date_range
from clinic.journeys import codes
from clinic.journeys.bounds import BOUNDS
from clinic.journeys.models.custody import LaterProcedure, LossReason, PainMedicine, WorkStatus
from clinic.journeys.models.journey import LEVELS, SIDES, STRUCTURES
from clinic.journeys.models.records import Decision
from clinic.journeys.services.followups import PLANS
from clinic.journeys.states import Therapy

OPT = [Optional()]
# What each date on a stage record can be: done in the last few years (never tomorrow);
# imaging up to 30 years old; a kit that expires up to ten years ahead.
DONE = [Optional(), clinic_date_range(years_back=5, years_ahead=0)]
IMAGING = [Optional(), clinic_date_range(years_back=30, years_ahead=0)]
EXPIRY = [Optional(), clinic_date_range(years_back=5, years_ahead=10)]
DT_FORMAT = "%Y-%m-%dT%H:%M"


def _choices(values, blank=True, keep_case=False):
    pairs = [(v, v if keep_case else v.replace("_", " ").capitalize()) for v in values]
    return [("", "—"), *pairs] if blank else pairs


def _opt_int(value):
    return int(value) if value not in (None, "", "None") else None


def bounded(table: str):
    """Class decorator: each field named like a bounded column of `table` gets its range."""

    def apply(cls):
        for column, b in BOUNDS[table].items():
            unbound = getattr(cls, column, None)
            if unbound is None:
                continue
            whole = unbound.field_class is IntegerField
            low, high = (int(b.low), int(b.high)) if whole else (b.form_min, b.high)
            message = f"Enter a value from {low} to {high}."
            if b.above_low:
                message = f"Enter a value above {b.low} and up to {high}."
            validators = [
                v for v in unbound.kwargs.get("validators", []) if not isinstance(v, NumberRange)
            ]
            unbound.kwargs["validators"] = [*validators, NumberRange(low, high, message)]
        return cls

    return apply


def _num(label, **kw):
    return DecimalField(label, places=2, validators=[Optional(), NumberRange(min=0)], **kw)


def _int(label, high=100000, **kw):
    return IntegerField(label, validators=[Optional(), NumberRange(min=0, max=high)], **kw)


def _text(label, n=200, **kw):
    return StringField(label, validators=[Optional(), Length(max=n)], **kw)


class VersionedForm(ClinicForm):
    version = VersionField()


@bounded("evaluation_record")
class EvaluationForm(VersionedForm):
    pain_duration_months = _int("Pain duration (months)", 1200)
    pain_location = _text("Pain location")
    pain_radiation = _text("Radiation")
    physical_therapy_weeks = _int("Physical therapy (weeks)", 520)
    medications = _text("Medications tried", 500)
    prior_injections = _text("Prior injections", 500)
    prior_surgery = _text("Prior spine surgery", 500)
    imaging_modality = SelectField(
        "Imaging modality", choices=codes.choices(codes.ImagingModality), validators=OPT
    )
    imaging_date = DateField("Imaging date", validators=IMAGING)
    imaging_findings = TextAreaField("Imaging findings", validators=OPT)
    exam_findings = TextAreaField("Examination", validators=OPT)
    contraindication_ids = SelectMultipleField(
        "Contraindications present",
        coerce=int,
        validators=OPT,
    )
    relative_acknowledgement = TextAreaField(
        "Acknowledgement of relative contraindications",
        validators=OPT,
        description="Required when a relative contraindication is present.",
    )
    decision = SelectField(
        "Decision", choices=[("", "—")] + [(d.value, d.label) for d in Decision], validators=OPT
    )
    decision_reason = _text("Reason (required for 'not a candidate')", 500)
    planned_guidance = SelectField(
        "Planned guidance", choices=codes.choices(codes.Guidance), validators=OPT
    )
    planned_treatments = _int("Planned number of treatments", 10)
    consent_form_version = _text("Consent form version", 40)
    consent_signed_at = DateTimeLocalField("Consent signed at", format=DT_FORMAT, validators=DONE)
    consent_witness = _text("Consent witness", 120)


@bounded("collection_record")
class CollectionForm(VersionedForm):
    identifiers_checked = BooleanField(
        "Two identifiers (name and date of birth) checked with the patient present"
    )
    collected_at = DateTimeLocalField("Collected at", format=DT_FORMAT, validators=DONE)
    draw_site = _text("Blood draw site", 80)
    blood_volume_ml = _num("Blood volume (mL)")
    anticoagulant_ml = _num("Anticoagulant ACD-A (mL)")
    baseline_platelets = _num("Baseline platelets (×10³/µL)")
    baseline_wbc = _num("Baseline white cells (×10³/µL)")
    baseline_neutrophils = _num("Baseline neutrophils (×10³/µL)")
    baseline_hb = _num("Baseline haemoglobin (g/dL)")
    harvest_side = SelectField("Harvest side", choices=_choices(("left", "right")), validators=OPT)
    anaesthesia = _text("Anaesthesia", 80)
    aspirate_ml = _num("Aspirate (mL)")
    pull_count = _int("Number of pulls", 50)
    pull_size_ml = _num("Pull size (mL)")
    harvest_site = _text("Fat harvest site", 80)
    tumescent_ml = _num("Tumescent (mL)")
    lipoaspirate_ml = _num("Lipoaspirate (mL)")
    product_name = _text("Growth factor product", 120)
    product_lot = _text("Product lot", 60)


@bounded("processing_record")
class ProcessingForm(VersionedForm):
    tube_code = StringField(
        "Specimen ID on the tube",
        validators=[Optional(), Length(max=20)],
        description="Scan the tube's label (or type the ID): it must be this patient's specimen.",
        render_kw={"autocomplete": "off"},
    )
    device = _text("Device / kit", 120)
    kit_lot = _text("Kit lot", 60)
    kit_expiry = DateField("Kit expiry", validators=EXPIRY)
    spin1_g = _int("Spin 1 (g)", 10000)
    spin1_minutes = _int("Spin 1 (minutes)", 120)
    spin2_g = _int("Spin 2 (g)", 10000)
    spin2_minutes = _int("Spin 2 (minutes)", 120)
    final_volume_ml = _num("Final volume (mL)")
    product_platelets = _num("Product platelets (×10³/µL)")
    product_wbc = _num("Product white cells (×10³/µL)")
    product_neutrophils = _num("Product neutrophils (×10³/µL)")
    product_rbc = _num("Product red cells (×10⁶/µL)")
    leukocytes = SelectField(
        "Leukocytes",
        choices=codes.choices(codes.Leukocytes),
        validators=OPT,
        description="Filled in from the white cell counts (rich: above the blood's).",
    )
    activation = SelectField("Activation", choices=codes.choices(codes.Activation), validators=OPT)
    total_nucleated_cells_million = _num("Total nucleated cells (million, BMAC)")
    processed_by_id = SelectField("Processed by", coerce=_opt_int, validators=OPT)
    verified_by_id = SelectField("Verified by (a second person)", coerce=_opt_int, validators=OPT)
    verifier_password = PasswordField(
        "Verifier's password",
        validators=[Optional(), Length(max=128)],
        description="The second person types their own password here (not needed when they "
        "are the one signed in).",
        render_kw={"autocomplete": "off"},
    )


@bounded("injection_record")
class InjectionForm(VersionedForm):
    guidance = SelectField("Guidance", choices=codes.choices(codes.Guidance), validators=OPT)
    contrast_ml = _num("Contrast (mL)")
    fluoro_seconds = _num("Fluoroscopy time (s)")
    fluoro_dose_mgy = _num("Fluoroscopy dose (mGy)")
    sedation = _text("Sedation", 80)
    complications = SelectField(
        "Complications",
        choices=codes.choices(codes.Complication),
        validators=OPT,
    )
    complication_detail = _text("Complication detail", 300)
    procedure_started_at = DateTimeLocalField("Started at", format=DT_FORMAT, validators=DONE)
    procedure_ended_at = DateTimeLocalField("Ended at", format=DT_FORMAT, validators=DONE)
    images_saved = BooleanField("Images saved")
    product_disposition = SelectField(
        "Product", choices=codes.choices(codes.Disposition), validators=OPT
    )
    discard_reason = _text("Discard reason", 300)


@bounded("recovery_record")
class RecoveryForm(VersionedForm):
    blood_pressure = StringField(
        "Blood pressure",
        validators=[
            Optional(),
            Length(max=12),
            Regexp(r"^\d{2,3}/\d{2,3}$", message="Write it as systolic/diastolic, e.g. 124/78."),
        ],
    )
    heart_rate = _int("Heart rate (bpm)", 250)
    pain_score = IntegerField("Pain (0–10)", validators=[Optional(), NumberRange(0, 10)])
    neuro_check_normal = BooleanField("Neurological check normal")
    puncture_site_ok = BooleanField("Puncture site clean and dry")
    discharge_criteria_met = BooleanField("Discharge criteria met")
    instructions_version = _text(
        "Instructions given (version)",
        40,
        description="Filled in at discharge with the written version the patient takes home.",
    )
    escort = _text("Escort", 120)
    release_note = _text(
        "Provider's release",
        300,
        description="A provider's reason to let the patient go home when the neurological or "
        "puncture-site check is not normal.",
    )


class MemberForm(Form):
    """One other team member at the time-out, confirming with their own password."""

    user_id = SelectField("Team member", coerce=_opt_int, validators=OPT)
    password = PasswordField(
        "Their password",
        validators=[Optional(), Length(max=128)],
        render_kw={"autocomplete": "off"},
    )


class TimeOutForm(ClinicForm):
    members = FieldList(FormField(MemberForm), min_entries=3, max_entries=6)
    checklist_read = BooleanField(
        "We confirmed every item above aloud",
        description="Ticks every item shown, in your name, with the team confirming below.",
    )
    # Which checklist version the page showed: the items confirmed are the ones read aloud.
    checklist_id = IntegerField(widget=HiddenInput(), validators=OPT)
    specimen_code = StringField(
        "Syringe specimen ID",
        validators=[DataRequired(message="Enter or scan the ID on the syringe."), Length(max=20)],
        description="Type or scan the ID printed on the syringe label.",
    )


@bounded("injection_site")
class SiteForm(ClinicForm):
    level = SelectField("Level", choices=_choices(LEVELS, blank=False, keep_case=True))
    side = SelectField("Side", choices=_choices(SIDES, blank=False))
    structure = SelectField("Structure", choices=_choices(STRUCTURES, blank=False))
    approach = SelectField(
        "Approach",
        choices=_choices(
            ("intradiscal", "transforaminal", "facet", "si_intra_articular", "ligament"), False
        ),
    )
    volume_ml = DecimalField(
        "Volume (mL)", places=2, validators=[InputRequired(), NumberRange(0.01)]
    )
    needle = _text("Needle", 40)
    off_plan_reason = _text(
        "Reason for a site outside the plan (provider only)",
        300,
        description="Leave blank unless a provider decided to treat a site that is not planned.",
    )
    cervical_risk_accepted = BooleanField(
        "The provider chose a transforaminal route at a cervical level knowing the risk"
    )


@bounded("injection_site")
class FirstSiteForm(SiteForm):
    """The first injected site, inside the injection record's form: a draft saved before the
    site is injected leaves its volume blank and records no site."""

    volume_ml = DecimalField(
        "Volume (mL)",
        places=2,
        validators=[Optional(), NumberRange(0.01)],
        description="The volume injected at this site: the site is recorded when it is given.",
    )


class ChecklistForm(ClinicForm):
    item_ids = SelectMultipleField("Checklist", coerce=int, validators=OPT)
    # The items the page showed ticked ("3,5"), so a save from an older page is a conflict.
    shown = HiddenField(validators=[Optional(), Regexp(r"^[0-9]{1,9}(,[0-9]{1,9}){0,99}$")])


class NoteForm(ClinicForm):
    body = TextAreaField(
        "Note", validators=[DataRequired(message="Write the note first."), Length(max=10000)]
    )


class ReasonForm(VersionedForm):
    reason = StringField(
        "Reason", validators=[DataRequired(message="Give the reason."), Length(max=300)]
    )


class ActionForm(VersionedForm):
    """Start, complete, sign, reopen: only the CSRF token and the version seen."""


class BatchSignForm(ClinicForm):
    """The reviewed stages to sign, each ticked as "<stage id>:<version shown>"."""

    stage_ids = SelectMultipleField("Stages to sign", validate_choice=False, validators=OPT)


class NewJourneyForm(ClinicForm):
    therapy = SelectField("Therapy", choices=[(t.value, t.label) for t in Therapy])
    provider_id = SelectField("Responsible provider", coerce=int)
    condition_ids = SelectMultipleField(
        "Conditions", coerce=int, validators=[DataRequired(message="Choose at least one.")]
    )
    level = SelectField("Target level", choices=_choices(LEVELS, blank=False, keep_case=True))
    side = SelectField("Target side", choices=_choices(SIDES, blank=False))
    structure = SelectField("Target structure", choices=_choices(STRUCTURES, blank=False))


STAGE_FORMS = {
    "evaluation": EvaluationForm,
    "collection": CollectionForm,
    "processing": ProcessingForm,
    "injection": InjectionForm,
    "recovery": RecoveryForm,
}


def _labelled(kind) -> list[tuple[str, str]]:
    return [("", "—")] + [(k.value, k.label) for k in kind if k.value != "not_recorded"]


class FollowUpForm(VersionedForm):
    pain_medicine = SelectField(
        "Pain medicine now",
        choices=_labelled(PainMedicine),
        validators=[DataRequired(message="Choose what pain medicine the patient takes.")],
    )
    opioid_mme_per_day = DecimalField(
        "Daily opioid dose (oral morphine mg equivalents)",
        places=1,
        validators=[Optional(), NumberRange(min=0.1, max=2000)],
    )
    work_status = SelectField(
        "Work", choices=_labelled(WorkStatus), validators=[DataRequired("Choose the work status.")]
    )
    later_procedure = SelectField(
        "Since the treatment, another procedure at the treated level",
        choices=_labelled(LaterProcedure),
        validators=[DataRequired(message="Say whether there was another procedure.")],
    )
    later_procedure_on = DateField("Date of that procedure", validators=[Optional()])
    provider_note = TextAreaField("Note", validators=[Optional(), Length(max=10000)])
    plan = SelectField(
        "Plan",
        choices=[("", "—"), *list(PLANS.items())],
        validators=[DataRequired(message="Choose the plan.")],
    )


class MissedForm(VersionedForm):
    reason = SelectField(
        "Why was the follow-up missed?",
        choices=_labelled(LossReason),
        validators=[DataRequired(message="Choose why the follow-up was missed.")],
    )
    detail = _text("Other reason, or more detail", 300)
    # Set by the confirm step: the first post only asks "Mark it missed?" and changes nothing.
    confirmed = SelectField(choices=[("", ""), ("yes", "yes")], validators=OPT, default="")


class TargetForm(ClinicForm):
    level = SelectField("Level", choices=_choices(LEVELS, blank=False, keep_case=True))
    side = SelectField("Side", choices=_choices(SIDES, blank=False))
    structure = SelectField("Structure", choices=_choices(STRUCTURES, blank=False))


class ConditionsForm(ClinicForm):
    condition_ids = SelectMultipleField(
        "Diagnoses", coerce=int, validators=[DataRequired(message="Choose at least one.")]
    )
