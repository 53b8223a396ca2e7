"""E-mailed links: built on the configured public address (or, unset in development, the
address the request came in on, never a guessed port), and clickable in the outbox."""

from __future__ import annotations

import sqlalchemy as sa

from clinic.auth.models import Role
from clinic.mail import OutboxMessage, external_url, link_parts
from clinic.portal.services import MASK
from tests.factories import PatientFactory


def test_external_url_uses_the_public_base_url_or_the_request_address(app, monkeypatch):
    monkeypatch.setitem(app.config, "PUBLIC_BASE_URL", None)
    with app.test_request_context("/", base_url="http://clinic.test:8123"):
        assert external_url("auth.login") == "http://clinic.test:8123/login"
        monkeypatch.setitem(app.config, "PUBLIC_BASE_URL", "https://clinic.example.org/")
        assert external_url("auth.login") == "https://clinic.example.org/login"


def test_link_parts_mark_links_but_not_masked_ones():
    body = f"See https://a.example/x?y=1. Or https://a.example/portal/link/{MASK} now."
    parts = link_parts(body)
    assert ("https://a.example/x?y=1", True) in parts
    assert ("https://a.example/portal/link/", False) in parts
    assert "".join(text for text, _ in parts) == body


def test_the_outbox_shows_links_as_links_on_the_request_address(
    app, client, login, db, monkeypatch
):
    monkeypatch.setitem(app.config, "PUBLIC_BASE_URL", None)
    login(Role.FRONT_DESK)
    patient = PatientFactory(given_name="Ada", email="ada.l@x.example.com")
    page = f"/portal-access/{patient.id}"
    client.post_form(f"{page}/invite", {"email": "ada.l@x.example.com"}, token_from=page)
    message = db.session.scalars(sa.select(OutboxMessage).order_by(OutboxMessage.id.desc())).first()
    assert "http://localhost/portal/link/" in message.body  # the test client's address
    db.session.add(
        OutboxMessage(
            recipient="ada.l@x.example.com",
            subject="Your visit",
            body="Details: http://localhost/portal/appointments and more.",
        )
    )
    db.session.flush()
    other = db.session.scalars(sa.select(OutboxMessage).order_by(OutboxMessage.id.desc())).first()
    html = client.get(f"/outbox/{other.id}").get_data(as_text=True)
    assert '<a href="http://localhost/portal/appointments" rel="noopener noreferrer">' in html
    invite = client.get(f"/outbox/{message.id}").get_data(as_text=True)
    assert "/portal/link/[hidden" in invite and 'href="http://localhost/portal/link/' not in invite
