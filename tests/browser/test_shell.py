"""Every role signs in through the real browser, sees its home page, and the pages pass axe."""

from __future__ import annotations

import pytest

from clinic.auth.models import Role
from clinic.demo import DEMO_LOGINS
from tests.browser.conftest import screenshot, sign_in

pytestmark = pytest.mark.browser

FIRST_OF_EACH_ROLE = {login.role: login for login in reversed(DEMO_LOGINS)}
HOME_HEADINGS = {
    Role.ADMIN: "Users",
    Role.FRONT_DESK: "Front desk",
    Role.PROVIDER: "Clinical",
    Role.CLINICAL_STAFF: "Clinical",
    Role.PATIENT: "Hello, Grace",
}


def _axe_violations(page) -> list[str]:
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    return [
        f"{v['id']}: {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
        for v in results.response["violations"]
    ]


@pytest.mark.parametrize("role", list(Role), ids=lambda r: r.value)
def test_each_role_signs_in_and_sees_its_home(page, role):
    login = FIRST_OF_EACH_ROLE[role]
    sign_in(page, login.email, login.password)
    assert page.get_by_role("heading", level=1).first.inner_text() == HOME_HEADINGS[role]
    assert _axe_violations(page) == []
    screenshot(page, f"home-{role.value}")
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_load_state()
    assert "You have signed out." in page.content()


def test_login_page_is_accessible_and_shows_errors_beside_fields(page):
    page.goto(page.base_url + "/login")
    assert _axe_violations(page) == []
    page.get_by_label("E-mail").fill("nobody@x.example.com")
    page.get_by_label("Password").fill("wrong password here")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()
    error = page.locator("#password-error")
    assert error.inner_text() == "The e-mail or password is not correct."
    assert page.get_by_label("E-mail").input_value() == "nobody@x.example.com"
    screenshot(page, "login-error")


def test_patient_home_works_on_a_phone(browser, live_server):
    context = browser.new_context(viewport={"width": 375, "height": 740}, is_mobile=True)
    page = context.new_page()
    page.base_url = live_server.url
    login = FIRST_OF_EACH_ROLE[Role.PATIENT]
    sign_in(page, login.email, login.password)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 375, f"page is {width}px wide on a 375px screen"
    assert _axe_violations(page) == []
    screenshot(page, "patient-home-phone")
    # the collapsed menu opens from the keyboard
    page.get_by_role("button", name="Show navigation").focus()
    page.keyboard.press("Enter")
    page.get_by_role("button", name="Sign out").wait_for(state="visible")
    context.close()


def test_admin_pages_by_keyboard_and_axe(page):
    login = FIRST_OF_EACH_ROLE[Role.ADMIN]
    sign_in(page, login.email, login.password)
    for path, name in (
        ("/admin/audit", "audit"),
        ("/admin/users/new", "user-new"),
        ("/account/password", "change-password"),
    ):
        page.goto(page.base_url + path)
        assert _axe_violations(page) == [], path
        screenshot(page, f"admin-{name}")
    # the skip link is the first thing the keyboard reaches
    page.goto(page.base_url + "/admin/users")
    page.keyboard.press("Tab")
    focused = page.evaluate("document.activeElement.textContent.trim()")
    assert focused == "Skip to main content"
