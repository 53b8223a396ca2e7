"""Message wording (versioned templates), the clinic's sending rules, and each patient's
consent: who may be sent what, on which channel."""

from __future__ import annotations

import re
import string
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer

from clinic.auth.models import User
from clinic.errors import NO_PAGE, NoPage, Refused, StaleWrite
from clinic.extensions import db
from clinic.jobs.queue import AnySession
from clinic.messaging import samples
from clinic.messaging.models import (
    Channel,
    MessageKind,
    MessagePreference,
    MessageTemplate,
    MessagingSettings,
)
from clinic.models import audit
from clinic.models.base import utcnow
from clinic.patients import merge as patient_merge
from clinic.patients.models import ContactMethod, Patient

_LINK = re.compile(r"(/m/(?:visit/\d+|stop)/)[\w.-]+")
MASK = "[hidden]"


def masked_links(body: str) -> str:
    """A message as staff may read it: the secrets in its links hidden."""
    return _LINK.sub(lambda m: m.group(1) + MASK, body)


STALE = "Someone saved a newer version of this message while you were editing."

# The placeholders each part of a template may use.
EMAIL_FIELDS = frozenset(
    {
        "first_name",
        "clinic",
        "clinic_phone",
        "date",
        "time",
        "place",
        "visit",
        "links",
        "opt_out",
        "portal",
        "due_date",
        "old_date",
        "old_time",
    }
)
SMS_FIELDS = frozenset(
    {"first_name", "clinic", "clinic_phone", "date", "time", "visit", "link", "portal", "due_date"}
)
SMS_MAX = 480
TEXTS_OFF = (
    "Text messages are turned off at this clinic, and there is no e-mail address "
    "the patient agreed to."
)


# --- settings ---------------------------------------------------------------------------------


def settings(session: AnySession | None = None) -> MessagingSettings:
    """The clinic's sending rules (the row is made with the defaults if it is missing)."""
    session = session or db.session
    row = session.get(MessagingSettings, 1)
    if row is None:
        row = MessagingSettings(
            id=1, office_hours=samples.OFFICE_HOURS, emergency_advice=samples.EMERGENCY_ADVICE
        )
        session.add(row)
        session.flush()
    return row


def update_settings(
    by: User, seen: str | NoPage | None = NO_PAGE, **values: object
) -> MessagingSettings:
    """Change the sending rules. `seen` is `settings_stamp` of the rules the editor's page showed:
    when someone saved since (e.g. paused sending), this save is stale and changes nothing;
    so is one whose request did not say (None)."""
    row = settings()
    if not isinstance(seen, NoPage):
        db.session.refresh(row, with_for_update=True)  # two saves from one page meet here
        if seen != settings_stamp(row):
            raise StaleWrite("Someone else saved the message settings after you opened them.")
    was_paused = row.paused
    for name, value in values.items():
        setattr(row, name, value)
    db.session.flush()
    audit.record(
        "messages.settings_changed",
        actor=by,
        obj=row,
        detail="sending paused"
        if row.paused and not was_paused
        else "sending resumed"
        if was_paused and not row.paused
        else None,
    )
    return row


def settings_stamp(row: MessagingSettings) -> str:
    """Which save of the settings a page showed (the time of that save)."""
    return row.updated_at.isoformat()


# --- templates --------------------------------------------------------------------------------


def fields_of(text: str) -> set[str]:
    """The placeholders a text uses ({name}); raises ValueError on unbalanced braces."""
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


def _check_fields(text: str, allowed: frozenset[str], field: str) -> None:
    try:
        used = fields_of(text)
    except ValueError:
        raise Refused("Braces { } must come in pairs around a placeholder.", field) from None
    unknown = sorted(name or "(empty)" for name in used - allowed)
    if unknown:
        raise Refused(
            f"Unknown placeholder: {', '.join(unknown)}. Use only: "
            + ", ".join("{" + name + "}" for name in sorted(allowed))
            + ".",
            field,
        )


class _Blank(dict):
    def __missing__(self, key: str) -> str:
        return ""


def fill(text: str, values: dict[str, str]) -> str:
    """A template's text with its placeholders filled (unknown ones left empty)."""
    return string.Formatter().vformat(text, (), _Blank(values))


def history(kind: MessageKind, visit_kind: str, therapy: str) -> list[MessageTemplate]:
    return list(
        db.session.scalars(
            sa.select(MessageTemplate)
            .where(
                MessageTemplate.kind == kind,
                MessageTemplate.visit_kind == visit_kind,
                MessageTemplate.therapy == therapy,
            )
            .order_by(MessageTemplate.version.desc())
        )
    )


def newest_templates(session: AnySession | None = None) -> list[MessageTemplate]:
    """The newest version of every (kind, visit kind, therapy) template."""
    session = session or db.session
    newest = (
        sa.select(
            MessageTemplate.kind,
            MessageTemplate.visit_kind,
            MessageTemplate.therapy,
            sa.func.max(MessageTemplate.version).label("version"),
        )
        .group_by(MessageTemplate.kind, MessageTemplate.visit_kind, MessageTemplate.therapy)
        .subquery()
    )
    return list(
        session.scalars(
            sa.select(MessageTemplate)
            .join(
                newest,
                sa.and_(
                    MessageTemplate.kind == newest.c.kind,
                    MessageTemplate.visit_kind == newest.c.visit_kind,
                    MessageTemplate.therapy == newest.c.therapy,
                    MessageTemplate.version == newest.c.version,
                ),
            )
            .order_by(MessageTemplate.kind, MessageTemplate.visit_kind, MessageTemplate.therapy)
        )
    )


@dataclass(frozen=True)
class Wording:
    """A template's text, detached from any session (a worker reuses it across messages)."""

    id: int
    subject: str
    body: str
    sms_body: str


class TemplateBook:
    """The newest templates, read once, answering 'which wording for this message?'."""

    def __init__(self, session: AnySession | None = None) -> None:
        self.by_key = {
            (t.kind, t.visit_kind, t.therapy): Wording(t.id, t.subject, t.body, t.sms_body)
            for t in newest_templates(session)
        }

    def pick(self, kind: MessageKind, visit_kind: str = "", therapy: str = "") -> Wording:
        for key in (
            (kind, visit_kind, therapy),
            (kind, visit_kind, ""),
            (kind, "", therapy),
            (kind, "", ""),
        ):
            if key in self.by_key:
                return self.by_key[key]
        raise LookupError(f"no template for {kind.value}")


def save_version(
    kind: MessageKind,
    visit_kind: str,
    therapy: str,
    *,
    subject: str,
    body: str,
    sms_body: str,
    based_on: int | None,
    by: User,
) -> MessageTemplate:
    """Add a version; refused when someone saved a newer one since `based_on`."""
    _check_fields(subject, EMAIL_FIELDS, "subject")
    _check_fields(body, EMAIL_FIELDS, "body")
    _check_fields(sms_body, SMS_FIELDS, "sms_body")
    if "{link}" not in sms_body and kind.about_visit:
        raise Refused("A visit text must hold {link}, so the patient can confirm or cancel.")
    current = history(kind, visit_kind, therapy)
    newest_number = current[0].version if current else 0
    if (based_on or 0) != newest_number:
        raise StaleWrite(STALE)
    template = MessageTemplate(
        kind=kind,
        visit_kind=visit_kind,
        therapy=therapy,
        version=newest_number + 1,
        subject=subject.strip(),
        body=body.strip().replace("\r\n", "\n"),
        sms_body=" ".join(sms_body.split()),
        created_by_id=by.id,
    )
    db.session.add(template)
    try:
        with db.session.begin_nested():
            db.session.flush()
    except sa.exc.IntegrityError:
        raise StaleWrite(STALE) from None
    audit.record(
        "messages.template_saved",
        actor=by,
        obj=template,
        detail=f"{kind.value} {visit_kind or 'any visit'} {therapy or 'any therapy'} "
        f"v{template.version}",
    )
    return template


def load_defaults(session: AnySession | None = None) -> int:
    """Add the shipped wording wherever a template has no version yet; the number added."""
    session = session or db.session
    have = set(
        session.execute(
            sa.select(MessageTemplate.kind, MessageTemplate.visit_kind, MessageTemplate.therapy)
        ).all()
    )
    added = 0
    for kind, visit_kind, therapy, subject, body, sms in samples.SAMPLES:
        if (MessageKind(kind), visit_kind, therapy) in have:
            continue
        session.add(
            MessageTemplate(
                kind=MessageKind(kind),
                visit_kind=visit_kind,
                therapy=therapy,
                version=1,
                subject=subject,
                body=body,
                sms_body=sms,
            )
        )
        added += 1
    settings(session)
    session.flush()
    return added


# --- consent and channels -----------------------------------------------------------------------


@dataclass(frozen=True)
class Consent:
    email_ok: bool
    sms_ok: bool
    sms_detail_ok: bool
    opted_out_at: datetime | None


def consent_of(patient: Patient, preference: MessagePreference | None) -> Consent:
    if preference is None:
        return Consent(
            email_ok=True,
            sms_ok=patient.preferred_contact is ContactMethod.TEXT,
            sms_detail_ok=False,
            opted_out_at=None,
        )
    return Consent(
        preference.email_ok, preference.sms_ok, preference.sms_detail_ok, preference.opted_out_at
    )


def texts_off() -> bool:
    """True when the clinic sends no text messages (SMS_TRANSPORT=off)."""
    return current_app.config["SMS_TRANSPORT"] == "off"


def choose_channel(patient: Patient, consent: Consent) -> tuple[Channel | None, str]:
    """The channel to use, or None with the reason nothing can be sent."""
    if consent.opted_out_at is not None:
        return None, "The patient opted out of messages."
    email = consent.email_ok and bool(patient.email)
    sms_agreed = consent.sms_ok and bool(patient.phone_key)
    sms = sms_agreed and not texts_off()
    if patient.preferred_contact is ContactMethod.TEXT:
        order = [(sms, Channel.SMS), (email, Channel.EMAIL)]
    elif patient.preferred_contact is ContactMethod.EMAIL:
        order = [(email, Channel.EMAIL), (sms, Channel.SMS)]
    else:  # phone call or post: e-mail if agreed, never unasked-for texts
        order = [(email, Channel.EMAIL)]
    for usable, channel in order:
        if usable:
            return channel, ""
    if sms_agreed and Channel.SMS in (channel for _, channel in order):
        return None, TEXTS_OFF  # a text was the only way left, and texts are off
    if not (consent.email_ok or consent.sms_ok):
        return None, "The patient has not agreed to messages."
    return None, "No address or phone number the patient agreed to be contacted on."


def preference_for(patient: Patient) -> MessagePreference | None:
    return db.session.get(MessagePreference, patient.id)


def set_preference(
    patient: Patient, *, email_ok: bool, sms_ok: bool, sms_detail_ok: bool, by: User
) -> MessagePreference:
    """Record the patient's consent as the front desk took it (clears an opt-out when the
    patient agreed again)."""
    row = preference_for(patient)
    if row is None:
        row = MessagePreference(patient_id=patient.id)
        db.session.add(row)
    row.email_ok, row.sms_ok, row.sms_detail_ok = email_ok, sms_ok, sms_detail_ok and sms_ok
    if email_ok or sms_ok:
        row.opted_out_at = row.opted_out_how = None
    db.session.flush()
    audit.record(
        "messages.consent_changed",
        actor=by,
        obj=patient,
        patient_id=patient.id,
        detail=f"e-mail {'yes' if email_ok else 'no'}, texts {'yes' if sms_ok else 'no'}, "
        f"detail by text {'yes' if row.sms_detail_ok else 'no'}",
    )
    return row


def opt_out(session: AnySession, patient_id: int, how: str, *, texts_only: bool = False) -> None:
    """Stop messages to a patient (all, or only texts for an SMS STOP)."""
    row = session.get(MessagePreference, patient_id)
    if row is None:
        row = MessagePreference(patient_id=patient_id, email_ok=True, sms_ok=False)
        session.add(row)
    row.sms_ok = False
    row.sms_detail_ok = False
    if not texts_only:
        row.email_ok = False
        row.opted_out_at, row.opted_out_how = utcnow(), how[:40]
    session.flush()
    audit.record(
        "messages.opted_out",
        actor=None,
        patient_id=patient_id,
        detail=f"{'texts' if texts_only else 'all messages'} ({how})",
    )


def opt_in_texts(session: AnySession, patient_id: int, how: str) -> None:
    row = session.get(MessagePreference, patient_id)
    if row is None:
        row = MessagePreference(patient_id=patient_id)
        session.add(row)
    row.sms_ok = True
    session.flush()
    audit.record("messages.opted_in", actor=None, patient_id=patient_id, detail=f"texts ({how})")


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="messages-opt-out")


def opt_out_token(patient_id: int) -> str:
    """The secret in a message's opt-out link (signed; it names only the patient)."""
    return _serializer().dumps(patient_id)


def patient_for_opt_out(token: str) -> Patient | None:
    try:
        patient_id = _serializer().loads(token)
    except BadSignature:
        return None
    if not isinstance(patient_id, int):
        return None
    return db.session.get(Patient, patient_id)


def merge_preferences(survivor_id: int, retired_id: int) -> None:
    """Two records of one person: the stricter consent of the two holds (a "no" on either
    record, and the earlier opt-out, stay in force on the survivor)."""
    retired = db.session.get(MessagePreference, retired_id)
    if retired is None:
        return
    kept = db.session.get(MessagePreference, survivor_id)
    if kept is None:
        kept = MessagePreference(patient_id=survivor_id)
        kept.email_ok, kept.sms_ok, kept.sms_detail_ok = (
            retired.email_ok,
            retired.sms_ok,
            retired.sms_detail_ok,
        )
        kept.opted_out_at, kept.opted_out_how = retired.opted_out_at, retired.opted_out_how
        db.session.add(kept)
    else:
        kept.email_ok = kept.email_ok and retired.email_ok
        kept.sms_ok = kept.sms_ok and retired.sms_ok
        kept.sms_detail_ok = kept.sms_detail_ok and retired.sms_detail_ok
        if retired.opted_out_at is not None and (
            kept.opted_out_at is None or retired.opted_out_at < kept.opted_out_at
        ):
            kept.opted_out_at, kept.opted_out_how = retired.opted_out_at, retired.opted_out_how
    db.session.delete(retired)
    db.session.flush()


patient_merge.ONE_ROW_MERGERS["message_preference"] = merge_preferences
