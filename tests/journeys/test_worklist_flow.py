"""The worklist's filters, counts and appointment times, and signing reviewed stages together."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from clinic.auth.models import Role
from clinic.journeys import walkthrough as walk
from clinic.journeys.states import StageKind, StageStatus
from clinic.models.audit import AuditEvent
from clinic.scheduling.models import VisitKind
from tests.scheduling.factories import make_appointment


def _soon() -> datetime:
    """A time later today in the clinic, a quarter-hour boundary (today in New York too)."""
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    return now + timedelta(minutes=5)


def test_filters_by_stage_and_shows_counts_and_appointment_times(
    client, login, db, make_journey, provider, staff
):
    first, second = make_journey(), make_journey()
    walk.evaluate(first, provider)
    walk.collect(first, staff)
    make_appointment(
        patient=second.patient, provider=provider, starts_at=_soon(), kind=VisitKind.EVALUATION
    )
    login(Role.PROVIDER, provider)
    html = client.get("/clinical/worklist").get_data(as_text=True)
    assert re.search(r"Waiting for your signature <span[^>]*>1</span>", html)
    assert 'id="review-and-sign"' in html
    assert "today " in html and "Evaluation" in html  # the second patient's visit time
    only = client.get("/clinical/worklist?stage=collection").get_data(as_text=True)
    assert first.patient.display_name in only and second.patient.display_name not in only
    assert re.search(r'<option value="collection" selected>Cell collection \(1\)</option>', only)
    assert "1 stage listed" in only
    assert client.get("/clinical/worklist?stage=nonsense").status_code == 400
    assert client.get("/clinical/worklist?when=someday").status_code == 400


def test_a_section_shows_its_first_25_and_links_to_all_of_them(
    client, login, db, make_journey, provider
):
    journeys = [make_journey() for _ in range(27)]  # each evaluation is up next
    login(Role.PROVIDER, provider)
    html = client.get("/clinical/worklist?when=any").get_data(as_text=True)
    assert re.search(r"Up next <span[^>]*>27</span>", html)
    shown = [j for j in journeys if j.patient.display_name in html]
    assert len(shown) == 25
    link = re.search(r'<a href="([^"]+)" id="wl-ready-all">Show all 27</a>', html)
    assert link is not None
    assert "section=ready" in link.group(1) and link.group(1).endswith("#wl-ready")
    everything = client.get(link.group(1).replace("&amp;", "&")).get_data(as_text=True)
    assert all(j.patient.display_name in everything for j in journeys)
    assert 'id="wl-ready-all"' not in everything
    assert client.get("/clinical/worklist?section=elsewhere").status_code == 400


def test_today_keeps_patients_with_a_visit_today_or_work_today(
    client, login, db, make_journey, provider
):
    quiet, booked = make_journey(), make_journey()
    make_appointment(patient=booked.patient, provider=provider, starts_at=_soon())
    # the quiet patient's evaluation was last touched a week ago
    db.session.execute(
        sa.update(type(quiet.evaluation))
        .where(type(quiet.evaluation).id == quiet.evaluation.id)
        .values(updated_at=datetime.now(UTC) - timedelta(days=8))
    )
    db.session.expire_all()
    login(Role.PROVIDER, provider)
    today = client.get("/clinical/worklist?when=today").get_data(as_text=True)
    assert booked.patient.display_name in today
    assert quiet.patient.display_name not in today
    everything = client.get("/clinical/worklist?when=any").get_data(as_text=True)
    assert quiet.patient.display_name in everything


def test_review_page_shows_each_stage_then_signs_the_ticked_ones(
    client, login, db, make_journey, provider, staff
):
    first, second = make_journey(), make_journey()
    for journey in (first, second):
        walk.evaluate(journey, provider)
        walk.collect(journey, staff)
    one = walk.stage_of(first, StageKind.COLLECTION)
    two = walk.stage_of(second, StageKind.COLLECTION)
    login(Role.PROVIDER, provider)
    review = client.get("/clinical/worklist/sign").get_data(as_text=True)
    for stage in (one, two):
        assert f'value="{stage.id}:{stage.version}"' in review
    assert "Collected at" in review or "Identifiers checked" in review  # key values shown
    answer = client.post_form(
        "/clinical/worklist/sign",
        {"stage_ids": [f"{one.id}:{one.version}"]},
        token_from="/clinical/worklist/sign",
    )
    assert answer.status_code == 302
    db.session.expire_all()
    assert one.status is StageStatus.SIGNED and two.status is StageStatus.COMPLETED
    page = client.get("/clinical/worklist/sign").get_data(as_text=True)
    assert "Signed 1:" in page and f'value="{one.id}:' not in page
    signed = db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == "stage.signed")
    ).all()
    assert len(signed) >= 1


def test_a_stage_changed_after_review_is_not_signed(
    client, login, db, make_journey, provider, staff
):
    journey = make_journey()
    walk.evaluate(journey, provider)
    walk.collect(journey, staff)
    stage = walk.stage_of(journey, StageKind.COLLECTION)
    login(Role.PROVIDER, provider)
    client.get("/clinical/worklist/sign")
    seen = stage.version
    # someone changes it after the review page was opened
    db.session.execute(
        sa.update(type(stage)).where(type(stage).id == stage.id).values(version=seen + 1)
    )
    db.session.expire_all()
    assert stage.version != seen
    client.post_form(
        "/clinical/worklist/sign",
        {"stage_ids": [f"{stage.id}:{seen}"]},
        token_from="/clinical/worklist/sign",
    )
    db.session.expire_all()
    assert stage.status is StageStatus.COMPLETED
    page = client.get("/clinical/worklist/sign").get_data(as_text=True)
    assert "Not signed:" in page and "changed after you reviewed it" in page


def test_only_providers_review_and_sign(client, login):
    login(Role.CLINICAL_STAFF)
    assert client.get("/clinical/worklist/sign").status_code == 403


def test_review_page_reads_a_fixed_number_of_statements_whatever_it_lists(
    client, login, db, make_journey, provider, staff, staff2, count_queries
):
    """Each stage's record is read with the others of its kind, not one by one."""

    def waiting(n: int) -> None:
        for _ in range(n):
            journey = make_journey()
            walk.evaluate(journey, provider)
            walk.collect(journey, staff)
            walk.process(journey, staff, staff2)

    def statements() -> int:
        with count_queries() as counter:
            assert client.get("/clinical/worklist/sign").status_code == 200
        return counter.count

    login(Role.PROVIDER, provider)
    waiting(1)
    few = statements()
    waiting(3)  # four of each kind now wait (evaluation is signed; collection, processing)
    assert statements() == few
