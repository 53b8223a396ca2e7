"""The patient portal on a phone: questionnaires and progress, by keyboard and with axe."""

from __future__ import annotations

import pytest

from clinic.auth.models import Role
from tests.browser.conftest import screenshot, sign_in
from tests.browser.measure import Counter
from tests.browser.test_shell import FIRST_OF_EACH_ROLE, _axe_violations

pytestmark = pytest.mark.browser


@pytest.fixture
def phone(browser, live_server):
    context = browser.new_context(viewport={"width": 375, "height": 740}, is_mobile=True)
    page = context.new_page()
    page.base_url = live_server.url
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    yield page
    context.close()
    assert errors == []


def _fits(page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 375, f"{page.url} is {width}px wide"


def _answer_every_item(phone, counter) -> None:
    """Choose an answer in each question of the page, as a thumb would: one tap each."""
    for fieldset in phone.locator("form fieldset").all():
        scale = fieldset.locator(".answer-scale label")
        if scale.count():
            # the 0-10 scale is one row of buttons at 375 px, each large enough to tap
            boxes = [scale.nth(i).bounding_box() for i in range(scale.count())]
            assert len({round(b["y"]) for b in boxes}) == 1, "the scale wraps"
            assert min(b["height"] for b in boxes) >= 44 and min(b["width"] for b in boxes) >= 24
            counter.click(scale.nth(3))
        else:
            option = fieldset.locator(".answer-option").first
            assert option.bounding_box()["height"] >= 44
            counter.click(option.locator("label"))


def test_the_phone_keyboard_can_answer_a_scale(phone):
    login = FIRST_OF_EACH_ROLE[Role.PATIENT]
    sign_in(phone, login.email, login.password)
    phone.goto(phone.base_url + "/my/questionnaires")
    # (runs before the flow test below, which answers every due questionnaire)
    phone.locator("#start-due").click()
    phone.wait_for_load_state()
    scale = phone.locator(".answer-scale input").first
    assert scale.count(), "the first due questionnaire of the demo patient is a 0-10 scale"
    scale.focus()
    for _ in range(3):
        phone.keyboard.press("ArrowRight")
    assert phone.locator(".answer-scale input").nth(3).is_checked()


def test_patient_answers_the_due_set_in_one_guided_flow(phone):
    login = FIRST_OF_EACH_ROLE[Role.PATIENT]
    sign_in(phone, login.email, login.password)
    assert "to fill in" in phone.content()
    counter = Counter(phone)
    counter.click(phone.get_by_role("link", name="Fill them in"))
    phone.wait_for_load_state()
    _fits(phone)
    assert _axe_violations(phone) == []
    total = int(phone.locator("progress.guided-progress").get_attribute("max") or 1)
    screenshot(phone, "portal-guided-first-phone")
    # submitting nothing lists what is missing, and the step count stays
    phone.get_by_role("button", name="Submit answers").click()
    phone.wait_for_load_state()
    assert "needs an answer" in phone.locator("#answer-problems").inner_text()
    assert "Questionnaire 1 of" in phone.content()
    counter = Counter(phone)  # the measured flow starts again from the first page
    for position in range(1, total + 1):
        if total > 1:
            assert f"Questionnaire {position} of {total}" in phone.content()
        _fits(phone)
        _answer_every_item(phone, counter)
        if position == 1:
            screenshot(phone, "portal-answer-phone")
        counter.click(phone.get_by_role("button", name="Submit answers"))
        phone.wait_for_load_state()
    assert "That is everything for now" in phone.content()
    assert _axe_violations(phone) == []
    counter.record("patient-answers-due-set", questionnaires=total)
    # one flow: one page per questionnaire and the list at the end, nothing in between
    assert len(counter.loads) == total
    assert all("/my/questionnaires/" in url for url in counter.loads[:-1])


def test_patient_progress_on_a_phone(phone):
    login = FIRST_OF_EACH_ROLE[Role.PATIENT]
    sign_in(phone, login.email, login.password)
    phone.goto(phone.base_url + "/my/progress")
    _fits(phone)
    assert _axe_violations(phone) == []
    assert phone.locator("svg.progress-chart").count() >= 3
    # chart labels stay legible on a phone: at least 12 px tall as drawn
    sizes = phone.eval_on_selector_all(
        "svg.progress-chart text", "els => els.map(e => e.getBoundingClientRect().height)"
    )
    assert sizes and min(sizes) >= 12, sizes
    screenshot(phone, "portal-progress-phone")


def test_patient_reads_instructions_on_a_phone(phone):
    login = FIRST_OF_EACH_ROLE[Role.PATIENT]
    sign_in(phone, login.email, login.password)
    phone.get_by_role("link", name="Read my instructions").click()
    phone.wait_for_load_state()
    _fits(phone)
    assert _axe_violations(phone) == []
    screenshot(phone, "portal-instructions-phone")


def test_admin_edits_instructions(page):
    login = FIRST_OF_EACH_ROLE[Role.ADMIN]
    sign_in(page, login.email, login.password)
    page.get_by_role("link", name="Instructions").click()
    page.wait_for_load_state()
    assert _axe_violations(page) == []
    page.get_by_role(
        "link", name="Bone marrow aspirate concentrate (BMAC), Days 4–14 after"
    ).click()
    page.wait_for_load_state()
    page.get_by_label("Heading").fill("Days four to fourteen after BMAC")
    page.get_by_role("button", name="Save as a new version").click()
    page.wait_for_load_state()
    assert "Saved as a new version" in page.content()
    assert _axe_violations(page) == []
    screenshot(page, "admin-instructions-edit")


def _mailed_link(address: str) -> str:
    """The sign-in link as it reached the patient's mailbox (the outbox row's full body)."""
    import sqlalchemy as sa

    from clinic.extensions import db
    from clinic.mail import OutboxMessage
    from tests.browser.conftest import _LIVE

    with _LIVE["app"].app_context():
        body = db.session.scalars(
            sa.select(OutboxMessage.body)
            .where(OutboxMessage.recipient == address)
            .order_by(OutboxMessage.id.desc())
        ).first()
    link = next(word for word in body.split() if "/portal/link/" in word)
    return link[link.index("/portal/link/") :]


def test_front_desk_invites_a_patient_who_then_signs_in(page, browser, live_server):
    desk = FIRST_OF_EACH_ROLE[Role.FRONT_DESK]
    sign_in(page, desk.email, desk.password)
    page.goto(page.base_url + "/patients/?q=chen")
    page.get_by_role("link", name="Chen, Wei").first.click()
    page.get_by_role("link", name="Portal access").click()
    page.wait_for_load_state()
    assert page.get_by_label("Patient's e-mail").input_value() == "wei.chen@example.com"
    assert _axe_violations(page) == []
    page.get_by_role("button", name="Send invitation").click()
    page.wait_for_load_state()
    assert "The invitation for wei.chen@example.com is in the outbox" in page.content()
    screenshot(page, "portal-access")
    page.get_by_role("link", name="Outbox").first.click()
    page.get_by_role("link", name="Your invitation to the").first.click()
    assert "/portal/link/[hidden" in page.locator("pre").inner_text()  # staff cannot use it
    path = _mailed_link("wei.chen@example.com")  # the patient's own mailbox
    # the patient opens the e-mailed link in their own browser, on a phone
    context = browser.new_context(viewport={"width": 375, "height": 740}, is_mobile=True)
    phone = context.new_page()
    phone.goto(live_server.url + path)
    phone.get_by_label("New password", exact=True).fill("Harbour lantern quiet 8812")
    phone.get_by_label("Repeat the new password").fill("Harbour lantern quiet 8812")
    phone.get_by_role("button", name="Save my password").click()
    phone.wait_for_load_state()
    # setting the password signs the patient in: no second form to fill
    assert "Your password is set and you are signed in" in phone.content()
    assert phone.get_by_role("heading", level=1).inner_text() == "Hello, Wei"
    context.close()
