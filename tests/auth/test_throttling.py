"""Login throttling: ten failures a minute on one account, a higher limit per address."""

from __future__ import annotations

import sqlalchemy as sa

from clinic.auth.models import Role
from clinic.models.audit import AuditEvent
from tests.factories import PASSWORD


def _fail(client, email: str):
    return client.post_form("/login", {"email": email, "password": "definitely wrong pw"})


def test_eleventh_failure_on_one_account_is_refused_but_others_sign_in(client, make_user, db):
    target = make_user(Role.PROVIDER)
    other = make_user(Role.FRONT_DESK)
    for _ in range(10):
        assert _fail(client, target.email).status_code == 200
    assert _fail(client, target.email).status_code == 429
    # even the right password is refused while the account is throttled
    right = client.post_form("/login", {"email": target.email, "password": PASSWORD})
    assert right.status_code == 429
    # another account from the same address still signs in
    ok = client.post_form("/login", {"email": other.email, "password": PASSWORD})
    assert ok.status_code == 302
    assert (
        db.session.scalar(sa.select(sa.func.count()).where(AuditEvent.action == "auth.throttled"))
        >= 1
    )


def test_successful_logins_do_not_use_up_the_allowance(client, make_user):
    user = make_user(Role.PROVIDER)
    for _ in range(12):
        ok = client.post_form("/login", {"email": user.email, "password": PASSWORD})
        assert ok.status_code == 302
        client.post_form("/logout", token_from="/clinical")


def test_one_address_trying_many_accounts_is_throttled(app, client, make_user):
    app.config["LOGIN_LIMIT_PER_ADDRESS"] = "15 per minute"
    try:
        statuses = [_fail(client, f"someone{i}@x.example.com").status_code for i in range(16)]
    finally:
        app.config["LOGIN_LIMIT_PER_ADDRESS"] = "50 per minute"
    assert statuses[:15] == [200] * 15
    assert statuses[15] == 429
