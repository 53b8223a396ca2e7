"""Merging two records in the browser: pick both, preview, merge, review (axe-checked)."""

from __future__ import annotations

from datetime import date

import pytest

from clinic.auth.models import Role
from clinic.demo import DEMO_LOGINS
from clinic.patients.models import Sex
from tests.browser.conftest import screenshot, sign_in
from tests.browser.test_shell import _axe_violations

pytestmark = pytest.mark.browser

ADMIN = next(login for login in DEMO_LOGINS if login.role is Role.ADMIN)


def test_an_admin_merges_a_duplicate(page, live_app):
    with live_app.app_context():
        from clinic.extensions import db
        from clinic.patients.services import register_patient

        kept = register_patient(
            given_name="Danielle",
            family_name="Merrow",
            date_of_birth=date(1977, 7, 7),
            sex=Sex.FEMALE,
        )
        register_patient(
            given_name="Dana", family_name="Merrow", date_of_birth=date(1977, 7, 7), sex=Sex.FEMALE
        )
        db.session.commit()
        kept_id = kept.id
    sign_in(page, ADMIN.email, ADMIN.password)
    page.goto(page.base_url + f"/patients/{kept_id}")
    page.get_by_role("link", name="Merge with a duplicate").click()
    page.wait_for_load_state()
    page.get_by_label("Find the patient").fill("Merow, Dana")  # misspelt: sounds the same
    page.get_by_role("button", name="Search").click()
    page.wait_for_load_state()
    page.get_by_role("link", name="Choose Dana Merrow").click()
    page.wait_for_load_state()
    assert "will be merged into Merrow, Danielle" in page.content()
    assert _axe_violations(page) == []
    screenshot(page, "merge-preview")
    page.get_by_label("Why these are the same person").fill("Registered twice; same phone")
    page.get_by_role("button", name="Merge these records").click()
    page.wait_for_load_state()
    assert "Merged:" in page.content() and "Registered twice; same phone" in page.content()
    page.get_by_role("link", name="All past merges").click()
    page.wait_for_load_state()
    assert "Merrow, Dana" in page.locator("#merges").inner_text()
    assert _axe_violations(page) == []
    screenshot(page, "merge-review")
