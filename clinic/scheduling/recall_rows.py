"""The recall list's rows as markup: each kind of row (scheduling/_recall_row.html) rendered
once per page with placeholder values and filled per follow-up (MarkupPattern), where the
loop body cost ~100 µs a row (filters, URLs, a few dozen lookups and escapes)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from flask import current_app, url_for
from markupsafe import Markup, escape

from clinic import kept as kept_store
from clinic.auth.models import User
from clinic.dates import fmt_date, fmt_datetime, fmt_short_date
from clinic.markup_patterns import MarkupPattern
from clinic.scheduling import recalls
from clinic.scheduling.recalls import Recall
from clinic.timeutil import to_clinic
from clinic.url_patterns import UrlPattern

FIELDS = (
    "state", "id", "due", "state_label", "patient_href", "display_name", "mrn", "born",
    "phone", "contact", "label", "opens", "closes", "provider_name", "kind_label", "slot_time",
    "slot_provider_name", "room_name", "action", "kind", "slot_provider_id", "room_id",
    "starts_at", "another_href", "full_name",
)  # fmt: skip


def recall_rows(recalls: list[Recall], today: date, macro: Any, csrf: str) -> list[Markup]:
    """Each recall's table row, as the loop in scheduling/recalls.html wrote it."""
    patterns: dict[tuple[bool, ...], MarkupPattern] = {}
    patient_url = UrlPattern("patients.detail", "patient_id")
    book_recall_url = UrlPattern("scheduling.book_recall", "follow_up_id")
    book_slot_url = UrlPattern(
        "scheduling.book", "patient", "kind", "provider", "room", "date", "time", "link"
    )
    out = []
    for r in recalls:
        fu, patient, slot = r.follow_up, r.follow_up.patient, r.slot
        values: dict[str, object] = dict.fromkeys(FIELDS, "")
        values.update(
            state=r.state,
            id=fu.id,
            due=fmt_date(fu.due_on),
            state_label=r.state_label,
            patient_href=patient_url(patient_id=patient.id),
            display_name=patient.display_name,
            mrn=patient.mrn,
            born=fmt_date(patient.date_of_birth),
            phone=patient.phone,
            contact=patient.preferred_contact.label.lower() if patient.phone else "",
            label=fu.label,
            opens=fmt_short_date(fu.window_opens_on),
            closes=fmt_date(fu.window_closes_on),
            provider_name=r.provider.full_name,
            full_name=patient.full_name,
        )
        link = f"follow_up:{fu.id}"
        if slot is None:
            late = False
            values["another_href"] = url_for(
                "scheduling.book",
                patient=patient.id,
                kind=r.kind.value,
                provider=r.provider.id,
                room=0,
                date=max(fu.window_opens_on, today),
                link=link,
            )
        else:
            local = to_clinic(slot.starts_at)
            late = local.date() > fu.window_closes_on
            values.update(
                kind_label=r.kind.label,
                slot_time=fmt_datetime(slot.starts_at),
                slot_provider_name=slot.provider.full_name,
                room_name=slot.room.name if slot.room else "",
                action=book_recall_url(follow_up_id=fu.id),
                kind=r.kind.value,
                slot_provider_id=slot.provider.id,
                room_id=slot.room.id if slot.room else "",
                starts_at=slot.starts_at.isoformat(),
                another_href=book_slot_url(
                    patient=patient.id,
                    kind=r.kind.value,
                    provider=slot.provider.id,
                    room=slot.room.id if slot.room else 0,
                    date=local.date().isoformat(),
                    time=local.strftime("%H:%M"),
                    link=link,
                ),
            )
        variant = (slot is not None, bool(slot and slot.room), late, bool(patient.phone))
        if variant not in patterns:
            has_slot, has_room, late, has_phone = variant
            patterns[variant] = MarkupPattern(
                macro,
                *FIELDS,
                csrf=csrf,
                has_slot=has_slot,
                has_room=has_room,
                late=late,
                has_phone=has_phone,
            )
        out.append(patterns[variant](**values))
    return out


# A page of the recall list, kept per app (below) for at most this long, and never past the
# start of the earliest time it suggests: what bounds how late an edit of working hours or
# rooms (not part of the stamp) shows.
PAGE_KEPT_SECONDS = 60
KEPT_PAGES = 32  # filters x pages kept per app; the oldest dropped first
_KEPT = "clinic_recall_pages"
_CSRF = "\x00csrf\x00"  # where each view's own form token goes (survives autoescaping)


@dataclass(frozen=True)
class RecallPage:
    rows: list[Markup]  # with _CSRF where the token goes
    total: int
    patients: list[int]  # shown, in order (the audit row's)
    follow_ups: list[int]
    written: tuple  # recalls.last_written_and_page() when the page was read
    page_stamp: tuple
    clinicians: tuple
    first_slot: datetime | None
    kept_at: float


def recall_list_page(
    today: date,
    now: datetime,
    *,
    show: str,
    provider_id: int | None,
    page: int,
    patient_id: int | None,
    clinicians: list[User],
    macro: Any,
    csrf: str,
) -> tuple[list[Markup], int, list[int]]:
    """A page of the recall list: its rows' markup, the total and the patients shown.

    Reading the page (follow-ups, their patients, a month of busy times) and planning a
    suggested time for each of its 50 rows is most of the list's cost, so a page is kept per
    app and reused while nothing it depends on has changed: follow-ups, appointments and
    journeys (their latest `updated_at`), its patients (their versions and latest
    `updated_at`, as read with the rows), and the clinicians. Suggestions only move later as
    time passes: a kept page is reused until its earliest suggested time starts, and for
    PAGE_KEPT_SECONDS at most."""
    kept: dict[tuple, RecallPage] = kept_store.store(current_app, _KEPT)
    key = (today, show, provider_id, page, patient_id, url_for("scheduling.recalls_list"))
    people = tuple((c.id, c.full_name, c.role) for c in clinicians)
    found = kept.get(key)
    if found is not None:
        written, page_stamp = recalls.last_written_and_page(found.patients, found.follow_ups)
        if (
            written == found.written
            and page_stamp == found.page_stamp
            and people == found.clinicians
            and time.monotonic() - found.kept_at < PAGE_KEPT_SECONDS
            and (found.first_slot is None or now < found.first_slot)
        ):
            return _with_token(found.rows, csrf), found.total, found.patients
        stamp = written
    else:
        stamp = recalls.last_written_and_page([], [])[0]
    rows, total = recalls.recall_page(
        today,
        now=now,
        show=show,
        provider_id=provider_id,
        page=page,
        patient_id=patient_id,
        clinicians=clinicians,
        stamp=stamp,
    )
    shown = list(dict.fromkeys(r.follow_up.patient_id for r in rows))
    patients = {r.follow_up.patient.id: r.follow_up.patient for r in rows}.values()
    slots = [r.slot.starts_at for r in rows if r.slot is not None]
    entry = RecallPage(
        rows=recall_rows(rows, today, macro, _CSRF),
        total=total,
        patients=shown,
        follow_ups=[r.follow_up.id for r in rows],
        written=stamp,
        page_stamp=(
            (
                sum(p.version for p in patients),
                max(p.updated_at for p in patients),
                sum(r.follow_up.version for r in rows),
                0,  # listed: none has a live booking
            )
            if rows
            else (None, None, None, 0)
        ),
        clinicians=people,
        first_slot=min(slots) if slots else None,
        kept_at=time.monotonic(),
    )
    kept_store.put(kept, key, entry, KEPT_PAGES)
    return _with_token(entry.rows, csrf), total, shown


def _with_token(rows: list[Markup], csrf: str) -> list[Markup]:
    token = str(escape(csrf))
    return [Markup(str(row).replace(_CSRF, token)) for row in rows]  # noqa: S704 (escaped)


def forget_pages(app) -> None:
    """Drop the pages kept (the test suite rolls the database back under a running app)."""
    app.extensions.pop(_KEPT, None)
