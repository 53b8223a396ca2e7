"""The navigation bar's links: each role's own, the current page marked, rendered once per role
and page and reused without mixing roles, pages, the outbox setting or the address root."""

from __future__ import annotations

import html as html_module
import re

from clinic.auth.models import Role
from clinic.navigation import NAV


def _links(html: str) -> list[tuple[str, bool]]:
    bar = html[html.index('<ul class="navbar-nav me-auto">') :]
    bar = bar[: bar.index("</ul>")]
    return [
        (html_module.unescape(label.strip()), "aria-current" in attrs)
        for attrs, label in re.findall(r"<a ([^>]*)>([^<]*)</a>", bar, re.S)
    ]


def test_each_role_sees_its_links_with_the_current_page_marked(app, client, login):
    login(Role.FRONT_DESK)
    for path, current in (("/front-desk", "Front desk"), ("/schedule/board", "Day board")):
        for _twice in range(2):  # the second view reuses what the first rendered
            links = _links(client.get(path).get_data(as_text=True))
            outboxes = {"Outbox", "Text outbox"}
            assert [label for label, _ in links] == [
                item.label for item in NAV[Role.FRONT_DESK] if item.label not in outboxes
            ] + ["Outbox"] * (app.config["MAIL_TRANSPORT"] == "outbox") + ["Text outbox"] * (
                app.config["SMS_TRANSPORT"] == "outbox"
            )
            assert [label for label, marked in links if marked] == [current]


def test_a_patient_sees_the_portal_links(client, login):
    login(Role.PATIENT)
    links = _links(client.get("/my").get_data(as_text=True))
    assert [label for label, _ in links] == [item.label for item in NAV[Role.PATIENT]]
    assert [label for label, marked in links if marked] == ["My care"]


def test_the_outbox_setting_and_the_address_root_are_not_mixed_up(app, client, login):
    login(Role.FRONT_DESK)
    assert "/outbox" in client.get("/front-desk").get_data(as_text=True)
    app.config["MAIL_TRANSPORT"] = "smtp"
    try:
        assert "/outbox" not in client.get("/front-desk").get_data(as_text=True)
    finally:
        app.config["MAIL_TRANSPORT"] = "outbox"
    under = client.get("/front-desk", environ_overrides={"SCRIPT_NAME": "/clinic"})
    assert 'href="/clinic/schedule/board"' in under.get_data(as_text=True)
    again = client.get("/front-desk").get_data(as_text=True)
    assert 'href="/schedule/board"' in again and "/clinic/schedule" not in again


def test_the_text_outbox_is_offered_only_where_texts_are_kept_there(app, client, login):
    login(Role.FRONT_DESK)
    app.config["SMS_TRANSPORT"] = "outbox"
    try:
        page = client.get("/front-desk").get_data(as_text=True)
        assert ("Text outbox", False) in _links(page)
        assert client.get("/messages/sms-outbox").status_code == 200
        app.config["SMS_TRANSPORT"] = "off"
        assert "Text outbox" not in dict(_links(client.get("/front-desk").get_data(as_text=True)))
    finally:
        app.config["SMS_TRANSPORT"] = "outbox"
