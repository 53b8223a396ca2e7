"""The audit trail is append-only, written with the change, and searchable by admins."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from clinic.auth.models import Role
from clinic.models import audit
from clinic.models.audit import AuditEvent, AuditIsAppendOnly


def test_orm_refuses_to_change_or_delete_audit_rows(db):
    row = db.session.get(AuditEvent, audit.record("test.event", detail="x"))
    row.detail = "changed"
    with pytest.raises(AuditIsAppendOnly):
        db.session.flush()
    db.session.rollback()
    row = db.session.get(AuditEvent, audit.record("test.event", detail="x"))
    db.session.delete(row)
    with pytest.raises(AuditIsAppendOnly):
        db.session.flush()


@pytest.mark.parametrize(
    "statement",
    ["UPDATE audit_event SET detail = 'tampered'", "DELETE FROM audit_event"],
)
def test_database_refuses_to_change_or_delete_audit_rows(db, statement):
    audit.record("test.event", detail="original")
    db.session.flush()
    with pytest.raises(sa.exc.DatabaseError, match="append-only"), db.session.begin_nested():
        db.session.execute(sa.text(statement))


def test_audit_row_is_discarded_with_a_rolled_back_change(db, make_user):
    user = make_user(Role.PROVIDER)
    db.session.commit()
    with pytest.raises(RuntimeError), db.session.begin_nested():
        audit.record("user.updated", actor=user, obj=user)
        raise RuntimeError("the change failed")
    assert (
        db.session.scalar(sa.select(sa.func.count()).where(AuditEvent.action == "user.updated"))
        == 0
    )


def test_detail_is_truncated(db):
    row = db.session.get(AuditEvent, audit.record("test.event", detail="y" * 1000))
    assert len(row.detail) == 255


def _seed(db, make_user):
    actor = make_user(Role.PROVIDER, email="searcher.target@x.example.com")
    now = datetime.now(UTC)
    for i in range(60):
        db.session.add(
            AuditEvent(
                occurred_at=now - timedelta(minutes=i), action="bulk.event", actor_id=actor.id
            )
        )
    db.session.add(AuditEvent(occurred_at=now - timedelta(days=10), action="old.event"))
    db.session.add(
        AuditEvent(
            occurred_at=now,
            action="patient.viewed",
            patient_id=None,
            object_type="patient",
            object_id="77",
        )
    )
    db.session.flush()
    return actor


def test_admin_searches_and_pages_the_audit_trail(client, login, make_user, db):
    login(Role.ADMIN)
    _seed(db, make_user)
    page1 = client.get("/admin/audit?action=bulk").get_data(as_text=True)
    assert "60 events" in page1
    assert page1.count("<code>bulk.event</code>") == 50
    older = re.search(r'href="([^"]+)">Older events', page1).group(1).replace("&amp;", "&")
    page2 = client.get(older).get_data(as_text=True)
    assert page2.count("<code>bulk.event</code>") == 10
    assert "Older events" not in page2 and "Newest events" in page2
    by_actor = client.get("/admin/audit?actor=searcher.target").get_data(as_text=True)
    assert "60 events" in by_actor
    by_type = client.get("/admin/audit?object_type=patient").get_data(as_text=True)
    assert "patient.viewed" in by_type and "bulk.event" not in by_type
    today = datetime.now(UTC).date()
    old = client.get(f"/admin/audit?date_to={(today - timedelta(days=5)).isoformat()}").get_data(
        as_text=True
    )
    assert "old.event" in old and "bulk.event" not in old


def test_pages_follow_on_from_the_last_event_and_counts_stop_at_the_cap(
    client, login, make_user, db, monkeypatch
):
    """Keyset pages: ties on the time are ordered by id, no event is shown twice or skipped;
    the count is exact up to the cap, then "More than"."""
    from clinic.admin.routes import audit_trail

    login(Role.ADMIN)
    actor = make_user(Role.FRONT_DESK)
    now = datetime.now(UTC)
    for i in range(7):
        at = now - timedelta(minutes=i // 3)  # three events share each minute
        db.session.add(
            AuditEvent(occurred_at=at, action="tie.event", actor_id=actor.id, object_type="tie",
                       object_id=str(i))
        )  # fmt: skip
    db.session.flush()
    client.application.config["AUDIT_PAGE_SIZE"] = 3
    monkeypatch.setattr(audit_trail, "COUNT_CAP", 5)
    seen, url = [], "/admin/audit?action=tie."
    while url:
        html = client.get(url).get_data(as_text=True)
        assert "More than 5 events" in html
        seen += re.findall(r"<td>tie (\d+)</td>", html)
        found = re.search(r'href="([^"]+)">Older events', html)
        url = found.group(1).replace("&amp;", "&") if found else None
    assert sorted(seen) == [str(i) for i in range(7)]


def test_a_prefix_of_several_actions_pages_in_time_order(client, login, make_user, db, monkeypatch):
    """An action prefix naming several actions merges each one's newest rows: the pages list
    every matching event once, newest first (ties by id), and nothing outside the prefix."""
    from clinic.admin.routes import audit_trail

    merged = []
    real = audit_trail._newest_of_each
    monkeypatch.setattr(
        audit_trail,
        "_newest_of_each",
        lambda query, actions, limit: merged.append(actions) or real(query, actions, limit),
    )
    login(Role.ADMIN)
    now = datetime.now(UTC)
    made = []
    for i in range(11):
        event = AuditEvent(
            occurred_at=now - timedelta(minutes=i // 2),  # pairs share a minute
            action=("mix.a", "mix.b", "mix.c")[i % 3],
            object_type="mix",
            object_id=str(i),
        )
        db.session.add(event)
        made.append(event)
    db.session.add(AuditEvent(occurred_at=now, action="mixer.x", object_type="mix", object_id="x"))
    db.session.flush()
    expected = [
        e.object_id for e in sorted(made, key=lambda e: (e.occurred_at, e.id), reverse=True)
    ]
    client.application.config["AUDIT_PAGE_SIZE"] = 4
    seen, url = [], "/admin/audit?action=mix."
    while url:
        html = client.get(url).get_data(as_text=True)
        assert "11 events" in html
        seen += re.findall(r"<td>mix (\w+)</td>", html)
        found = re.search(r'href="([^"]+)">Older events', html)
        url = found.group(1).replace("&amp;", "&") if found else None
    assert seen == expected
    assert merged and all(actions == ["mix.a", "mix.b", "mix.c"] for actions in merged)


def test_search_escapes_wildcards(client, login, make_user, db):
    login(Role.ADMIN)
    _seed(db, make_user)
    html = client.get("/admin/audit?action=%25").get_data(as_text=True)
    assert "0 events" in html
    for odd in ("%20%20", "%F4%8F%BF%BF"):  # blank once trimmed; the last code point there is
        assert client.get(f"/admin/audit?action={odd}").status_code in (200, 400)


def test_no_route_changes_audit_rows(app):
    for rule in app.url_map.iter_rules():
        assert "audit" not in rule.rule or rule.methods <= {"GET", "HEAD", "OPTIONS"}, rule
