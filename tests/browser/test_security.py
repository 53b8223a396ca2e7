"""Two-step sign-in set-up and break-glass in a real browser, checked with axe."""

from __future__ import annotations

import pyotp
import pytest

from tests.browser.conftest import fresh_code, screenshot, sign_in
from tests.browser.test_shell import _axe_violations

pytestmark = pytest.mark.browser

NURSE = ("nurse@demo.example.com", "Staff demo Willow-47")
NOVAK = ("dr.novak@demo.example.com", "Provider demo Birch-47")


def test_staff_member_sets_up_two_step_sign_in(page):
    sign_in(page, *NURSE)
    page.goto(page.base_url + "/account")
    page.get_by_role("link", name="Two-step sign-in").click()
    page.wait_for_load_state()
    assert _axe_violations(page) == []
    page.get_by_role("button", name="Set up two-step sign-in").click()
    page.wait_for_load_state()
    assert page.locator("figure.mfa-qr svg").is_visible()
    assert _axe_violations(page) == []
    screenshot(page, "security-two-step-setup")
    secret = page.locator("#mfa-secret").inner_text().replace(" ", "")
    page.get_by_label("Code shown in your app").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Turn on two-step sign-in").click()
    page.wait_for_load_state()
    assert page.locator("#recovery-codes li").count() == 10
    assert _axe_violations(page) == []
    screenshot(page, "security-recovery-codes")
    # the next sign-in asks for a code
    page.goto(page.base_url + "/account")
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_load_state()
    page.get_by_label("E-mail").fill(NURSE[0])
    page.get_by_label("Password").fill(NURSE[1])
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()
    assert "/login/code" in page.url
    assert _axe_violations(page) == []
    screenshot(page, "security-code-step")
    page.get_by_label("Code").fill(fresh_code(NURSE[0], secret))
    page.get_by_role("button", name="Continue").click()
    page.wait_for_load_state()
    assert page.get_by_role("heading", level=1).inner_text() == "Clinical"


def _outside_team(email: str) -> int:
    """A demo patient with a journey whose care team does not include this clinician."""
    import sqlalchemy as sa

    from clinic.auth.models import User
    from clinic.careteam.services import in_care_team
    from clinic.extensions import db
    from clinic.journeys.models import Journey
    from tests.browser.conftest import _LIVE

    with _LIVE["app"].app_context():
        user = db.session.scalar(sa.select(User).where(User.email == email))
        patients = db.session.scalars(sa.select(Journey.patient_id).distinct()).all()
        return next(pid for pid in sorted(patients) if not in_care_team(user, pid))


def test_break_glass_opens_a_chart_outside_the_care_team(browser, live_server):
    # Its own context: the offer is an HTTP 403, which Chromium logs as a console error.
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.base_url = live_server.url
    try:
        sign_in(page, *NOVAK)
        page.goto(f"{page.base_url}/clinical/patients/{_outside_team(NOVAK[0])}/chart")
        page.wait_for_load_state()
        assert "is not in your care team" in page.content()
        assert _axe_violations(page) == []
        screenshot(page, "security-break-glass")
        page.get_by_label("Reason").select_option("emergency")
        page.get_by_label("Why you need this chart now").fill(
            "Patient phoned with new leg weakness"
        )
        page.get_by_label("Your password, to confirm").fill(NOVAK[1])
        page.get_by_label("Code from your authenticator app").fill(fresh_code(NOVAK[0]))
        page.get_by_role("button", name="Open the chart for 4 hours").click()
        page.wait_for_load_state()
        assert "emergency access" in page.content()
        assert _axe_violations(page) == []
        screenshot(page, "security-break-glass-chart")
    finally:
        context.close()


PATEL = ("dr.patel@demo.example.com", "Provider demo Birch-47")


def _spend_recovery_codes(email: str, keep: int) -> None:
    """Mark all but `keep` of the account's recovery codes used (as if signed in with them)."""
    import sqlalchemy as sa

    from clinic.auth.models import RecoveryCode, User
    from clinic.extensions import db
    from clinic.models.base import utcnow
    from tests.browser.conftest import _LIVE

    with _LIVE["app"].app_context():
        user_id = db.session.scalar(sa.select(User.id).where(User.email == email))
        unused = db.session.scalars(
            sa.select(RecoveryCode.id)
            .where(RecoveryCode.user_id == user_id, RecoveryCode.used_at.is_(None))
            .order_by(RecoveryCode.id)
        ).all()
        spend = unused[: max(0, len(unused) - keep)]
        db.session.execute(
            sa.update(RecoveryCode).where(RecoveryCode.id.in_(spend)).values(used_at=utcnow())
        )
        db.session.commit()


def test_staff_member_makes_new_recovery_codes_when_few_are_left(browser, live_server):
    # Its own context: a wrong code is an HTTP 422, which Chromium logs as a console error.
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.base_url = live_server.url
    try:
        sign_in(page, *PATEL)
        _spend_recovery_codes(PATEL[0], keep=2)
        page.goto(page.base_url + "/account")
        assert "Only 2 recovery codes are left." in page.locator("#recovery-codes-low").inner_text()
        assert _axe_violations(page) == []
        page.get_by_role("link", name="Make new recovery codes").click()
        page.wait_for_load_state()
        assert _axe_violations(page) == []
        # by keyboard: the labelled fields in order, then the button
        page.get_by_label("Your password").focus()
        page.keyboard.type(PATEL[1])
        page.keyboard.press("Tab")
        page.keyboard.type("000000")
        page.keyboard.press("Tab")
        page.keyboard.press("Enter")
        page.wait_for_load_state()
        assert "not correct" in page.locator("#code-error").inner_text()
        assert _axe_violations(page) == []
        page.get_by_label("Your password").fill(PATEL[1])
        page.get_by_label("Code from your authenticator app").fill(fresh_code(PATEL[0]))
        with page.expect_response(lambda r: r.request.method == "POST") as sent:
            page.get_by_role("button", name="Make new recovery codes").click()
        assert sent.value.status == 200 and sent.value.headers["cache-control"] == "no-store"
        page.wait_for_load_state()
        assert page.locator("#recovery-codes li").count() == 10
        assert _axe_violations(page) == []
        screenshot(page, "security-new-recovery-codes")
        page.goto(page.base_url + "/account")
        assert page.locator("#recovery-codes-low").count() == 0
    finally:
        context.close()
