"""Operations figures by clinician and month, against hand-computed fixtures."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa

from clinic.auth.models import Role
from clinic.extensions import db as _db
from clinic.journeys import models as m
from clinic.journeys.services.journeys import record_of
from clinic.journeys.states import FollowUpStatus, StageKind
from clinic.models.audit import AuditEvent
from clinic.outcomes.operations import operations
from clinic.scheduling.models import Appointment, Status, VisitKind
from tests import factories
from tests.outcomes.registry_data import treat
from tests.outcomes.test_registry import _count_queries

TODAY = date(2026, 6, 1)
START, END = date(2026, 2, 1), date(2026, 4, 30)


def _at(day: str, clock: str = "10:30") -> datetime:
    return datetime.fromisoformat(f"{day}T{clock}:00").replace(tzinfo=UTC)


def _timeline(journey: m.Journey, evaluated: str, collected: str, injected: str) -> None:
    """Put a treated journey's evaluation, collection and injection on fixed moments."""
    cycle = journey.cycles[0]
    journey.evaluation.completed_at = _at(evaluated)
    for stage in cycle.stages:
        if stage.kind is StageKind.COLLECTION:
            record_of(stage).collected_at = datetime.fromisoformat(collected).replace(tzinfo=UTC)
        if stage.kind is StageKind.INJECTION:
            record_of(stage).procedure_started_at = _at(injected)
    _db.session.flush()


def _visit(patient, provider, day: str, status: Status, clock: str = "10:30") -> None:
    starts = _at(day, clock)
    _db.session.add(
        Appointment(
            patient_id=patient.id, provider_id=provider.id, kind=VisitKind.FOLLOW_UP,
            starts_at=starts, ends_at=starts + timedelta(minutes=30), status=status,
            cancel_reason="Patient rang" if status is Status.CANCELLED else None,
            checked_in_at=starts if status is Status.COMPLETED else None,
        )
    )  # fmt: skip


def _follow_up(fu: m.FollowUp, due: str, status: FollowUpStatus, by) -> None:
    day = date.fromisoformat(due)
    fu.due_on, fu.window_opens_on, fu.window_closes_on = day, day - timedelta(2), day + timedelta(2)
    fu.status = status
    if status is FollowUpStatus.DONE:
        fu.completed_at, fu.completed_by_id, fu.plan = _at(due), by.id, "continue"
    if status is FollowUpStatus.MISSED:
        fu.loss_reason = "unreachable"


@pytest.fixture
def clinic_months(db, make_journey, provider, staff, staff2):
    """Provider P: two March injections (evaluation 14 and 23 days before; collection 90 and 30
    minutes before), one April injection (9 days, 60 minutes); March visits 3 seen, 1 no-show,
    1 cancelled; March follow-ups done, missed, overdue and cancelled, one April follow-up done.
    Provider Q: one March no-show."""
    a, b, c = (treat(make_journey, provider, staff, staff2) for _ in range(3))
    _timeline(a, "2026-03-01", "2026-03-15T09:00", "2026-03-15")
    _timeline(b, "2026-02-25", "2026-03-20T10:00", "2026-03-20")
    _timeline(c, "2026-04-01", "2026-04-10T09:30", "2026-04-10")
    for hour, status in enumerate((Status.COMPLETED,) * 3 + (Status.NO_SHOW, Status.CANCELLED)):
        _visit(a.patient, provider, "2026-03-11", status, f"{13 + hour}:00")
    other = factories.make_user(Role.PROVIDER, full_name="Dr. Other")
    _visit(b.patient, other, "2026-03-12", Status.NO_SHOW)
    visits = db.session.scalars(
        sa.select(m.FollowUp).where(m.FollowUp.journey_id == a.id).order_by(m.FollowUp.id)
    ).all()
    for fu, (due, status) in zip(
        visits,
        [
            ("2026-03-10", FollowUpStatus.DONE),
            ("2026-03-12", FollowUpStatus.MISSED),
            ("2026-03-20", FollowUpStatus.SCHEDULED),
            ("2026-03-25", FollowUpStatus.CANCELLED),
            ("2026-04-02", FollowUpStatus.DONE),
        ],
        strict=False,
    ):
        _follow_up(fu, due, status, provider)
    db.session.flush()
    return provider, other


def _row(result, month: str, provider_id: int | None):
    rows = result.clinic if provider_id is None else result.rows
    return next(r for r in rows if r.month == month and r.provider_id == provider_id)


def test_figures_by_provider_and_month_match_hand_computation(app, clinic_months):
    provider, other = clinic_months
    result = operations(START, END, today=TODAY)
    march = _row(result, "2026-03", provider.id).figures(min_cell=2)
    assert (march["no_show"].value, march["no_show"].count) == (25, 4)  # cancelled not counted
    assert march["evaluation_days"].value == pytest.approx(18.5)  # (14 + 23) / 2
    assert march["collection_minutes"].value == pytest.approx(60)  # (90 + 30) / 2
    assert march["follow_up_done"].value == pytest.approx(100 / 3)  # done of done+missed+overdue
    assert (march["overdue"].value, march["follow_up_done"].count) == (1, 3)
    april = _row(result, "2026-04", provider.id).figures(min_cell=2)
    assert april["evaluation_days"].value == pytest.approx(9)
    assert april["evaluation_days"].suppressed and april["follow_up_done"].suppressed
    assert not april["no_show"].suppressed and april["no_show"].value is None  # nothing to hide
    assert _row(result, "2026-03", other.id).sums.no_shows == 1
    clinic = _row(result, "2026-03", None).figures(min_cell=2)
    assert (clinic["no_show"].value, clinic["no_show"].count) == (40, 5)


def test_small_cells_are_suppressed_and_filters_narrow(app, clinic_months):
    provider, other = clinic_months
    result = operations(START, END, today=TODAY)
    assert result.min_cell == 5
    march = _row(result, "2026-03", provider.id).figures(result.min_cell)
    assert march["no_show"].suppressed and march["follow_up_done"].suppressed
    only = operations(START, END, provider_id=other.id, today=TODAY)
    assert {r.provider_id for r in only.rows} == {other.id}
    assert operations(date(2026, 5, 1), date(2026, 5, 31), today=TODAY).rows == []


def test_query_count_does_not_grow_with_the_data(db, app, make_journey, provider, staff, staff2):
    empty = _count_queries(db, lambda: operations(START, END, today=TODAY))
    for _ in range(3):
        _timeline(treat(make_journey, provider, staff, staff2), "2026-03-01", "2026-03-15T09:00",
                  "2026-03-15")  # fmt: skip
    assert _count_queries(db, lambda: operations(START, END, today=TODAY)) == empty == 4


def test_operations_page_for_providers_and_admins(client, login, db, clinic_months):
    provider, _other = clinic_months
    login(Role.PROVIDER, provider)
    page = client.get("/registry/operations?from=2026-02-01&to=2026-04-30")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "March 2026" in html and "Dr. Other" in html and "<svg" in html
    assert "fewer than 5" in html
    audit = db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == "registry.operations_viewed")
    ).all()
    assert audit and "from=2026-02-01" in audit[-1].detail
    assert client.get("/registry/operations?from=2026-05-01&to=2026-04-01").status_code == 400
    assert client.get("/registry/operations?from=yesterday").status_code == 400
