"""The worklist's sections are kept per process between writes (clinic/journeys/services/kept.py):
a second view reads four index probes instead of the sections' statement, and any write to
stages, journeys, care teams or appointments shows on the next view."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Engine

from clinic.auth.models import Role
from clinic.careteam import services as team
from clinic.careteam.models import JourneyMember
from clinic.journeys import models as m
from clinic.journeys.services import kept
from clinic.journeys.services.queries import worklist_for, worklist_rows
from clinic.journeys.states import StageStatus
from tests import factories
from tests.journeys.test_query_counts import build


def _sections_run(request) -> tuple[int, object]:
    """How often the sections' statement ran for `request()`, and what it answered."""
    seen = []

    def note(conn, cursor, statement, *args):
        if "own_first" in statement:
            seen.append(statement)

    event.listen(Engine, "before_cursor_execute", note)
    try:
        answer = request()
    finally:
        event.remove(Engine, "before_cursor_execute", note)
    return len(seen), answer


def _sections_read(client, path: str = "/clinical/worklist") -> tuple[int, str]:
    """How often the sections' statement ran for one view, and the page."""
    count, response = _sections_run(lambda: client.get(path))
    assert response.status_code == 200
    return count, response.get_data(as_text=True)


def test_a_second_view_reads_the_kept_sections(client, db, login, make_user):
    provider = make_user(Role.PROVIDER)
    login(Role.PROVIDER, provider)
    build(db, provider, make_user(Role.CLINICAL_STAFF), 3)
    db.session.commit()
    first, page = _sections_read(client)
    again, same = _sections_read(client)
    assert (first, again) == (1, 0)
    assert page.count("your patient</span>") == same.count("your patient</span>") > 0
    other, _ = _sections_read(client, "/clinical/worklist?show=mine")
    assert other == 1  # another filter is kept apart


def test_a_stage_saved_elsewhere_shows_on_the_next_view(client, db, login, make_user):
    provider = make_user(Role.PROVIDER)
    login(Role.PROVIDER, provider)
    build(db, provider, make_user(Role.CLINICAL_STAFF), 2)
    db.session.commit()
    _sections_read(client)
    stage = db.session.scalars(
        sa.select(m.Stage).where(m.Stage.status == StageStatus.IN_PROGRESS).limit(1)
    ).one()
    stage.status = StageStatus.CANCELLED  # as another process would: written and committed
    stage.ended_at = stage.updated_at
    stage.end_reason = "test"
    db.session.commit()
    again, _ = _sections_read(client)
    assert again == 1
    listed = worklist_rows(provider).sections["in_progress"]  # the rows kept by that view
    assert stage.id not in {r.stage_id for r in listed} and len(listed) == 1


def test_taking_someone_off_a_team_shows_at_once(client, db, login, provider, make_journey):
    covering = factories.make_user(Role.PROVIDER)
    journey = make_journey()
    team.add_member(journey, covering, provider)
    team.add_member(journey, factories.make_user(Role.CLINICAL_STAFF), provider)  # the newest
    db.session.commit()
    login(Role.PROVIDER, covering)
    _, page = _sections_read(client, "/clinical/worklist?show=mine")
    assert journey.patient.display_name in page
    member = db.session.scalars(
        sa.select(JourneyMember).where(JourneyMember.user_id == covering.id)
    ).one()
    team.remove_member(journey, member, provider)
    db.session.commit()
    again, page = _sections_read(client, "/clinical/worklist?show=mine")
    assert again == 1 and journey.patient.display_name not in page


def test_a_transaction_that_wrote_a_stage_reads_its_own_change(db, make_user):
    provider = make_user(Role.PROVIDER)
    build(db, provider, make_user(Role.CLINICAL_STAFF), 1)
    db.session.commit()
    before = worklist_rows(provider)
    stage = db.session.scalars(
        sa.select(m.Stage).where(m.Stage.status == StageStatus.PENDING).limit(1)
    ).one()
    stage.status = StageStatus.IN_PROGRESS
    db.session.flush()  # not committed: the kept rows are neither read nor replaced
    during = worklist_rows(provider)
    assert stage.id in {r.stage_id for r in during.sections["in_progress"]}
    assert stage.id not in {r.stage_id for r in before.sections["in_progress"]}
    db.session.rollback()
    after = worklist_rows(provider)
    assert stage.id not in {r.stage_id for r in after.sections["in_progress"]}


def test_forget_drops_everything(db, make_user):
    provider = make_user(Role.PROVIDER)
    factories.PatientFactory()
    db.session.commit()
    worklist_rows(provider)
    assert kept._kept
    kept.forget()
    assert not kept._kept


def test_batch_signing_decides_on_the_stages_stored_now(client, db, login, make_user):
    """The sign-off list a POST checks against is read afresh, never from kept rows."""
    provider = make_user(Role.PROVIDER)
    login(Role.PROVIDER, provider)
    build(db, provider, make_user(Role.CLINICAL_STAFF), 1)
    db.session.commit()
    token = client.csrf_token("/clinical/worklist")
    worklist_for(provider, sections=("to_sign",))  # kept, as the review page's view keeps it
    count, response = _sections_run(
        lambda: client.client.post("/clinical/worklist/sign", data={"csrf_token": token})
    )
    assert count == 1 and response.status_code == 302
