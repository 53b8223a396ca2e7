"""A patient confirms one visit and cancels another from the links in their messages, on a
phone (375 px), without signing in; then writes to the care team from the portal."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from clinic.auth.models import Role
from clinic.extensions import db
from clinic.messaging import links
from clinic.scheduling.models import Appointment, Status, VisitKind
from tests.browser.conftest import screenshot, sign_in
from tests.browser.test_shell import FIRST_OF_EACH_ROLE, _axe_violations
from tests.factories import PatientFactory, make_user

pytestmark = pytest.mark.browser


@pytest.fixture
def phone(browser, live_server):
    context = browser.new_context(viewport={"width": 375, "height": 740}, is_mobile=True)
    page = context.new_page()
    page.base_url = live_server.url
    errors: list[str] = []
    # a used link's page is answered 410 on purpose; the browser logs that status
    page.on(
        "console",
        lambda m: errors.append(m.text) if m.type == "error" and "410" not in m.text else None,
    )
    yield page
    context.close()
    assert errors == []


def _fits(page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 375, f"{page.url} is {width}px wide"


@pytest.fixture
def two_visits(live_app):
    """Two booked visits of one patient, each with the link its message would carry."""
    with live_app.app_context():
        provider = make_user(Role.PROVIDER, full_name="Dr Lena Marsh")
        patient = PatientFactory(given_name="Rosa", family_name="Lindqvist")
        start = (datetime.now(UTC) + timedelta(days=40)).replace(
            hour=15, minute=0, second=0, microsecond=0
        )
        visits = []
        for n, kind in enumerate((VisitKind.FOLLOW_UP, VisitKind.EVALUATION)):
            appt = Appointment(
                patient=patient, provider=provider, kind=kind,
                starts_at=start + timedelta(hours=2 * n),
                ends_at=start + timedelta(hours=2 * n) + kind.default_length,
                status=Status.BOOKED,
            )  # fmt: skip
            db.session.add(appt)
            db.session.flush()
            visits.append((appt.id, links.issue(db.session, appt.id, appt.starts_at)))
        db.session.commit()
        db.session.remove()
    return visits


def _status(live_app, appointment_id: int) -> Status:
    with live_app.app_context():
        status = db.session.get(Appointment, appointment_id).status
        db.session.remove()
    return status


def test_patient_confirms_and_cancels_from_message_links_on_a_phone(phone, live_app, two_visits):
    (first, first_token), (second, second_token) = two_visits
    phone.goto(f"{phone.base_url}/m/visit/{first}/{first_token}")
    assert "Your visit" in phone.content() and "Dr Lena Marsh" in phone.content()
    _fits(phone)
    assert _axe_violations(phone) == []
    screenshot(phone, "message-link-phone")
    phone.get_by_role("button", name="Yes, I will come").click()
    phone.wait_for_load_state()
    assert "Your visit is confirmed" in phone.content()
    _fits(phone)
    assert _status(live_app, first) is Status.BOOKED

    phone.goto(f"{phone.base_url}/m/visit/{second}/{second_token}")
    phone.get_by_role("button", name="Cancel my visit").click()
    phone.wait_for_load_state()
    assert "Your visit is cancelled" in phone.content()
    screenshot(phone, "message-link-cancelled-phone")
    assert _status(live_app, second) is Status.CANCELLED
    # the link worked once
    phone.goto(f"{phone.base_url}/m/visit/{second}/{second_token}")
    assert "This link no longer works" in phone.content()
    _fits(phone)
    assert _axe_violations(phone) == []


def test_patient_writes_to_the_care_team_on_a_phone(phone):
    login = FIRST_OF_EACH_ROLE[Role.PATIENT]
    sign_in(phone, login.email, login.password)
    phone.goto(phone.base_url + "/my/messages")
    assert "Not for emergencies" in phone.content()
    _fits(phone)
    assert _axe_violations(phone) == []
    phone.get_by_label("What is it about?").select_option("appointment")
    phone.get_by_label("Your message").fill("Can I bring my daughter to the visit?")
    screenshot(phone, "portal-messages-phone")
    phone.get_by_role("button", name="Send to my care team").click()
    phone.wait_for_load_state()
    assert "Can I bring my daughter" in phone.content()
    _fits(phone)
