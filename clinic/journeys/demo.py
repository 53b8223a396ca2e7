"""Demo journeys: every therapy at every stage, a not-a-candidate, a repeat cycle, an
acknowledged relative contraindication, and the procedure-day safety features (allergies and
blood thinners, a screen override, a site outside the plan, a provider's release).
Development only; the caller commits."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import sqlalchemy as sa

from clinic.auth.models import User
from clinic.extensions import db
from clinic.journeys import models as m
from clinic.journeys import walkthrough as walk
from clinic.journeys.models.records import Decision
from clinic.journeys.services import journeys, notes, screening, specimens
from clinic.journeys.states import StageKind, Therapy
from clinic.models.base import utcnow
from clinic.patients.models import AntithromboticDrug, Patient, Sex
from clinic.patients.services import register_patient

PHASES = ("evaluation", "collection", "processing", "injection", "follow_up")
GIVEN = [
    "Amara",
    "Jonas",
    "Lucia",
    "Tariq",
    "Mei",
    "Oskar",
    "Priya",
    "Diego",
    "Hana",
    "Noah",
    "Ines",
    "Kofi",
    "Leah",
    "Mateo",
    "Sana",
    "Viktor",
    "Yara",
    "Bruno",
    "Elif",
    "Rafael",
    "Nadia",
    "Tomas",
]
FAMILY = [
    "Adeyemi",
    "Berg",
    "Costa",
    "Haddad",
    "Ito",
    "Jensen",
    "Kapoor",
    "Morales",
    "Sato",
    "Walsh",
    "Ferreira",
    "Mensah",
    "Cohen",
    "Rossi",
    "Qureshi",
    "Ivanov",
    "Nasser",
    "Lopes",
    "Demir",
    "Alves",
    "Karimi",
    "Horvat",
]
TARGETS = {
    Therapy.PRP: ("L4-L5", "midline", "disc", "M51.362"),
    Therapy.BMAC: ("L5-S1", "midline", "disc", "M51.372"),
    Therapy.ADIPOSE: ("SI", "right", "si_joint", "M53.3"),
    Therapy.GROWTH_FACTOR: ("C5-C6", "left", "facet", "M47.812"),
}


def _user(email: str) -> User:
    return db.session.scalar(sa.select(User).where(User.email == email))


def _patient(n: int) -> Patient:
    return register_patient(
        given_name=GIVEN[n % len(GIVEN)],
        family_name=FAMILY[n % len(FAMILY)],
        date_of_birth=date(1950 + (n * 3) % 40, 1 + n % 12, 1 + (n * 7) % 28),
        sex=Sex.FEMALE if n % 2 else Sex.MALE,
        phone=f"+1 617 555 {2000 + n:04d}",
    )


def _open(patient: Patient, therapy: Therapy, provider: User) -> m.Journey:
    level, side, structure, code = TARGETS[therapy]
    condition = db.session.scalar(sa.select(m.Condition).where(m.Condition.code == code))
    journey = journeys.open_journey(
        patient,
        therapy=therapy,
        provider=provider,
        condition_ids=[condition.id],
        targets=[(level, side, structure)],
        by=provider,
    )
    from clinic.careteam.services import add_member

    # The demo nurse is on every demo journey's care team, so their charts open directly.
    add_member(journey, _user("nurse@demo.example.com"), provider)
    return journey


def _advance(
    journey: m.Journey, phase: str, provider: User, nurse: User, days_ago: int = 20, **evaluation
) -> None:
    """Walk the journey until `phase` is the stage being worked on."""
    harvester = nurse if journey.therapy in (Therapy.PRP, Therapy.GROWTH_FACTOR) else provider
    if phase == "evaluation":
        walk.stages.save_stage(
            journey.evaluation, {"pain_location": "Low back", "pain_duration_months": 9}, provider
        )
        return
    walk.evaluate(journey, provider, **evaluation)
    if phase == "collection":
        return
    walk.collect(journey, harvester)
    if phase == "processing":
        return
    walk.process(journey, nurse, provider)
    if phase == "injection":
        return
    walk.inject(journey, provider, days_ago=days_ago)
    walk.recover(journey, nurse)


def load_journeys_demo() -> None:
    patel = _user("dr.patel@demo.example.com")
    novak = _user("dr.novak@demo.example.com")
    nurse = _user("nurse@demo.example.com")
    by_email = {p.email: p for p in db.session.scalars(sa.select(Patient)) if p.email}
    okafor, lindqvist = by_email["grace.okafor@example.com"], by_email["erik.l@example.com"]
    n = 0
    for therapy in Therapy:
        for phase in PHASES:
            provider = patel if n % 2 == 0 else novak
            first_of_grace = therapy is Therapy.PRP and phase == "follow_up"
            patient = okafor if first_of_grace else _patient(n)
            n += 1
            journey = _open(patient, therapy, provider)
            # Grace is two weeks after her injection: her 2-week questionnaires are due now.
            _advance(journey, phase, provider, nurse, days_ago=15 if first_of_grace else 20)
    # Not a candidate: an absolute contraindication found at evaluation.
    journey = _open(_patient(n), Therapy.PRP, patel)
    walk.evaluate(
        journey,
        patel,
        decision=Decision.NOT_CANDIDATE,
        contraindications=("platelet_disorder",),
        reason="Platelet function disorder on screening bloods",
    )
    # A repeat cycle: first treatment done, second collection under way.
    journey = _open(lindqvist, Therapy.BMAC, novak)
    _advance(journey, "follow_up", novak, nurse)
    journeys.open_repeat_cycle(journey, novak)
    notes.add_note(
        journey.cycles[0].stages[-1],
        "Good response at 6 weeks, pain back to 5/10 at 3 months; repeat agreed.",
        novak,
    )
    # A relative contraindication the provider acknowledged.
    journey = _open(_patient(n + 1), Therapy.ADIPOSE, patel)
    _advance(
        journey,
        "processing",
        patel,
        nurse,
        contraindications=("anticoagulant",),
        acknowledgement="On aspirin 81 mg for primary prevention; cardiology agreed to hold "
        "it 7 days before the harvest.",
    )
    load_safety_demo()


def load_safety_demo() -> None:
    """Procedure-day safety in the demo: allergies and blood thinners on the banner, a screen
    cleared by a provider's override, a site outside the plan, and a provider's release."""
    patel = _user("dr.patel@demo.example.com")
    nurse = _user("nurse@demo.example.com")
    _approve_prp_texts(_user("admin@demo.example.com"))
    by_email = {p.email: p for p in db.session.scalars(sa.select(Patient)) if p.email}
    okafor = by_email["grace.okafor@example.com"]
    screening.add_allergy(okafor, "Iodinated contrast", "Hives and wheeze", nurse)
    screening.add_allergy(okafor, "Latex", "Itchy rash", nurse)
    screening.add_medicine(
        okafor,
        AntithromboticDrug.ASPIRIN,
        "Aspirin 81 mg daily",
        utcnow() - timedelta(days=9),
        nurse,
    )
    patient = register_patient(
        given_name="Ruth",
        family_name="Lindgren",
        date_of_birth=date(1958, 4, 12),
        sex=Sex.FEMALE,
        phone="+1 617 555 2140",
    )
    screening.add_allergy(patient, "Penicillin", "Swollen lips", nurse)
    screening.add_medicine(
        patient,
        AntithromboticDrug.APIXABAN,
        "Apixaban 5 mg twice daily",
        utcnow() - timedelta(days=2),
        nurse,
    )
    journey = _open(patient, Therapy.PRP, patel)
    walk.evaluate(journey, patel)
    walk.screen(journey, nurse)  # apixaban 2 days ago: needs a provider's decision
    walk.screen(
        journey,
        patel,
        override_reason="Haematology advised a 48-hour hold for this patient (normal kidneys); "
        "the benefit outweighs the bleeding risk.",
    )
    walk.collect(journey, nurse)
    walk.process(journey, nurse, patel)
    _inject_off_plan(journey, patel)
    _discharge_with_release(journey, nurse, patel)


def _approve_prp_texts(admin: User) -> None:
    """The PRP texts are approved (patients read them); the others stay samples, so their
    patients are told to call the clinic."""
    from clinic.instructions import services as instructions

    for version in instructions.newest_for_therapy("prp").values():
        instructions.approve(version, by=admin)


def _inject_off_plan(journey: m.Journey, provider: User) -> None:
    stage = walk.stage_of(journey, StageKind.INJECTION)
    walk.stages.start_stage(stage, provider)
    walk.tick_all(stage, provider)
    walk.time_out(stage, provider)
    planned = dict(level="L4-L5", side="midline", structure="disc", approach="intradiscal")
    specimens.add_injection_site(stage, dict(planned, volume_ml=Decimal(3), needle="22G"), provider)
    specimens.add_injection_site(
        stage,
        dict(planned, level="L5-S1", volume_ml=Decimal("1.5"), needle="22G"),
        provider,
        off_plan_reason="Discography on the table showed the L5-S1 disc was the painful one.",
    )
    started = utcnow() - timedelta(minutes=50)
    walk.backdate_cycle(journey, stage, started)
    walk.stages.save_stage(
        stage,
        dict(
            guidance="fluoroscopy",
            complications="none",
            procedure_started_at=started,
            procedure_ended_at=started + timedelta(minutes=35),
            images_saved=True,
            product_disposition="used",
        ),
        provider,
    )
    walk.stages.complete_stage(stage, provider)


def _discharge_with_release(journey: m.Journey, nurse: User, provider: User) -> None:
    stage = walk.stage_of(journey, StageKind.RECOVERY)
    values = dict(
        blood_pressure="128/80",
        heart_rate=76,
        pain_score=4,
        neuro_check_normal=False,
        puncture_site_ok=True,
        discharge_criteria_met=True,
        escort="Daughter",
    )
    walk.stages.save_stage(stage, values, nurse)
    walk.stages.save_stage(
        stage,
        dict(release_note="Numb patch on the left shin is old (since 2019) and unchanged."),
        provider,
    )
    walk.tick_all(stage, nurse)
    walk.stages.complete_stage(stage, nurse)


# The registry's demo cohort: lower-back PRP and marrow cycles injected over the past 14 months,
# alternating providers, so every follow-up timepoint has patients (and some still pending).
COHORT_DAYS_AGO = (410, 380, 340, 300, 250, 215, 190, 150, 120, 95, 70, 50)


def load_registry_cohort() -> list[m.Journey]:
    """Treated journeys for the outcomes registry demo; the outcomes demo answers for them."""
    patel = _user("dr.patel@demo.example.com")
    novak = _user("dr.novak@demo.example.com")
    nurse = _user("nurse@demo.example.com")
    treated = []
    for n, days_ago in enumerate(COHORT_DAYS_AGO):
        therapy = Therapy.BMAC if n % 4 == 3 else Therapy.PRP
        provider = patel if n % 2 == 0 else novak
        patient = register_patient(
            given_name=GIVEN[n],
            family_name=FAMILY[(n + 5) % len(FAMILY)],
            date_of_birth=date(1948 + n * 2, 1 + n, 3 + n),
            sex=Sex.MALE if n % 2 else Sex.FEMALE,
            phone=f"+1 617 555 {3000 + n:04d}",
        )
        journey = _open(patient, therapy, provider)
        _advance(journey, "follow_up", provider, nurse, days_ago=days_ago)
        treated.append(journey)
    return treated
