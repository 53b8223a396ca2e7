"""Searching the audit trail, and exporting a search as CSV; reading it is itself audited."""

from __future__ import annotations

import csv
import io
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from flask import Response, abort, current_app, render_template, request, stream_with_context
from flask_login import current_user
from sqlalchemy.orm import joinedload

from clinic import memory
from clinic.admin import bp
from clinic.admin.forms import AuditSearchForm
from clinic.auth import services
from clinic.auth.models import User
from clinic.extensions import db
from clinic.inputs import query_int
from clinic.models import audit
from clinic.models.audit import AuditEvent, shown_to_or_about
from clinic.patients.models import Patient
from clinic.timeutil import clinic_day_bounds, format_clinic_time

EXPORT_LIMIT = 50_000
COUNT_CAP = 1000  # the trail holds millions of rows: counted exactly up to here, then "1,000+"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
COLUMNS = (
    "when",
    "user",
    "role",
    "action",
    "record type",
    "record id",
    "patient id",
    "address",
    "detail",
)


def _actor_email(event: Any):
    """The acting user's e-mail, all a row prints of them: not their whole record and its
    patient record, which the relationships would join to each of a page's events."""
    return joinedload(event.actor).load_only(User.email).lazyload(User.patient)


def _search(by_prefix: bool = True) -> tuple[AuditSearchForm, sa.Select | None]:
    """The search form and its query; `by_prefix=False` leaves out the action prefix (the
    caller then names the actions it found under it)."""
    form = AuditSearchForm(request.args)
    query = (
        sa.select(AuditEvent)
        .options(_actor_email(AuditEvent))
        .order_by(AuditEvent.occurred_at.desc(), AuditEvent.id.desc())
    )
    args = {k: v for k, v in request.args.items() if k not in ("before", "format")}
    if args and not form.validate():
        return form, None
    return form, _filter_audit(query, form, by_prefix)


def _record_search(form: AuditSearchForm, action: str) -> None:
    """Reading the audit trail is audited: what was searched for, and about which patient."""
    terms = {k: v for k, v in request.args.items() if k not in ("before", "submit", "format") and v}
    about = getattr(form, "patient", None)
    if about is not None and db.session.get(Patient, about) is None:
        about = None  # no such record (the search terms in the detail still say what was asked)
    audit.record(
        action,
        actor=current_user,
        patient_id=about,
        detail="; ".join(f"{k}={v}" for k, v in sorted(terms.items()))[:255] or "everything",
    )


@dataclass
class AuditPage:
    """One page of a search, newest first, and where the next older page starts: pages are
    read from an event onwards (keyset), never counted through or skipped with OFFSET."""

    items: list[AuditEvent]
    total: int  # capped at COUNT_CAP + 1
    older: int | None  # the `before` of the next page
    first: bool

    @property
    def total_label(self) -> str:
        if self.total > COUNT_CAP:
            return f"More than {COUNT_CAP:,} events"
        return f"{self.total} event{'' if self.total == 1 else 's'}"


def _page(
    query: sa.Select, before: int | None, size: int, actions: list[str] | None = None
) -> AuditPage:
    counted = query.where(AuditEvent.action.in_(actions)) if actions else query
    capped = counted.order_by(None).with_only_columns(AuditEvent.id).limit(COUNT_CAP + 1)
    total = db.session.scalar(sa.select(sa.func.count()).select_from(capped.subquery())) or 0
    if before is not None:
        mark = sa.select(AuditEvent.occurred_at).where(AuditEvent.id == before).scalar_subquery()
        query = query.where(  # the first condition bounds the index scan, the second orders ties
            AuditEvent.occurred_at <= mark,
            sa.or_(AuditEvent.occurred_at < mark, AuditEvent.id < before),
        )
    if actions:
        rows = _newest_of_each(query, actions, size + 1)
    else:
        rows = list(db.session.scalars(query.limit(size + 1)))
    older = rows[size - 1].id if len(rows) > size else None
    return AuditPage(rows[:size], total, older, before is None)


# A prefix naming more actions than this is read through the time index alone.
MERGED_ACTIONS = 25
_ACTIONS_IN_RANGE = sa.text(
    # the distinct actions in [low, high): one probe of the action index per action found
    # (a "skip scan"), however many millions of rows each has
    "WITH RECURSIVE found(action) AS ("
    " SELECT min(action) FROM audit_event WHERE action >= :low AND action < :high"
    " UNION ALL"
    " SELECT (SELECT min(e.action) FROM audit_event e"
    "  WHERE e.action > found.action AND e.action < :high)"
    " FROM found WHERE found.action IS NOT NULL"
    ") SELECT action FROM found WHERE action IS NOT NULL LIMIT :cap"
)


def _actions_named(prefix: str) -> list[str] | None:
    """The actions recorded that start with `prefix`, or None when there are too many (or the
    prefix makes no range) to read each one's newest rows apart."""
    if not prefix or ord(prefix[-1]) >= sys.maxunicode:
        return None
    high = prefix[:-1] + chr(ord(prefix[-1]) + 1)
    found = db.session.scalars(
        _ACTIONS_IN_RANGE, {"low": prefix, "high": high, "cap": MERGED_ACTIONS + 1}
    ).all()
    if len(found) > MERGED_ACTIONS:
        return None
    return [action for action in found if action.startswith(prefix)]


def _newest_of_each(query: sa.Select, actions: list[str], limit: int) -> list[AuditEvent]:
    """The newest `limit` rows of the search, as a merge of each action's newest rows.

    Filtered by one action and ordered by time, a page could walk the time index backwards
    past every newer row of the other actions (tens of thousands when the action is rarely
    used lately). Each action's newest ids come in time order from ix_audit_event_action_time
    (action, occurred_at, id), read from the index alone: asked for whole rows, the planner
    judged the time index's heap order cheaper and walked 87,000 newer events for one action
    (EXPLAIN ANALYZE). The ids are merged, newest first, cut to the page, and only those rows
    are read."""
    branches = [
        sa.select(
            query.with_only_columns(AuditEvent.id, AuditEvent.occurred_at)
            .where(AuditEvent.action == action)
            .order_by(None)
            .order_by(AuditEvent.action.desc(), AuditEvent.occurred_at.desc(), AuditEvent.id.desc())
            .limit(limit)
            .subquery()
        )
        for action in actions
    ]
    merged = sa.union_all(*branches).subquery()
    newest = (
        sa.select(merged.c.id)
        .order_by(merged.c.occurred_at.desc(), merged.c.id.desc())
        .limit(limit)
    )
    if db.session.get_bind().dialect.name == "postgresql":
        # the ids as one array: the page's rows are then read through the primary key
        chosen = AuditEvent.id == sa.any_(sa.func.array(newest.scalar_subquery()))
    else:
        chosen = AuditEvent.id.in_(newest)
    return list(
        db.session.scalars(
            sa.select(AuditEvent)
            .options(_actor_email(AuditEvent))
            .where(chosen)
            .order_by(AuditEvent.occurred_at.desc(), AuditEvent.id.desc())
        )
    )


@bp.route("/audit", endpoint="audit")
def audit_search():
    form, query = _search()
    events = None
    if query is not None:
        actions = _actions_named(form.action.data.strip()) if form.action.data else None
        if actions == []:
            actions = None  # nothing recorded under it: the plain query finds nothing quickly
        if actions:
            # each action's rows asked for by name alone: with the prefix's conditions beside
            # `action = X` the planner misjudged how many rows match and walked the time
            # index past every newer event of other actions (86,000 in the bench clinic)
            query = _search(by_prefix=False)[1]
        assert query is not None
        events = _page(query, query_int("before"), current_app.config["AUDIT_PAGE_SIZE"], actions)
        _record_search(form, "audit.searched")
    args = {k: v for k, v in request.args.items() if k != "before"}
    return render_template("admin/audit.html", form=form, page=events, args=args)


def neutralise(value: object) -> str:
    """A CSV cell a spreadsheet will not run as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def _cells(ev: AuditEvent) -> tuple:
    """One event's CSV cells, read while its session is open."""
    return (
        format_clinic_time(ev.occurred_at, "%Y-%m-%d %H:%M:%S"),
        ev.actor.email if ev.actor else "",
        ev.actor_role,
        ev.action,
        ev.object_type,
        ev.object_id,
        ev.patient_id,
        ev.remote_addr,
        ev.detail,
    )


def _rows(rows: Iterator[tuple]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def line(cells) -> str:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow([neutralise(c) for c in cells])
        return buffer.getvalue()

    yield line(COLUMNS)
    for cells in rows:
        yield line(cells)


@bp.route("/audit/export.csv")
def audit_export():
    form, query = _search()
    if query is None:
        abort(400)
    _record_search(form, "audit.exported")
    # The rows' cells are read before streaming starts: the request's transaction commits
    # when the view returns, and its records cannot be read after that (a real server cut the
    # file off after its header); then they are written out a line at a time.
    rows = [_cells(ev) for ev in db.session.scalars(query.limit(EXPORT_LIMIT))]
    return Response(
        stream_with_context(memory.then_give_back(_rows(iter(rows)))),
        mimetype="text/csv",
        headers={"Content-Disposition": 'attachment; filename="audit-trail.csv"'},
    )


def _filter_audit(query: sa.Select, form: AuditSearchForm, by_prefix: bool = True) -> sa.Select:
    if form.action.data and by_prefix:
        prefix = form.action.data.strip()
        query = query.where(AuditEvent.action.startswith(prefix, autoescape=True))
        if prefix and ord(prefix[-1]) < sys.maxunicode:
            # the same prefix as a range, which the plain b-tree index on action serves (LIKE
            # alone is served by no index under a collation other than C)
            upper = prefix[:-1] + chr(ord(prefix[-1]) + 1)
            query = query.where(AuditEvent.action >= prefix, AuditEvent.action < upper)
    if form.object_type.data:
        query = query.where(AuditEvent.object_type == form.object_type.data.strip())
    if form.patient_id.data:
        patient = getattr(form, "patient", None)
        if patient is None:  # not validated: never searched with
            abort(400)
        query = query.where(shown_to_or_about(patient))
    if form.actor.data:
        needle = services.normalise_email(form.actor.data)
        query = query.join(User, AuditEvent.actor_id == User.id).where(
            User.email.contains(needle, autoescape=True)
        )
    if form.date_from.data:
        query = query.where(AuditEvent.occurred_at >= clinic_day_bounds(form.date_from.data)[0])
    if form.date_to.data:
        query = query.where(AuditEvent.occurred_at < clinic_day_bounds(form.date_to.data)[1])
    return query
