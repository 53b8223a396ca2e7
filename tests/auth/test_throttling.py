"""Login throttling that cannot be turned into a lockout: a strict limit per account and address,
a per-address limit, and a per-account slowdown that spares the owner's own workstation."""

from __future__ import annotations

import sqlalchemy as sa

from clinic.auth import services, throttle
from clinic.auth.models import Role
from clinic.models.audit import AuditEvent
from tests.factories import PASSWORD, current_code

WORKSTATION = {"REMOTE_ADDR": "10.0.0.5"}
ELSEWHERE = {"REMOTE_ADDR": "203.0.113.9"}
NEW_PLACE = {"REMOTE_ADDR": "198.51.100.7"}
WRONG = "definitely wrong pw"


def _try(client, email: str, password: str = WRONG, where=None):
    """A sign-in from `where`; a right password for an enrolled account also gives the code."""
    response = client.post_form(
        "/login", {"email": email, "password": password}, environ_base=where or ELSEWHERE
    )
    if response.status_code == 302 and response.headers["Location"].startswith("/login/code"):
        code = current_code(services.find_user_by_email(email))
        response = client.post_form("/login/code", {"code": code}, environ_base=where or ELSEWHERE)
    return response


def _sign_out(client, where) -> None:
    client.post_form("/logout", token_from="/account", environ_base=where)


def test_the_account_address_pair_is_refused_after_ten_failures(client, make_user, db, app):
    app.config["LOGIN_SLOWDOWN_AFTER"] = 100  # isolate the pair limit
    try:
        target = make_user(Role.PROVIDER)
        other = make_user(Role.FRONT_DESK)
        for _ in range(10):
            assert _try(client, target.email).status_code == 200
        assert _try(client, target.email).status_code == 429
        assert _try(client, target.email, PASSWORD).status_code == 429  # right password too
        # another account from the same address still signs in
        assert _try(client, other.email, PASSWORD).status_code == 302
    finally:
        app.config["LOGIN_SLOWDOWN_AFTER"] = 5
    throttled = sa.select(sa.func.count()).where(AuditEvent.action == "auth.throttled")
    assert db.session.scalar(throttled) >= 1


def test_hammering_from_elsewhere_never_locks_the_clinician_out(client, make_user, db):
    clinician = make_user(Role.PROVIDER)
    assert _try(client, clinician.email, PASSWORD, WORKSTATION).status_code == 302
    _sign_out(client, WORKSTATION)
    statuses = [_try(client, clinician.email).status_code for _ in range(30)]
    assert 429 in statuses  # the attacker is slowed, then stopped for that pair
    assert statuses.count(200) <= 6  # only the tries before the slowdown reached the password
    ok = _try(client, clinician.email, PASSWORD, WORKSTATION)
    assert ok.status_code == 302, "the clinician's own workstation still signs in"


def test_the_slowdown_doubles_and_then_lets_a_try_through(client, make_user, monkeypatch, app):
    clinician = make_user(Role.PROVIDER)
    clock = [1_000_000.0]
    monkeypatch.setattr(throttle, "_now", lambda: clock[0])
    for _ in range(5):
        assert _try(client, clinician.email).status_code == 200
    slowed = _try(client, clinician.email, PASSWORD, NEW_PLACE)
    assert slowed.status_code == 429 and slowed.headers["Retry-After"] == "2"
    assert "Wait 2 seconds" in slowed.get_data(as_text=True)
    clock[0] += 2
    assert _try(client, clinician.email, where=NEW_PLACE).status_code == 200  # checked, wrong
    waits = [throttle.delay_after(n) for n in range(4, 14)]
    assert waits == [0, 2, 4, 8, 16, 32, 60, 60, 60, 60]  # doubling, capped: a slowdown
    clock[0] += 4
    assert _try(client, clinician.email, PASSWORD, NEW_PLACE).status_code == 302


def test_unknown_and_known_accounts_are_slowed_alike(client, make_user):
    known = make_user(Role.PROVIDER)
    for email in (known.email, "nobody@x.example.com"):
        for _ in range(5):
            _try(client, email)
        assert _try(client, email).status_code == 429


def test_successful_logins_do_not_use_up_the_allowance(client, make_user):
    user = make_user(Role.PROVIDER)
    for _ in range(12):
        ok = _try(client, user.email, PASSWORD)
        assert ok.status_code == 302
        _sign_out(client, ELSEWHERE)


def test_one_address_trying_many_accounts_is_throttled(app, client, make_user):
    app.config["LOGIN_LIMIT_PER_ADDRESS"] = "15 per minute"
    try:
        statuses = [_try(client, f"someone{i}@x.example.com").status_code for i in range(16)]
    finally:
        app.config["LOGIN_LIMIT_PER_ADDRESS"] = "50 per minute"
    assert statuses[:15] == [200] * 15
    assert statuses[15] == 429
