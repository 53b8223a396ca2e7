"""Patient record operations: registration, edits, duplicate checks and search."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING

import jellyfish
import sqlalchemy as sa
from flask_sqlalchemy.pagination import Pagination

from clinic.errors import Refused
from clinic.extensions import db
from clinic.mail import send
from clinic.models import audit
from clinic.models.savepoint import unique_or_conflict
from clinic.patients.models import (
    MRN_SEQUENCE,
    ContactMethod,
    MrnCounter,
    Patient,
    Sex,
    fold_name,
    phone_digits,
    sound_key,
)
from clinic.portal import services as portal

if TYPE_CHECKING:
    from clinic.auth.models import User

MRN_PREFIX = "CJ"

# Demographic fields a registration or edit may set, besides the names and date of birth.
DETAIL_FIELDS = (
    "address_line1",
    "address_line2",
    "city",
    "region",
    "postal_code",
    "emergency_name",
    "emergency_relationship",
    "emergency_phone",
)


def next_mrn() -> str:
    """The next medical record number: prefix plus a zero-padded running number.

    The number comes from the PostgreSQL sequence, or on SQLite from the counter row, whose
    UPDATE takes the write lock so that simultaneous registrations never get the same one.
    """
    if db.session.get_bind().dialect.name == "postgresql":
        number = db.session.scalar(sa.select(MRN_SEQUENCE.next_value()))
    else:
        number = db.session.scalar(
            sa.update(MrnCounter)
            .where(MrnCounter.id == 1)
            .values(last_number=MrnCounter.last_number + 1)
            .returning(MrnCounter.last_number)
            .execution_options(synchronize_session=False)
        )
    if number is None:
        raise RuntimeError("The MRN counter is missing: run `flask db upgrade`.")
    return f"{MRN_PREFIX}{number:06d}"


def _clean(value: str | None) -> str | None:
    value = (value or "").strip()
    return value or None


def _check_contact(patient: Patient) -> None:
    method = patient.preferred_contact
    if method is ContactMethod.EMAIL and not patient.email:
        raise Refused("Add an e-mail address or choose another way to reach them.", "email")
    if method in (ContactMethod.PHONE, ContactMethod.TEXT) and not patient.phone:
        raise Refused("Add a phone number or choose another way to reach them.", "phone")
    if method is ContactMethod.MAIL and not (patient.address_line1 and patient.city):
        raise Refused("Add a postal address or choose another way to reach them.", "address_line1")


def register_patient(
    *,
    given_name: str,
    family_name: str,
    date_of_birth: date,
    sex: Sex,
    phone: str | None = None,
    email: str | None = None,
    by: User | None = None,
    preferred_contact: ContactMethod | None = None,
    **details: str | None,
) -> Patient:
    """A new patient record with a fresh MRN; `by` is None when the command line registers.

    `details` are the optional address and emergency-contact fields (DETAIL_FIELDS).
    """
    unknown = set(details) - set(DETAIL_FIELDS)
    if unknown:
        raise TypeError(f"unknown patient fields: {sorted(unknown)}")
    patient = Patient(
        mrn=next_mrn(),
        given_name=given_name.strip(),
        family_name=family_name.strip(),
        date_of_birth=date_of_birth,
        sex=sex,
        phone=_clean(phone),
        email=_clean(email),
        preferred_contact=preferred_contact
        or (
            ContactMethod.PHONE
            if _clean(phone)
            else ContactMethod.EMAIL
            if _clean(email)
            else ContactMethod.MAIL
        ),
        **{name: _clean(value) for name, value in details.items()},
    )
    if preferred_contact is not None:
        _check_contact(patient)
    with unique_or_conflict("This record number was taken at the same moment. Save again."):
        db.session.add(patient)
    audit.record("patient.registered", actor=by, obj=patient, patient_id=patient.id)
    return patient


EDITABLE = (
    "given_name",
    "family_name",
    "date_of_birth",
    "sex",
    "phone",
    "email",
    "preferred_contact",
    *DETAIL_FIELDS,
)


def update_patient(
    patient: Patient, *, by: User, email_change_reason: str | None = None, **values
) -> list[str]:
    """Change demographics; returns the names of the fields that changed (audited, no values).

    A new e-mail for a patient with a portal account needs a reason; the old address is told.
    """

    old_email = patient.email
    if "email" in values and portal.needs_email_change_reason(patient, values["email"]):
        for notice in portal.change_account_email(
            patient, old_email, values["email"], email_change_reason or "", by=by
        ):
            send(notice)
    changed = []
    for name in EDITABLE:
        if name not in values:
            continue
        value = values[name]
        if isinstance(value, str):
            value = _clean(value)
        if getattr(patient, name) != value:
            setattr(patient, name, value)
            changed.append(name)
    _check_contact(patient)
    if changed:
        db.session.flush()
        audit.record(
            "patient.updated",
            actor=by,
            obj=patient,
            patient_id=patient.id,
            detail="changed: " + ", ".join(changed),
        )
    return changed


# How alike two names must be (Jaro-Winkler, 0 to 1) to count as the same name misspelt.
NAME_ALIKE = 0.88
GIVEN_ALIKE = 0.75
DUPLICATE_LIMIT = 10


@dataclass(frozen=True)
class Duplicate:
    """A record that may be the same person, and why it was picked out."""

    patient: Patient
    reasons: tuple[str, ...]


def _names_alike(typed: str, stored_key: str, stored_sound: str, alike: float) -> bool:
    key = fold_name(typed)
    if not key or not stored_key:
        return False
    return (
        key == stored_key
        or (sound_key(typed) == stored_sound and bool(stored_sound))
        or jellyfish.jaro_winkler_similarity(key, stored_key) >= alike
        or jellyfish.damerau_levenshtein_distance(key, stored_key) <= 1
        or (key.startswith(stored_key[:3]) and stored_key.startswith(key[:3]))
    )


def possible_duplicates(
    *,
    given_name: str,
    family_name: str,
    date_of_birth: date | None,
    phone: str | None,
    email: str | None = None,
    exclude_id: int | None = None,
) -> list[Duplicate]:
    """Records that may be the same person: a name alike (spelt the same, sounding the same or
    a letter or two apart, "Danielle" and "Dana" too) with the same birth date, or the same
    phone number or e-mail address. Candidates come from indexed columns and are then scored
    here."""
    same = []
    if date_of_birth is not None:
        same.append(Patient.date_of_birth == date_of_birth)
    digits = phone_digits(phone)
    if digits:
        same.append(Patient.phone_key == digits)
    address = (email or "").strip()
    if address:
        same.append(Patient.email == address)
    if not same:
        return []
    query = (
        sa.select(Patient)
        .where(sa.or_(*same), Patient.merged_into_id.is_(None))
        .order_by(Patient.mrn)
        .limit(200)
    )
    if exclude_id is not None:
        query = query.where(Patient.id != exclude_id)
    found = []
    for other in db.session.scalars(query):
        reasons = []
        if date_of_birth is not None and other.date_of_birth == date_of_birth:
            family = _names_alike(family_name, other.family_key, other.family_sound, NAME_ALIKE)
            given = _names_alike(given_name, other.given_key, other.given_sound, GIVEN_ALIKE)
            if family and given:
                reasons.append("a name alike and the same date of birth")
        if digits and other.phone_key == digits:
            reasons.append("the same phone number")
        if address and (other.email or "").lower() == address.lower():
            reasons.append("the same e-mail address")
        if reasons:
            found.append(Duplicate(other, tuple(reasons)))
    return found[:DUPLICATE_LIMIT]


@dataclass(frozen=True)
class SearchTerms:
    """How a search box entry was understood."""

    kind: str  # "mrn", "dob", "phone", "name", "empty"
    query: sa.Select
    # a page of the results with their number as a column, (limit, offset) -> statement,
    # where the query can do better than a window count over its rows
    page: Callable[[int, int], sa.Select] | None = None


DATE_FORMATS = ("%Y-%m-%d", "%m/%d/%Y", "%m-%d-%Y", "%m/%d/%y")
MRN_PATTERN = re.compile(r"^[A-Za-z]{1,3}\d{3,}$")


def _as_date(text: str) -> date | None:
    for fmt in DATE_FORMATS:
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    return None


def _prefix(column, key: str):
    """`column` starts with `key`, written as a range so that a plain b-tree index serves it."""
    upper = key[:-1] + chr(ord(key[-1]) + 1)
    return sa.and_(column >= key, column < upper)


# A sound-alike match needs this many letters typed, or short entries would match too widely.
SOUND_MIN_LETTERS = 4
# A phone search needs this many digits: the last four, or the area code and exchange.
PHONE_MIN_DIGITS = 4


def _sounds_like(column, typed: str):
    """`column` (a stored sound key) equals how `typed` sounds; None for short entries."""
    sound = sound_key(typed)
    if len(fold_name(typed)) < SOUND_MIN_LETTERS or not sound:
        return None
    return column == sound


def _any(*conditions):
    return sa.or_(*(c for c in conditions if c is not None))


def phone_condition(digits: str):
    """A phone number's start (area code first) or end (the last four digits), both served by
    an index: the end through the reversed digits."""
    digits = phone_digits(digits) or ""
    return sa.or_(_prefix(Patient.phone_key, digits), _prefix(Patient.phone_rev, digits[::-1]))


# A search lists at most this many patients: past it the page says to narrow the search.
SEARCH_LIMIT = 500
# psycopg prepares a statement once it has run five times, and PostgreSQL may then keep one
# generic plan for it. A name's index ranges are as selective as the text typed, which a
# generic plan cannot know: at 100,000 patients it walked the whole family-name index for a
# given-name range (6 ms of the count's 11, EXPLAIN ANALYZE of the prepared statement). Name
# searches are planned for their own values (this transaction only).
_PLAN_FOR_VALUES = sa.text("SET LOCAL plan_cache_mode = force_custom_plan")


def search_page(terms: SearchTerms, page: int, per_page: int):
    """One page of a search's results. The count stops at SEARCH_LIMIT + 1 (shown as "more than
    500"), and pages reach only the first SEARCH_LIMIT results: a common name costs the same
    whatever the number of patients. A first page with room to spare is all there is, so it
    is not counted (most searches: an MRN, a birth date, a phone number)."""
    if terms.kind == "name":
        if db.session.get_bind().dialect.name == "postgresql":
            db.session.execute(_PLAN_FOR_VALUES)
        found = _name_page(terms, page, per_page)
        if found is not None:
            return found
    first = None
    if page <= 1:
        first = db.paginate(terms.query, page=1, per_page=per_page, error_out=False, count=False)
        if len(first.items) < per_page and len(first.items) <= SEARCH_LIMIT:
            first.total = len(first.items)
            first.more = False  # type: ignore[attr-defined]
            return first
    total = db.session.scalar(
        sa.select(sa.func.count()).select_from(
            terms.query.order_by(None).limit(SEARCH_LIMIT + 1).subquery()
        )
    )
    shown = min(total or 0, SEARCH_LIMIT)
    last = max(1, -(-shown // per_page))
    found = first or db.paginate(
        terms.query, page=min(max(page, 1), last), per_page=per_page, error_out=False, count=False
    )
    found.items = found.items[: max(0, shown - (found.page - 1) * per_page)]
    found.total = shown
    found.more = (total or 0) > SEARCH_LIMIT  # type: ignore[attr-defined]
    return found


def first_matches(terms: SearchTerms, limit: int) -> sa.Select:
    """The first `limit` patients a search finds, in the results' order (a name search reads
    the table for those rows only)."""
    return terms.page(limit, 0) if terms.page is not None else terms.query.limit(limit)


class _Counted(Pagination):
    """A page whose items and total were read together."""

    def _query_items(self) -> list:
        return self._query_args["items"]

    def _query_count(self) -> int:
        return self._query_args["total"]


def _name_page(terms: SearchTerms, page: int, per_page: int) -> Pagination | None:
    """A name search's page and its count in one statement (a window count over the page's
    query): its candidates are at most SEARCH_LIMIT + 1 per index range, so counting them all
    costs what counting to the limit did, and the ranges are read once, not twice. None past
    the last page (the caller then counts and shows the last one)."""
    page = max(page, 1)
    offset = (page - 1) * per_page
    statement = (
        terms.page(per_page, offset)
        if terms.page is not None
        else terms.query.add_columns(sa.func.count().over()).limit(per_page).offset(offset)
    )
    rows = db.session.execute(statement).all()
    matched = rows[0][1] if rows else 0
    shown = min(matched, SEARCH_LIMIT)
    if page > 1 and (page - 1) * per_page >= shown:
        return None
    items = [row[0] for row in rows][: max(0, shown - (page - 1) * per_page)]
    found = _Counted(page=page, per_page=per_page, error_out=False, items=items, total=shown)
    found.more = matched > SEARCH_LIMIT  # type: ignore[attr-defined]
    return found


def search_query(text: str) -> SearchTerms:
    """Patients matching a search box entry: an MRN, a date of birth, a phone number (its start
    or its last digits) or a name ("family", "family, given", "given family"), spelt exactly or
    sounding alike; each served by an index."""
    text = (text or "").strip()
    base = (
        sa.select(Patient)
        .where(Patient.merged_into_id.is_(None))  # a retired duplicate is not offered
        .order_by(Patient.family_key, Patient.given_key, Patient.id)
    )
    if not text:
        return SearchTerms("empty", base.where(sa.false()))
    if MRN_PATTERN.match(text):
        return SearchTerms("mrn", base.where(Patient.mrn == text.upper()))
    day = _as_date(text)
    if day is not None:
        return SearchTerms("dob", base.where(Patient.date_of_birth == day))
    digits = re.sub(r"\D", "", text)
    if re.fullmatch(r"\+?[\d\s().-]+", text) and len(digits) >= PHONE_MIN_DIGITS:
        return SearchTerms("phone", base.where(phone_condition(digits)))
    if "," in text:
        family_text, given_text = text.split(",", 1)
        family, given = fold_name(family_text), fold_name(given_text)
        if not family:
            return SearchTerms("empty", base.where(sa.false()))
        if given:
            where = _any(
                sa.and_(Patient.family_key == family, _prefix(Patient.given_key, given)),
                _and_sound(Patient.family_sound, family_text, _prefix(Patient.given_key, given)),
            )
        else:
            where = _any(
                _prefix(Patient.family_key, family),
                _sounds_like(Patient.family_sound, family_text),
            )
        return SearchTerms("name", base.where(where))
    words = [w for w in text.split() if fold_name(w)]
    parts = [fold_name(w) for w in words]
    if not parts:
        return SearchTerms("empty", base.where(sa.false()))
    if len(parts) == 1:
        key = parts[0]
        # Index range scans joined by UNION: written as one OR, the planner walks the
        # family-name index in result order and filters tens of thousands of rows (EXPLAIN).
        # Each range keeps only its first SEARCH_LIMIT + 1 in the page's order (read in that
        # order from an index where one serves it), so a common name costs the same at any
        # size; the first SEARCH_LIMIT results of the union are exact (see `search_page`).
        conditions = (
            _prefix(Patient.family_key, key),
            _prefix(Patient.given_key, key),
            _sounds_like(Patient.family_sound, words[0]),
            _sounds_like(Patient.given_sound, words[0]),
        )
        # Each range brings the keys the results are sorted by (read from its index alone):
        # a page's matches are sorted and counted from those, and only its own rows are read
        # from the table (at 100,000 patients a common name had read ~500 rows to show 25).
        ranges = (
            sa.select(Patient.id, Patient.family_key, Patient.given_key)
            .where(c, Patient.merged_into_id.is_(None))
            .order_by(Patient.family_key, Patient.given_key, Patient.id)
            .limit(SEARCH_LIMIT + 1)
            .subquery()
            for c in conditions
            if c is not None
        )
        either = sa.union(*(sa.select(*r.c) for r in ranges)).subquery("either")
        hits = sa.select(*either.c, sa.func.count().over().label("matched")).subquery("hits")
        in_order = (hits.c.family_key, hits.c.given_key, hits.c.id)
        found = base.order_by(None).join(hits, hits.c.id == Patient.id).order_by(*in_order)

        def page_of(limit: int, offset: int) -> sa.Select:
            chosen = (
                sa.select(hits).order_by(*in_order).limit(limit).offset(offset).subquery("chosen")
            )
            return (
                base.order_by(None)
                .join(chosen, chosen.c.id == Patient.id)
                .add_columns(chosen.c.matched)
                .order_by(chosen.c.family_key, chosen.c.given_key, chosen.c.id)
            )

        return SearchTerms("name", found, page=page_of)
    given, family = parts[0], "".join(parts[1:])
    return SearchTerms(
        "name",
        base.where(
            _any(
                sa.and_(Patient.family_key == family, _prefix(Patient.given_key, given)),
                sa.and_(_prefix(Patient.family_key, family), Patient.given_key == given),
                sa.and_(
                    Patient.family_key == parts[0], _prefix(Patient.given_key, "".join(parts[1:]))
                ),
                # "Grace Okafer": the family name as it sounds, the given name as typed
                _and_sound(
                    Patient.family_sound, " ".join(words[1:]), _prefix(Patient.given_key, given)
                ),
                _and_sound(
                    Patient.family_sound, words[0], _prefix(Patient.given_key, "".join(parts[1:]))
                ),
            )
        ),
    )


def _and_sound(column, typed: str, other):
    sounds = _sounds_like(column, typed)
    return None if sounds is None else sa.and_(sounds, other)
