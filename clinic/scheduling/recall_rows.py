"""The recall list's rows as markup: each kind of row (scheduling/_recall_row.html) rendered
once per page with placeholder values and filled per follow-up (MarkupPattern), where the
loop body cost ~100 µs a row (filters, URLs, a few dozen lookups and escapes)."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import url_for
from markupsafe import Markup

from clinic.dates import fmt_date, fmt_datetime, fmt_short_date
from clinic.markup_patterns import MarkupPattern
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
