"""Instructions: phase by day, versioned editing with conflicts, approval, patient view."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from clinic.auth.models import Role
from clinic.errors import StaleWrite
from clinic.instructions import services
from clinic.instructions.context import Treatment
from clinic.instructions.models import InstructionVersion, ReviewStatus
from clinic.instructions.phases import Phase, phase_for_day, phase_on
from clinic.journeys.states import Therapy
from clinic.models.audit import AuditEvent


@pytest.mark.parametrize(
    ("day", "phase"),
    [
        (None, Phase.PRE_PROCEDURE),
        (-1, Phase.PRE_PROCEDURE),
        (0, Phase.DAYS_0_3),
        (3, Phase.DAYS_0_3),
        (4, Phase.DAYS_4_14),
        (14, Phase.DAYS_4_14),
        (15, Phase.WEEKS_2_6),
        (42, Phase.WEEKS_2_6),
        (43, Phase.AFTER_6_WEEKS),
        (400, Phase.AFTER_6_WEEKS),
    ],
)
def test_phase_at_day_boundaries(day, phase):
    assert phase_for_day(day) is phase


def test_phase_on_dates():
    assert phase_on(date(2026, 3, 1), date(2026, 3, 5)) is Phase.DAYS_4_14
    assert phase_on(None, date(2026, 3, 5)) is Phase.PRE_PROCEDURE


def test_samples_cover_every_therapy_and_phase_once(db):
    assert services.load_samples() == 20
    assert services.load_samples() == 0
    prp = services.newest_for_therapy("prp")
    assert set(prp) == set(Phase)
    assert "ibuprofen" in prp[Phase.DAYS_0_3].body  # PRP holds anti-inflammatories
    adipose = services.newest_for_therapy("adipose")
    assert "ibuprofen" not in adipose[Phase.DAYS_0_3].body
    assert "fat was taken" in adipose[Phase.DAYS_0_3].body
    assert all(v.review_status is ReviewStatus.SAMPLE for v in prp.values())


def test_admin_edits_make_new_versions_and_stale_edits_conflict(client, login, db):
    services.load_samples()
    login(Role.ADMIN)
    url = "/admin/instructions/prp/days_0_3"
    signs = "Call us for a fever."
    saved = client.post_form(
        url,
        {
            "title": "First days",
            "body": "Rest.\n\nWalk a little.",
            "warning_signs": signs,
            "based_on": "1",
        },
    )
    assert saved.status_code == 302
    stale = client.post_form(
        url, {"title": "Mine", "body": "My edit", "warning_signs": signs, "based_on": "1"}
    )
    html = stale.get_data(as_text=True)
    assert stale.status_code == 409
    assert "Someone else saved version 2" in html and "Walk a little." in html
    assert "My edit" in html  # the user's text is kept
    versions = services.history("prp", Phase.DAYS_0_3)
    assert [v.version for v in versions] == [2, 1]
    assert versions[0].paragraphs == ["Rest.", "Walk a little."]


def test_approval_is_recorded(client, login, db):
    services.load_samples()
    admin = login(Role.ADMIN)
    version = services.newest("bmac", Phase.WEEKS_2_6)
    client.post_form(
        f"/admin/instructions/version/{version.id}/approve",
        token_from="/admin/instructions/bmac/weeks_2_6",
    )
    db.session.expire_all()
    version = db.session.get(InstructionVersion, version.id)
    assert version.review_status is ReviewStatus.APPROVED and version.approved_by_id == admin.id


def test_only_the_newest_version_can_be_approved(db, make_user):
    services.load_samples()
    admin = make_user(Role.ADMIN)
    old = services.newest("prp", Phase.DAYS_0_3)
    services.save_new_version("prp", Phase.DAYS_0_3, title="t", body="b", based_on=1, by=admin)
    with pytest.raises(StaleWrite, match="newest"):
        services.approve(old, by=admin)


def test_unknown_therapy_or_phase_is_404(client, login):
    login(Role.ADMIN)
    assert client.get("/admin/instructions/laser/days_0_3").status_code == 404
    assert client.get("/admin/instructions/prp/day_99").status_code == 404


@pytest.fixture
def treated(monkeypatch):
    """Pretend the patient had PRP injected `days` ago."""

    def _set(days: int | None, therapy: str | None = "prp") -> None:
        injected = None if days is None else date.today() - timedelta(days=days)
        monkeypatch.setattr(
            "clinic.instructions.context.treatment_of", lambda patient: Treatment(therapy, injected)
        )

    return _set


def approve_samples(make_user) -> None:
    """The medical director approves every shipped sample."""
    admin = make_user(Role.ADMIN)
    for therapy in (t.value for t in Therapy):
        for version in services.newest_for_therapy(therapy).values():
            services.approve(version, by=admin)


def test_patient_sees_the_phase_for_today_and_can_open_others(
    client, login, db, treated, make_user
):
    services.load_samples()
    approve_samples(make_user)
    treated(5)
    user = login(Role.PATIENT)
    html = client.get("/my/instructions").get_data(as_text=True)
    assert "Days four to fourteen" in html and "awaiting the clinic" not in html
    assert 'id="warning-signs"' in html
    other = client.get("/my/instructions?phase=after_6_weeks").get_data(as_text=True)
    assert "After six weeks" in other and "Show the one for today" in other
    printed = client.get("/my/instructions/print?phase=days_0_3").get_data(as_text=True)
    assert "The first three days" in printed and "<nav" not in printed
    assert client.get("/my/instructions?phase=nonsense").status_code == 404
    reads = db.session.scalars(
        sa.select(AuditEvent).where(
            AuditEvent.action == "portal.instructions_viewed",
            AuditEvent.patient_id == user.patient_id,
        )
    ).all()
    assert len(reads) == 3


def test_patient_without_a_planned_treatment_is_told_so(client, login, db, treated):
    treated(None, therapy=None)
    login(Role.PATIENT)
    html = client.get("/my/instructions").get_data(as_text=True)
    assert "once your treatment is planned" in html


def test_record_given_keeps_the_version(db, make_user):
    services.load_samples()
    nurse = make_user(Role.CLINICAL_STAFF)
    patient_user = make_user(Role.PATIENT)
    version = services.newest("prp", Phase.DAYS_0_3)
    receipt = services.record_given(patient_user.patient, version, by=nurse)
    services.save_new_version("prp", Phase.DAYS_0_3, title="t", body="b", based_on=1, by=nurse)
    (kept,) = services.receipts_for(patient_user.patient)
    assert kept.id == receipt.id and kept.text_version.version == 1


def test_a_tampered_version_field_is_a_400_not_a_500(client, login, db):
    services.load_samples()
    login(Role.ADMIN)
    response = client.post_form(
        "/admin/instructions/prp/days_0_3", {"title": "x", "body": "y", "based_on": "x"}
    )
    assert response.status_code == 400


def test_only_approved_text_reaches_patients_otherwise_call_the_clinic(
    client, login, db, treated, make_user
):
    services.load_samples()
    treated(1)
    login(Role.PATIENT)
    html = client.get("/my/instructions").get_data(as_text=True)
    assert 'id="call-the-clinic"' in html and "The first three days" not in html
    admin = make_user(Role.ADMIN)
    services.approve(services.newest("prp", Phase.DAYS_0_3), by=admin)
    html = client.get("/my/instructions").get_data(as_text=True)
    assert "The first three days" in html and 'id="call-the-clinic"' not in html


def test_warning_signs_are_a_separate_highlighted_block_in_every_phase(
    client, login, db, treated, make_user
):
    services.load_samples()
    approve_samples(make_user)
    login(Role.PATIENT)
    for days in (0, 5, 20, 60):
        treated(days, therapy="bmac")
        html = client.get("/my/instructions").get_data(as_text=True)
        block = html[html.index('id="warning-signs"') :]
        for sign in (
            "100.4 °F",
            "worse instead of better",
            "worse when you sit or stand up",
            "new numbness or weakness",
            "where cells were taken",
            "Call 911",
        ):
            assert sign in block, (days, sign)
    for version in db.session.scalars(sa.select(InstructionVersion)):
        assert "Call the clinic straight away" not in version.body  # not buried in the text


EFFECT_CLAIMS = ("sign the treatment", "means it is working", "is at work", "protects the result")


def test_no_sample_sentence_claims_an_effect_and_us_words_by_default(db):
    from clinic.instructions.samples import sample_text, sample_warning_signs

    for therapy in (t.value for t in Therapy):
        for phase in Phase:
            _title, body = sample_text(therapy, phase)
            text = (body + sample_warning_signs(therapy)).lower()
            assert not any(claim in text for claim in EFFECT_CLAIMS), (therapy, phase)
            assert "paracetamol" not in text and "38 °c (" not in text
    _, body = sample_text("prp", Phase.DAYS_0_3)
    assert "acetaminophen" in body
    _, metric = sample_text("prp", Phase.DAYS_0_3, locale="metric")
    assert "paracetamol" in metric and "acetaminophen" not in metric
    assert "38 °C" in sample_warning_signs("prp", "metric")


def test_the_clinic_locale_chooses_the_words_of_loaded_samples(app, db):
    app.config["CLINIC_LOCALE"] = "metric"
    try:
        services.load_samples()
    finally:
        del app.config["CLINIC_LOCALE"]
    version = services.newest("prp", Phase.DAYS_0_3)
    assert "paracetamol" in version.body and "38 °C or higher" in version.warning_signs


def test_warning_signs_can_never_be_emptied(client, login, db, make_user):
    services.load_samples()
    login(Role.ADMIN)
    url = "/admin/instructions/prp/days_0_3"
    response = client.post_form(
        url, {"title": "T", "body": "B", "warning_signs": " ", "based_on": "1"}
    )
    assert response.status_code == 302
    new, old = services.history("prp", Phase.DAYS_0_3)
    assert new.warning_signs == old.warning_signs and "Call 911" in new.warning_signs
    newest_bmac = services.newest("bmac", Phase.PRE_PROCEDURE)
    newest_bmac.warning_signs = ""  # as if it had none: the sample block comes back
    first = services.save_new_version(
        "bmac", Phase.PRE_PROCEDURE, title="T", body="B", based_on=1, by=make_user(Role.ADMIN)
    )
    assert "where cells were taken" in first.warning_signs
