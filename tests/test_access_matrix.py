"""The route × role matrix: every route, every role, one parametrised test.

Each new route is added to ROUTES; `test_every_route_is_in_the_matrix` fails until it is.

The records the URLs name are built once per database for the whole module, and every cell runs
inside a savepoint that is rolled back, so each cell still sees them untouched. A refusal (403)
and the anonymous redirect to sign-in are decided before any query that differs between
databases, so those cells run on SQLite only; every cell where a role is let in, and every public
route, runs on both.
"""

from __future__ import annotations

import time
from datetime import date

import pytest

from clinic.auth.models import Role, User
from clinic.careteam import services as careteam
from clinic.careteam.models import BreakGlassReason
from clinic.extensions import db as _db
from clinic.instructions.phases import Phase
from clinic.instructions.services import load_samples, newest
from clinic.jobs import queue
from clinic.journeys import models as m
from clinic.mail import OutboxMessage
from clinic.outcomes.services import assign
from clinic.patients.models import Patient
from clinic.scheduling.feeds import new_token
from clinic.timeutil import clinic_today
from tests import factories
from tests.careteam_helpers import join_care_team
from tests.conftest import savepoint_db
from tests.factories import PatientFactory, make_user
from tests.journeys.records import placeholders as journey_placeholders
from tests.messaging.helpers import matrix_records as messaging_records
from tests.patients.records import make_merge_record
from tests.scheduling.factories import make_appointment, make_room

A, FD, PR, CS, PT = (Role.ADMIN, Role.FRONT_DESK, Role.PROVIDER, Role.CLINICAL_STAFF, Role.PATIENT)
STAFF = {A, FD, PR, CS}
EVERYONE = STAFF | {PT}
PUBLIC = "public"

# endpoint, method, URL (placeholders filled per test), who may use it
ROUTES: list[tuple[str, str, str, object]] = [
    ("main.index", "GET", "/", PUBLIC),
    ("main.healthz", "GET", "/healthz", PUBLIC),
    ("health.livez", "GET", "/livez", PUBLIC),
    ("health.readyz", "GET", "/readyz", PUBLIC),
    ("auth.login", "GET", "/login", PUBLIC),
    ("auth.logout", "POST", "/logout", EVERYONE),
    ("auth.change_password", "GET", "/account/password", EVERYONE),
    ("auth.login_code", "GET", "/login/code", PUBLIC),
    ("auth.two_step", "GET", "/account/two-step", STAFF),
    ("auth.two_step_start", "POST", "/account/two-step/start", STAFF),
    ("auth.two_step_setup", "GET", "/account/two-step/setup", STAFF),
    ("auth.renew_recovery_codes", "POST", "/account/two-step/recovery-codes", STAFF),
    ("auth.sessions", "GET", "/account/sessions", EVERYONE),
    ("auth.sign_out_everywhere", "POST", "/account/sessions/end-all", EVERYONE),
    ("main.account", "GET", "/account", EVERYONE),
    ("main.front_desk", "GET", "/front-desk", {FD, A}),
    ("main.clinical", "GET", "/clinical", {PR, CS}),
    # journeys: the clinical chart and every stage are for providers and clinical staff only
    ("journeys.worklist", "GET", "/clinical/worklist", {PR, CS}),
    ("journeys.find_patient", "GET", "/clinical/patients?q=fa", {PR, CS}),
    ("journeys.batch_sign", "GET", "/clinical/worklist/sign", {PR}),
    ("journeys.batch_sign", "POST", "/clinical/worklist/sign", {PR}),
    ("journeys.chart", "GET", "/clinical/patients/{journey_patient}/chart", {PR, CS}),
    ("journeys.new_journey", "GET", "/clinical/patients/{journey_patient}/journeys/new", {PR}),
    ("journeys.new_journey", "POST", "/clinical/patients/{journey_patient}/journeys/new", {PR}),
    # provider-only decisions: clinical staff get a 403 with the reason
    ("journeys.repeat_cycle", "POST", "/clinical/journeys/{journey}/repeat", {PR}),
    ("journeys.add_target", "POST", "/clinical/journeys/{journey}/targets", {PR}),
    ("journeys.set_conditions", "POST", "/clinical/journeys/{journey}/conditions", {PR}),
    ("journeys.end_journey", "POST", "/clinical/journeys/{journey}/end/cancel", {PR}),
    ("journeys.stage", "GET", "/clinical/journeys/{journey}/stages/{stage}", {PR, CS}),
    ("journeys.stage", "POST", "/clinical/journeys/{journey}/stages/{stage}", {PR, CS}),
    # signing: the responsible or a covering provider only (the matrix's provider is responsible)
    ("journeys.stage_action", "POST", "/clinical/journeys/{journey}/stages/{stage}/sign", {PR}),
    (
        "journeys.stage_action",
        "POST",
        "/clinical/journeys/{journey}/stages/{stage}/start",
        {PR, CS},
    ),
    (
        "journeys.checklist",
        "POST",
        "/clinical/journeys/{journey}/stages/{stage}/checklist",
        {PR, CS},
    ),
    ("journeys.add_note", "POST", "/clinical/journeys/{journey}/stages/{stage}/notes", {PR, CS}),
    ("journeys.time_out", "POST", "/clinical/journeys/{journey}/stages/{stage}/time-out", {PR, CS}),
    ("journeys.add_site", "POST", "/clinical/journeys/{journey}/stages/{stage}/sites", {PR, CS}),
    ("journeys.follow_up", "GET", "/clinical/journeys/{journey}/follow-ups/{follow_up}", {PR, CS}),
    ("journeys.follow_up", "POST", "/clinical/journeys/{journey}/follow-ups/{follow_up}", {PR, CS}),
    (
        "journeys.follow_up_missed",
        "POST",
        "/clinical/journeys/{journey}/follow-ups/{follow_up}/missed",
        {PR, CS},
    ),
    (
        "journeys.specimen_label",
        "GET",
        "/clinical/journeys/{journey}/specimens/{specimen}/label",
        {PR, CS},
    ),
    ("journeys.add_allergy", "POST", "/clinical/patients/{journey_patient}/allergies", {PR, CS}),
    (
        "journeys.remove_allergy",
        "POST",
        "/clinical/patients/{journey_patient}/allergies/{allergy}/remove",
        {PR, CS},
    ),
    ("journeys.add_medicine", "POST", "/clinical/patients/{journey_patient}/medicines", {PR, CS}),
    (
        "journeys.stop_medicine",
        "POST",
        "/clinical/patients/{journey_patient}/medicines/{medicine}/stop",
        {PR, CS},
    ),
    (
        "journeys.review_contraindications",
        "POST",
        "/clinical/journeys/{journey}/contraindication-review",
        {PR, CS},
    ),
    (
        "journeys.day_of_screen",
        "GET",
        "/clinical/journeys/{journey}/cycles/{cycle}/screen",
        {PR, CS},
    ),
    (
        "journeys.day_of_screen",
        "POST",
        "/clinical/journeys/{journey}/cycles/{cycle}/screen",
        {PR, CS},
    ),
    ("journeys.consent", "GET", "/clinical/journeys/{journey}/consent", {PR, CS}),
    ("main.patient_home", "GET", "/my", {PT}),
    ("admin.users", "GET", "/admin/users", {A}),
    ("admin.merges", "GET", "/admin/merges", {A}),
    ("admin.merge_patients", "GET", "/admin/merges/new?a={patient}&b={other_patient}", {A}),
    ("admin.merge_patients", "POST", "/admin/merges/new", {A}),
    ("admin.merge_detail", "GET", "/admin/merges/{merge}", {A}),
    ("admin.new_user", "GET", "/admin/users/new", {A}),
    ("admin.new_user", "POST", "/admin/users/new", {A}),
    ("admin.user_detail", "GET", "/admin/users/{other}", {A}),
    ("admin.edit_user", "GET", "/admin/users/{other}/edit", {A}),
    ("admin.edit_user", "POST", "/admin/users/{other}/edit", {A}),
    ("admin.deactivate_user", "POST", "/admin/users/{other}/deactivate", {A}),
    ("admin.reactivate_user", "POST", "/admin/users/{other}/reactivate", {A}),
    ("admin.reset_password", "POST", "/admin/users/{other}/password", {A}),
    ("admin.reset_two_step", "POST", "/admin/users/{other}/two-step/reset", {A}),
    ("admin.audit", "GET", "/admin/audit", {A}),
    ("admin.audit", "GET", "/admin/audit?patient_id={patient}", {A}),
    ("admin.audit_export", "GET", "/admin/audit/export.csv?action=auth", {A}),
    ("admin.break_glass_uses", "GET", "/admin/break-glass", {A}),
    ("admin.break_glass_uses", "GET", "/admin/break-glass?show=all", {A}),
    ("admin.review_break_glass", "POST", "/admin/break-glass/{break_glass}/review", {A}),
    # care team: break-glass for clinicians; assignments for admins and the responsible provider
    ("careteam.break_glass", "GET", "/care-team/patients/{other_patient}/break-glass", {PR, CS}),
    ("careteam.break_glass", "POST", "/care-team/patients/{other_patient}/break-glass", {PR, CS}),
    ("careteam.journeys", "GET", "/care-team/journeys", {A}),
    ("careteam.journey_team", "GET", "/care-team/journeys/{journey}", {A, PR}),
    ("careteam.add_member", "POST", "/care-team/journeys/{journey}/members", {A, PR}),
    (
        "careteam.remove_member",
        "POST",
        "/care-team/journeys/{journey}/members/{member}/remove",
        {A, PR},
    ),
    ("careteam.change_provider", "POST", "/care-team/journeys/{journey}/provider", {A}),
    ("jobs.undelivered", "GET", "/admin/messages", {A}),
    ("jobs.retry", "POST", "/admin/messages/{queued}/retry", {A}),
    ("portal.access", "GET", "/portal-access/{patient}", {FD, A}),
    ("portal.invite", "POST", "/portal-access/{patient}/invite", {FD, A}),
    ("portal.send_reset", "POST", "/portal-access/{patient}/reset", {FD, A}),
    ("portal.revoke", "POST", "/portal-access/{patient}/revoke", {FD, A}),
    ("portal.outbox", "GET", "/outbox", {FD, A}),
    ("portal.outbox_message", "GET", "/outbox/{message}", {FD, A}),
    ("portal.redeem", "GET", "/portal/link/not-a-real-token", PUBLIC),
    ("outcomes.my_questionnaires", "GET", "/my/questionnaires", {PT}),
    ("instructions.overview", "GET", "/admin/instructions", {A}),
    ("instructions.edit", "GET", "/admin/instructions/prp/days_0_3", {A}),
    ("instructions.edit", "POST", "/admin/instructions/prp/days_0_3", {A}),
    ("instructions.approve", "POST", "/admin/instructions/version/{instruction}/approve", {A}),
    ("instructions.mine", "GET", "/my/instructions", {PT}),
    ("instructions.mine_print", "GET", "/my/instructions/print", {PT}),
    ("outcomes.answer", "GET", "/my/questionnaires/{own_response}", {PT}),
    ("outcomes.my_progress", "GET", "/my/progress", {PT}),
    ("portal.my_journey", "GET", "/my/journey", {PT}),
    ("outcomes.patient_outcomes", "GET", "/patients/{patient}/outcomes", {PR, CS}),
    ("outcomes.assign", "POST", "/patients/{patient}/outcomes/assign", {PR, CS}),
    ("outcomes.enter_for_patient", "GET", "/questionnaires/{response}/enter", {PR, CS}),
    ("outcomes.void", "POST", "/questionnaires/{response}/void", {PR, CS}),
    ("portal.forgot_password", "GET", "/portal/forgot", PUBLIC),
    # outcomes registry, adverse events and patients' concerns
    ("outcomes.registry", "GET", "/registry", {PR, A}),
    ("outcomes.registry", "GET", "/registry?therapy=prp&dose=B&region=lumbar", {PR, A}),
    ("outcomes.registry_export", "GET", "/registry/export.csv", {PR, A}),
    ("outcomes.registry_operations", "GET", "/registry/operations", {PR, A}),
    ("outcomes.registry_operations", "GET", "/registry/operations?from=2026-01-01", {PR, A}),
    ("outcomes.registry_export", "GET", "/registry/export.csv?variant=deidentified", {PR, A}),
    ("outcomes.patient_outcomes_csv", "GET", "/patients/{patient}/outcomes.csv", {PR, CS}),
    ("outcomes.report_event", "GET", "/journeys/{journey}/adverse-events/new", {PR, CS}),
    ("outcomes.report_event", "POST", "/journeys/{journey}/adverse-events/new", {PR, CS}),
    ("outcomes.adverse_event", "GET", "/adverse-events/{adverse_event}", {PR, CS}),
    ("outcomes.adverse_event", "POST", "/adverse-events/{adverse_event}", {PR, CS}),
    ("outcomes.review_event", "POST", "/adverse-events/{adverse_event}/review", {PR}),
    ("outcomes.safety", "GET", "/safety", {PR, CS}),
    ("outcomes.dismiss_concern", "POST", "/concerns/{concern}/dismiss", {PR, CS}),
    ("outcomes.raise_concern", "GET", "/my/concern", {PT}),
    ("outcomes.raise_concern", "POST", "/my/concern", {PT}),
    # patients
    ("patients.search", "GET", "/patients/?q=smith", STAFF),
    ("patients.pick_json", "GET", "/patients/pick.json?q=smith", STAFF),
    ("patients.choose_for_journey", "GET", "/patients/choose/journey?find=smith", {PR}),
    ("patients.register", "GET", "/patients/new", {FD, A}),
    ("patients.register", "POST", "/patients/new", {FD, A}),
    ("patients.detail", "GET", "/patients/{patient}", STAFF),
    ("patients.edit", "GET", "/patients/{patient}/edit", {FD, A}),
    ("patients.edit", "POST", "/patients/{patient}/edit", {FD, A}),
    # scheduling
    ("scheduling.book", "GET", "/schedule/book", {FD, A}),
    ("scheduling.book", "POST", "/schedule/book", {FD, A}),
    ("scheduling.appointment", "GET", "/schedule/appointments/{appt}", STAFF),
    ("scheduling.set_status", "POST", "/schedule/appointments/{appt}/status", STAFF),
    ("scheduling.cancel", "POST", "/schedule/appointments/{appt}/cancel", {FD, A}),
    ("scheduling.reschedule", "GET", "/schedule/appointments/{appt}/reschedule", {FD, A}),
    ("scheduling.reschedule", "POST", "/schedule/appointments/{appt}/reschedule", {FD, A}),
    ("scheduling.move", "POST", "/schedule/appointments/{appt}/move", {FD, A}),
    ("scheduling.find_slots", "GET", "/schedule/slots?kind=follow_up", STAFF),
    ("scheduling.day", "GET", "/schedule/day", STAFF),
    ("scheduling.day", "GET", "/schedule/day?view=rooms", STAFF),
    ("scheduling.week", "GET", "/schedule/week", STAFF),
    ("scheduling.board", "GET", "/schedule/board", STAFF),
    ("scheduling.board_rows", "GET", "/schedule/board/rows", STAFF),
    ("scheduling.print_day", "GET", "/schedule/day/print", STAFF),
    ("scheduling.calendar_file", "GET", "/schedule/clinicians/{provider}/calendar.ics", {FD, A}),
    ("scheduling.calendar_feed", "GET", "/schedule/clinicians/{provider}/feed", {FD, A}),
    ("scheduling.calendar_feed", "POST", "/schedule/clinicians/{provider}/feed", {FD, A}),
    ("scheduling.revoke_feed", "POST", "/schedule/clinicians/{provider}/feed/revoke", {FD, A}),
    ("scheduling.feed", "GET", "/schedule/feed/{feed}.ics", PUBLIC),
    ("scheduling.recalls_list", "GET", "/schedule/recalls", {FD, A}),
    ("scheduling.recalls_list", "GET", "/schedule/recalls?show=overdue", {FD, A}),
    ("scheduling.book_recall", "POST", "/schedule/recalls/{follow_up}/book", {FD, A}),
    ("scheduling.rooms", "GET", "/schedule/rooms", {A}),
    ("scheduling.edit_room", "GET", "/schedule/rooms/new", {A}),
    ("scheduling.edit_room", "POST", "/schedule/rooms/new", {A}),
    ("scheduling.edit_room", "GET", "/schedule/rooms/{room}/edit", {A}),
    ("scheduling.edit_room", "POST", "/schedule/rooms/{room}/edit", {A}),
    ("scheduling.hours", "GET", "/schedule/hours", {A}),
    ("scheduling.edit_hours", "GET", "/schedule/hours/{other}", {A}),
    ("scheduling.edit_hours", "POST", "/schedule/hours/{other}", {A}),
    ("journeys_admin.checklist_list", "GET", "/admin/clinical/checklists", {A}),
    (
        "journeys_admin.checklist_new",
        "GET",
        "/admin/clinical/checklists/new?kind=injection&therapy=",
        {A},
    ),
    (
        "journeys_admin.checklist_new",
        "POST",
        "/admin/clinical/checklists/new?kind=injection&therapy=",
        {A},
    ),
    ("journeys_admin.conditions", "GET", "/admin/clinical/conditions", {A}),
    ("journeys_admin.conditions", "POST", "/admin/clinical/conditions", {A}),
    ("journeys_admin.condition_toggle", "POST", "/admin/clinical/conditions/1/toggle", {A}),
    ("journeys_admin.protocol", "GET", "/admin/clinical/follow-up-protocols/prp", {A}),
    ("journeys_admin.protocol", "POST", "/admin/clinical/follow-up-protocols/prp", {A}),
    # patient messages: wording and settings (admins), staff views, the team inbox (no admins:
    # clinical content; the front desk sees appointment threads only), the patient's messages
    ("messaging.templates", "GET", "/messages/templates", {A}),
    ("messaging.edit_template", "GET", "/messages/templates/confirmation/any/any", {A}),
    ("messaging.edit_template", "POST", "/messages/templates/confirmation/procedure/prp", {A}),
    (
        "messaging.new_template",
        "GET",
        "/messages/templates/new?kind=recall&visit_kind=any&therapy=prp",
        {A},
    ),
    ("messaging.settings", "GET", "/messages/settings", {A}),
    ("messaging.settings", "POST", "/messages/settings", {A}),
    ("messaging.sms_outbox", "GET", "/messages/sms-outbox", {FD, A}),
    ("messaging.patient_messages", "GET", "/messages/patients/{patient}", STAFF),
    ("messaging.set_consent", "POST", "/messages/patients/{patient}/consent", {FD, A}),
    ("messaging.upcoming", "GET", "/messages/upcoming", {FD, A}),
    ("messaging.upcoming", "GET", "/messages/upcoming?date=2026-03-08", {FD, A}),
    ("messaging.requests", "GET", "/messages/requests", {FD, A}),
    ("messaging.request_handled", "POST", "/messages/requests/{patient_reply}/handled", {FD, A}),
    ("messaging.team_inbox", "GET", "/messages/inbox", {FD, PR, CS}),
    ("messaging.team_inbox", "GET", "/messages/inbox?show=unread", {FD, PR, CS}),
    ("messaging.team_thread", "GET", "/messages/inbox/{thread}", {FD, PR, CS}),
    ("messaging.team_thread", "POST", "/messages/inbox/{thread}", {FD, PR, CS}),
    ("messaging.assign_thread", "POST", "/messages/inbox/{thread}/assign", {PR, CS}),
    ("messaging.flag_urgent", "POST", "/messages/inbox/{thread}/urgent", {PR, CS}),
    ("messaging.mark_unread", "POST", "/messages/inbox/{thread}/unread", {FD, PR, CS}),
    ("messaging.my_messages", "GET", "/my/messages", {PT}),
    ("messaging.my_messages", "POST", "/my/messages", {PT}),
    ("messaging.my_thread", "GET", "/my/messages/{own_thread}", {PT}),
    ("messaging.my_thread", "POST", "/my/messages/{own_thread}", {PT}),
    # reached from a message without signing in: the link's own secret decides (410 unusable)
    ("messaging.visit_link", "GET", "/m/visit/{appt}/not-a-real-token", PUBLIC),
    ("messaging.visit_link", "POST", "/m/visit/{appt}/not-a-real-token", PUBLIC),
    ("messaging.opt_out", "GET", "/m/stop/not-a-real-token", PUBLIC),
    ("messaging.opt_out", "POST", "/m/stop/not-a-real-token", PUBLIC),
    # the SMS provider's webhook: only a request signed with the provider's token is served
    ("messaging.sms_inbound", "POST", "/messages/sms/inbound", PUBLIC),
]
# Public routes that answer an unsigned request with 403 (the matrix posts no signature).
SIGNED_WEBHOOKS = {"messaging.sms_inbound"}

ROLES = [*Role, None]  # None: not signed in


def _answer_is_known_before_any_query(role: Role | None, allowed: object) -> bool:
    """Anonymous visitors and refused roles get their answer from the role alone."""
    if allowed == PUBLIC:
        return False
    return role is None or role not in allowed  # type: ignore[operator]


def _cells() -> list:
    cells = []
    for endpoint, method, url, allowed in ROUTES:
        for role in ROLES:
            marks = (
                [pytest.mark.dialect_independent]
                if _answer_is_known_before_any_query(role, allowed)
                else []
            )
            who = role.value if role else "anonymous"
            cells.append(
                pytest.param(
                    role, endpoint, method, url, allowed, marks=marks, id=f"{who}-{method} {url}"
                )
            )
    return cells


def _build_records() -> dict[str, object]:
    """Every record a matrix URL names, plus one signed-in user per role."""
    other = make_user(Role.CLINICAL_STAFF)
    patient = PatientFactory()
    message = OutboxMessage(recipient="x@x.example.com", subject="s", body="b")
    _db.session.add(message)
    queued = queue.enqueue(_db.session, "x@x.example.com", "s", "b")
    _db.session.flush()

    def baseline(for_patient) -> int:
        return assign(
            for_patient,
            ["nrs_pain"],
            timepoint="baseline",
            available_from=clinic_today(),
            due_by=None,
            by=None,
        )[0].id

    users = {role: make_user(role) for role in Role}
    load_samples()
    room = make_room()
    appt = make_appointment(room=room)
    ids: dict[str, object] = dict(
        instruction=newest("prp", Phase.DAYS_0_3).id,
        other=other.id,
        patient=patient.id,
        message=message.id,
        queued=queued.id,
        response=baseline(patient),
        own_response=baseline(users[Role.PATIENT].patient),
        appt=appt.id,
        room=room.id,
        provider=appt.provider_id,
        feed=new_token(appt.provider, by=other),
        **journey_placeholders(),
    )
    # The matrix's provider is the journey's responsible provider, its clinical staff member is
    # assigned, and both are on `patient`'s care team: the care-team dimension is tested below.
    journey = _db.session.get(m.Journey, ids["journey"])
    journey.provider_id = users[Role.PROVIDER].id
    member = careteam.add_member(journey, users[Role.CLINICAL_STAFF], users[Role.ADMIN])
    for role in (Role.PROVIDER, Role.CLINICAL_STAFF):
        join_care_team(users[role], patient)
    other_patient = PatientFactory()
    grant = careteam.grant_break_glass(
        other, patient, BreakGlassReason.EMERGENCY, "Covering the evening clinic.", 4
    )
    ids.update(member=member.id, other_patient=other_patient.id, break_glass=grant.id)
    ids.update(merge=make_merge_record().id)
    ids.update(_safety_records(ids, users))
    ids.update(messaging_records(patient, users[Role.PATIENT], appt))
    ids["users"] = {role: users[role].id for role in Role}
    return ids


def _safety_records(ids: dict, users: dict) -> dict[str, int]:
    """A serious adverse event and an open concern on the matrix's journey."""
    from clinic.journeys.models import Journey
    from clinic.outcomes.adverse_models import AdverseEvent, PatientConcern

    journey = _db.session.get(Journey, ids["journey"])
    event = AdverseEvent(
        patient_id=journey.patient_id, journey_id=journey.id, term_code="fever",
        term_label="Fever", terminology="test", onset_on=date(2026, 6, 1), grade=3,
        serious_hospital=True, serious=True, related_procedure="possible",
        related_product="unlikely", action_taken="medicine", outcome="recovering",
        reported_by_id=users[Role.PROVIDER].id,
    )  # fmt: skip
    concern = PatientConcern(patient_id=journey.patient_id, journey_id=journey.id, body="worried")
    _db.session.add_all([event, concern])
    _db.session.flush()
    return dict(adverse_event=event.id, concern=concern.id)


@pytest.fixture(scope="module")
def records(app, module_connection) -> dict[str, object]:
    with app.app_context():
        ids = _build_records()
        _db.session.commit()  # releases the session's savepoint; the module transaction stays
        _db.session.remove()
    return ids


@pytest.fixture
def db(app, module_connection, records):
    """This module's records, inside a savepoint that is rolled back after each cell."""
    with savepoint_db(app, module_connection) as database:
        yield database


def test_every_route_is_in_the_matrix(app):
    listed = {endpoint for endpoint, *_ in ROUTES}
    registered = {
        rule.endpoint
        for rule in app.url_map.iter_rules()
        if rule.endpoint not in ("static", "bootstrap.static")
    }
    assert registered - listed == set(), "add these routes to ROUTES"


# Every cell's session holds the same CSRF secret, so one token (fetched once) serves them all.
CSRF_SECRET = "route-role-matrix"


def _start_session(client, user_id: int | None) -> None:
    """Write the session the login page would (the sign-in itself is tested elsewhere)."""
    now = int(time.time())
    with client.session_transaction() as session:
        session["csrf_token"] = CSRF_SECRET
        if user_id is not None:
            user = _db.session.get(User, user_id)
            sid = factories.register_session(user)
            session.update(_user_id=user.get_id(), _fresh=True, auth_at=now, seen_at=now, sid=sid)
            session.permanent = True


@pytest.mark.parametrize(("role", "endpoint", "method", "url", "allowed"), _cells())
def test_route_role_matrix(client, db, records, role, endpoint, method, url, allowed):
    _start_session(client, records["users"][role] if role is not None else None)
    target = url.format(**{k: v for k, v in records.items() if k != "users"})
    if method == "GET":
        response = client.get(target)
    else:
        token = client.csrf_token("/account" if role else "/login")
        response = client.post(target, data={"csrf_token": token})
    status = response.status_code
    if allowed == PUBLIC and endpoint in SIGNED_WEBHOOKS:
        assert status == 403, status
    elif allowed == PUBLIC:
        assert status in (200, 302, 410), status
    elif role is None:
        assert status == 302 and response.headers["Location"].startswith("/login"), status
    elif role in allowed:
        assert status not in (401, 403, 404, 405, 500), status
    else:
        assert status == 403, f"{role} reached {method} {target}: {status}"


# --- the care-team dimension -----------------------------------------------------------------
# A clinician reaches a patient's clinical routes when on the care team or holding an unexpired
# break-glass grant; otherwise a 403 (a GET shows the break-glass offer). Break-glass never lets
# anyone sign. Every clinical route whose URL names a patient's record is listed here.

IN_TEAM, OUT_OF_TEAM, GLASS_ACTIVE, GLASS_EXPIRED = (
    "in team",
    "out of team",
    "break-glass",
    "expired",
)
CARE_TEAM_STATES = (IN_TEAM, OUT_OF_TEAM, GLASS_ACTIVE, GLASS_EXPIRED)
CARE_TEAM_ENDPOINTS = {
    "journeys.chart",
    "journeys.new_journey",
    "journeys.repeat_cycle",
    "journeys.add_target",
    "journeys.set_conditions",
    "journeys.end_journey",
    "journeys.stage",
    "journeys.stage_action",
    "journeys.checklist",
    "journeys.add_note",
    "journeys.time_out",
    "journeys.add_site",
    "journeys.follow_up",
    "journeys.follow_up_missed",
    "journeys.specimen_label",
    "outcomes.patient_outcomes",
    "outcomes.assign",
    "outcomes.enter_for_patient",
    "outcomes.void",
}
OFFER = "Emergency access (break-glass)"


def _care_team_cells() -> list:
    cells = []
    for endpoint, method, url, allowed in ROUTES:
        if endpoint not in CARE_TEAM_ENDPOINTS:
            continue
        for role in sorted(allowed, key=lambda r: r.value):  # type: ignore[arg-type]
            for state in CARE_TEAM_STATES:
                cells.append(
                    pytest.param(
                        role, state, method, url, id=f"{role.value}-{state}-{method} {url}"
                    )
                )
    return cells


def _place(user: User, state: str, records: dict) -> None:
    """Put `user` in `state` towards both patients the clinical URLs name."""
    from datetime import timedelta

    from clinic.careteam.models import BreakGlass, JourneyMember, TeamRole
    from clinic.models.base import utcnow

    journey = _db.session.get(m.Journey, records["journey"])
    patients = (records["journey_patient"], records["patient"])
    if state == IN_TEAM:
        role = TeamRole.COVERING_PROVIDER if user.role is PR else TeamRole.CLINICAL_STAFF
        _db.session.add(JourneyMember(journey_id=journey.id, user_id=user.id, team_role=role))
        join_care_team(user, _db.session.get(Patient, records["patient"]))
    elif state in (GLASS_ACTIVE, GLASS_EXPIRED):
        now = utcnow()
        start = now - timedelta(hours=1 if state == GLASS_ACTIVE else 6)
        for patient_id in patients:
            _db.session.add(
                BreakGlass(
                    user_id=user.id,
                    patient_id=patient_id,
                    reason=BreakGlassReason.EMERGENCY,
                    explanation="Matrix cell.",
                    granted_at=start,
                    expires_at=start + timedelta(hours=4),
                )
            )
    _db.session.flush()


@pytest.mark.parametrize(("role", "state", "method", "url"), _care_team_cells())
def test_care_team_matrix(client, db, records, role, state, method, url):
    user = make_user(role)
    _place(user, state, records)
    _db.session.commit()  # releases to the cell's savepoint, visible to the request
    _start_session(client, user.id)
    target = url.format(**{k: v for k, v in records.items() if k != "users"})
    if method == "GET":
        response = client.get(target)
    else:
        response = client.post(target, data={"csrf_token": client.csrf_token("/account")})
    status = response.status_code
    signing = target.endswith("/sign")
    if state in (OUT_OF_TEAM, GLASS_EXPIRED) or (signing and state == GLASS_ACTIVE):
        assert status == 403, f"{role.value} {state} reached {method} {target}: {status}"
        if method == "GET":
            assert OFFER in response.get_data(as_text=True)
    else:
        assert status not in (401, 403, 404, 405, 500), status
