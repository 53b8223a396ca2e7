"""Bad input thrown at every form and every query string, by every role: never a 5xx, never a
stored value the model's rules forbid.

The forms come from the route × role matrix (`ROUTES` in test_access_matrix): each GET page a
role may open is fetched and its <form>s parsed (names, hidden values, options), so a new page
or form is covered without touching this file. Hypothesis then mutates one or two fields at a
time, keeping the rest valid: huge and empty text, NUL, control and odd Unicode, numbers out of
every range, impossible dates, missing, duplicated and file fields, other patients' ids.
"""

from __future__ import annotations

import io
import unicodedata
import zlib
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from html.parser import HTMLParser
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from werkzeug.datastructures import MultiDict

from clinic.auth.models import Role
from clinic.forms import BIDI_CONTROLS
from clinic.instructions.phases import Phase
from clinic.instructions.services import load_samples, newest
from clinic.jobs import queue
from clinic.journeys import walkthrough as walk
from clinic.journeys.bounds import BOUNDS
from clinic.journeys.services import stages
from clinic.journeys.states import StageKind
from clinic.mail import OutboxMessage
from clinic.outcomes.services import assign
from tests import factories
from tests.journeys.records import collected_journey, placeholders
from tests.patients.records import make_merge_record
from tests.test_access_matrix import PUBLIC, ROUTES

EXAMPLES = 150  # per role; about 25 s per database on a 2-core machine
SKIP_ACTIONS = ("/logout",)  # signing out would end the run, not test an input

VALUES = [
    "",
    " ",
    "A" * 5000,
    "\x00",
    "a\x00b",
    "bell\x07",
    "\x1b[2J",
    "two\nlines",
    "tab\there",
    "\u202etxt.exe",
    "zero\u200bwidth",
    "\ufeff",
    "\u2028",
    "名前 Ñandú",
    "😀",
    "-1",
    "0",
    "2147483648",
    str(2**63),
    "1e30",
    "9" * 40,
    "NaN",
    "Infinity",
    "-0.001",
    "999999",
    "１２",  # full-width digits
    "²",
    "abc",
    "0001-01-01",
    "9999-12-31",
    "2026-02-30",
    "0001-01-01T00:00",
    "9999-12-31T23:59",
    "25:99",
    "' OR 1=1 --",
    "<script>x</script>",
    "B" * 301 + "\nshort line",
    "6 weeks | 99999999999 | 1 | 2",
    "a | -1 | 0 | 0\nb | 10 | 20 | 0",
]
OPERATIONS = ["set", "set", "set", "set", "drop", "duplicate", "other_id", "file"]


@dataclass
class Form:
    """A parsed <form>: where it goes and a valid value for each field."""

    action: str
    method: str
    fields: dict[str, list[str]] = field(default_factory=dict)


class FormParser(HTMLParser):
    """Collects the forms of a page with a plausible value for every field."""

    def __init__(self, page: str) -> None:
        super().__init__(convert_charrefs=True)
        self.page = page
        self.forms: list[Form] = []
        self.current: Form | None = None
        self.select: tuple[str, list[str], list[str]] | None = None
        self.textarea: str | None = None

    def handle_starttag(self, tag: str, attrs: list) -> None:
        a = {k: (v or "") for k, v in attrs}
        if tag == "form":
            action = a.get("action") or self.page
            self.current = Form(action, a.get("method", "get").lower())
            self.forms.append(self.current)
            return
        if self.current is None or not a.get("name"):
            if tag == "option" and self.select is not None:
                self._option(a)
            return
        name = a["name"]
        fields = self.current.fields
        if tag == "input":
            kind = a.get("type", "text").lower()
            if kind in ("checkbox", "radio"):
                if ("checked" in a or kind == "radio") and name not in fields:
                    fields[name] = [a.get("value", "y")]
            elif kind in ("submit", "button", "reset", "image"):
                fields.setdefault(name, [a.get("value", "")])
            else:
                fields[name] = [a.get("value") or self._sample(kind, name)]
        elif tag == "textarea":
            self.textarea = name
            fields[name] = ["Test text"]
        elif tag == "select":
            self.select = (name, [], [])
            if "multiple" in a:
                fields[name] = []
        elif tag == "button":
            fields.setdefault(name, [a.get("value", "")])

    def _option(self, a: dict) -> None:
        _name, values, chosen = self.select
        values.append(a.get("value", ""))
        if "selected" in a:
            chosen.append(a.get("value", ""))

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self.current = None
        elif tag == "textarea":
            self.textarea = None
        elif tag == "select" and self.select is not None and self.current is not None:
            name, values, chosen = self.select
            filled = [v for v in values if v]
            if name in self.current.fields:  # multiple
                self.current.fields[name] = chosen or filled[:1]
            else:
                self.current.fields[name] = chosen[:1] or filled[:1] or values[:1]
            self.select = None

    def handle_data(self, data: str) -> None:
        if self.textarea and self.current is not None and data.strip():
            self.current.fields[self.textarea] = [data]

    @staticmethod
    def _sample(kind: str, name: str) -> str:
        today = date.today()
        return {
            "date": today.isoformat(),
            "datetime-local": f"{today.isoformat()}T10:00",
            "time": "09:00",
            "number": "1",
            "email": "fuzz@example.com",
            "tel": "617 555 0100",
            "password": "correct horse battery staple",
        }.get(kind, "Test")


@dataclass
class World:
    """Records to fill the matrix's placeholders, and ids belonging to someone else."""

    ids: dict
    stage_pages: list[dict]
    other_ids: list[str]


def build_world(db, make_user, role_user) -> World:
    """Records every page of the matrix needs, with stages in states that show their forms."""
    other = make_user(Role.CLINICAL_STAFF)
    patient = factories.PatientFactory()
    message = OutboxMessage(recipient="x@x.example.com", subject="s", body="b")
    db.session.add(message)
    queued = queue.enqueue(db.session, "x@x.example.com", "s", "b")
    db.session.flush()
    response_row = assign(
        patient,
        ["nrs_pain"],
        timepoint="baseline",
        available_from=date.today(),
        due_by=None,
        by=None,
    )[0]
    own = response_row
    if role_user is not None and role_user.role is Role.PATIENT:
        own = assign(
            role_user.patient,
            ["nrs_pain", "odi"],
            timepoint="baseline",
            available_from=date.today(),
            due_by=None,
            by=None,
        )[0]
    load_samples()
    instruction = newest("prp", Phase.DAYS_0_3)
    from clinic.scheduling.feeds import new_token
    from tests.scheduling.factories import make_appointment, make_room

    room = make_room()
    appt = make_appointment(room=room)
    feed = new_token(appt.provider, by=other)
    ids = dict(
        instruction=instruction.id,
        other=other.id,
        patient=patient.id,
        message=message.id,
        queued=queued.id,
        response=response_row.id,
        own_response=own.id,
        appt=appt.id,
        room=room.id,
        provider=appt.provider_id,
        feed=feed,
        merge=make_merge_record().id,
        **placeholders(),
    )
    _join_care_teams(db, ids, patient, role_user, other)
    from tests.messaging.helpers import matrix_records

    ids.update(matrix_records(patient, role_user, appt))
    stage_pages = _stages_with_open_forms(make_user)
    other_ids = [str(patient.id), str(appt.id), str(other.id), str(ids["stage"])]
    return World(ids, stage_pages, other_ids)


def _join_care_teams(db, ids: dict, patient, role_user, other) -> None:
    """A clinician fuzzes as a care-team member (so the clinical forms open), and the care-team
    and break-glass records the matrix names exist."""
    from clinic.careteam import services as careteam
    from clinic.careteam.models import BreakGlassReason
    from clinic.journeys import models as m
    from tests.careteam_helpers import join_care_team

    journey = db.session.get(m.Journey, ids["journey"])
    if role_user is not None and role_user.role in (Role.PROVIDER, Role.CLINICAL_STAFF):
        if role_user.role is Role.PROVIDER:
            journey.provider_id = role_user.id
        join_care_team(role_user, patient)
    staff = other if other.role is Role.CLINICAL_STAFF else None
    member = careteam.add_member(journey, staff, staff) if staff else None
    other_patient = factories.PatientFactory()
    grant = careteam.grant_break_glass(
        other, patient, BreakGlassReason.EMERGENCY, "Covering the evening clinic.", 4
    )
    ids.update(
        member=member.id if member else 0, other_patient=other_patient.id, break_glass=grant.id
    )
    from tests.test_access_matrix import _safety_records

    reporter = journey.provider
    ids.update(_safety_records(ids, {Role.PROVIDER: reporter}))


def _stages_with_open_forms(make_user) -> list[dict]:
    """Processing in progress (journey A); injection after its time-out (journey B)."""
    journey_a, provider = collected_journey()
    verifier = make_user(Role.CLINICAL_STAFF)
    walk.process(journey_a, provider, verifier, complete=False)
    journey_b, provider_b = collected_journey()
    walk.process(journey_b, provider_b, verifier)
    injection = walk.stage_of(journey_b, StageKind.INJECTION)
    stages.start_stage(injection, provider_b)
    walk.tick_all(injection, provider_b)
    walk.time_out(injection, provider_b)
    pages = [
        dict(journey=journey_a.id, stage=walk.stage_of(journey_a, StageKind.PROCESSING).id),
        dict(journey=journey_b.id, stage=injection.id),
        dict(journey=journey_b.id, stage=walk.stage_of(journey_b, StageKind.COLLECTION).id),
    ]
    return pages


def allowed(role: Role | None, who: object) -> bool:
    if who == PUBLIC:
        return True
    return role is not None and role in who


def pages_for(role: Role | None, world: World) -> list[str]:
    """Every GET page of the matrix this role may open, filled with the world's ids."""
    urls = []
    for _endpoint, method, url, who in ROUTES:
        if method != "GET" or not allowed(role, who):
            continue
        urls.append(url.format(**world.ids))
        if "{stage}" in url:
            urls += [url.format(**{**world.ids, **extra}) for extra in world.stage_pages]
    return urls


def post_routes_for(role: Role | None, world: World) -> list[str]:
    return [
        url.format(**world.ids)
        for _endpoint, method, url, who in ROUTES
        if method == "POST" and allowed(role, who) and not url.startswith(SKIP_ACTIONS)
    ]


def collect_forms(client, role: Role | None, world: World) -> tuple[list[Form], list[str]]:
    """The forms on the role's pages (plus bare posts for routes with no form found) and the
    pages' own URLs (their query strings are mutated too)."""
    forms: dict[tuple[str, str, tuple], Form] = {}
    pages = pages_for(role, world)
    token = None
    for page in pages:
        response = client.get(page)
        if response.status_code != 200 or "html" not in response.mimetype:
            continue
        parser = FormParser(page)
        parser.feed(response.get_data(as_text=True))
        for form in parser.forms:
            if form.action.startswith(SKIP_ACTIONS) or not form.action.startswith("/"):
                continue
            token = token or (form.fields.get("csrf_token") or [None])[0]
            forms.setdefault((form.action, form.method, tuple(sorted(form.fields))), form)
    actions = {f.action.split("?")[0] for f in forms.values()}
    for url in post_routes_for(role, world):
        if url.split("?")[0] not in actions and token:
            forms[(url, "post", ())] = Form(url, "post", {"csrf_token": [token], "version": ["1"]})
    return list(forms.values()), pages


def mutate_url(url: str, value: str, ids: list[str]) -> str:
    """The page's URL with one query value, or one id in its path, replaced."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    segments = parts.path.split("/")
    numeric = [i for i, s in enumerate(segments) if s.isdigit()]
    if numeric and (not query or len(value) % 2):
        index = numeric[len(value) % len(numeric)]
        segment = value if value.isascii() and value.strip("-").isdigit() else ids[0]
        segments[index] = segment if len(segment) < 100 else "9" * 30
        return "/".join(segments) + (f"?{parts.query}" if parts.query else "")
    names = [k for k, _ in query] + ["date", "provider", "room", "page", "q", "patient"]
    name = names[len(value) % len(names)]
    query = [(k, v) for k, v in query if k != name] + [(name, value)]
    return f"{parts.path}?{urlencode(query)}"


def send(client, form: Form, name: str | None, operation: str, value: str, ids: list[str]):
    """Post (or get) the form with one field mutated by one operation."""
    data = {k: list(v) for k, v in form.fields.items()}
    files = False
    if name is not None:
        if operation == "set":
            data[name] = [value]
        elif operation == "drop":
            data.pop(name, None)
        elif operation == "duplicate":
            data[name] = [*data.get(name, []), value]
        elif operation == "other_id":
            data[name] = [ids[len(value) % len(ids)]]
        elif operation == "file":
            data[name] = [(io.BytesIO(b"not a text value"), "x.txt")]
            files = True
    pairs = [(k, v) for k, values in data.items() for v in values]
    if form.method == "get":
        url = f"{form.action.split('?')[0]}?{urlencode(pairs)}" if not files else form.action
        return client.get(url), files
    if files:
        multi: dict = {}
        for k, v in pairs:
            multi.setdefault(k, []).append(v)
        return client.post(form.action, data=multi, content_type="multipart/form-data"), files
    return client.post(form.action, data=MultiDict(pairs)), files


TEXT_TYPES = (sa.String, sa.Text)


def stored_problems(db) -> list[str]:
    """Values stored against the model's rules: control or bidi characters, over-long text,
    numbers outside their clinical range, dates outside 1900..2100."""
    problems = []
    for table in db.metadata.sorted_tables:
        columns = [c for c in table.columns if not c.primary_key]
        if not columns:
            continue
        for row in db.session.execute(sa.select(*columns)).mappings():
            for column in columns:
                problem = _problem(table.name, column, row[column.name])
                if problem:
                    problems.append(f"{table.name}.{column.name}: {problem}")
    return problems


def _problem(table: str, column: sa.Column, value) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        multi_line = isinstance(column.type, sa.Text) or column.type.__class__.__name__ == "JSON"
        for char in value:
            if char in BIDI_CONTROLS:
                return f"bidi control {char!r}"
            if unicodedata.category(char) == "Cc" and not (multi_line and char in "\t\n\r"):
                return f"control character {char!r}"
        length = getattr(column.type, "length", None)
        if length and len(value) > length:
            return f"{len(value)} characters in a column of {length}"
    bound = BOUNDS.get(table, {}).get(column.name)
    if (
        bound is not None
        and isinstance(value, int | Decimal)
        and not bound.low <= value <= bound.high
    ):
        return f"{value} outside {bound.low}..{bound.high}"
    if isinstance(value, date | datetime) and not 1900 <= value.year <= 2100:
        return f"date {value}"
    return None


ROLES = [*Role, None]


def _settings(examples: int):
    return settings(
        max_examples=examples,
        deadline=None,
        derandomize=True,  # the same examples on every run: CI is reproducible
        database=None,
        suppress_health_check=list(HealthCheck),
    )


def _rotated(items: list, key: str) -> list:
    """`items` started at a place fixed by `key`: derandomized runs then try different
    values first on each form instead of the same ones everywhere."""
    start = zlib.crc32(key.encode()) % len(items)
    return items[start:] + items[:start]


def _status(call, *args) -> int | str:
    try:
        return call(*args).status_code
    except Exception as err:  # the test app propagates a view's exception: record it, go on
        return f"{type(err).__name__}: {str(err)[:160]}"


def fuzz_page(client, page: str, ids: list[str], failures: list[str], examples: int) -> None:
    """GET the page with one query value or path id replaced, `examples` times."""

    @_settings(examples)
    @given(value=st.sampled_from(_rotated(VALUES, page)))
    def run(value: str) -> None:
        url = mutate_url(page, value, ids)
        status = _status(client.get, url)
        if not isinstance(status, int) or status >= 500:
            failures.append(f"GET {url[:200]!r} -> {status}")

    run()


def fuzz_form(client, form: Form, ids: list[str], failures: list[str], examples: int, renew):
    """Send the form with one or two fields mutated, `examples` times."""
    key = f"{form.method} {form.action}"
    names = _rotated([*sorted(form.fields), "unexpected_field"], key)
    mutation = st.tuples(
        st.sampled_from(names),
        st.sampled_from(_rotated(OPERATIONS, key)),
        st.sampled_from(_rotated(VALUES, key)),
    )

    def sent(name: str, operation: str, value: str):
        return send(client, form, name, operation, value, ids)[0]

    @_settings(examples)
    @given(mutations=st.lists(mutation, min_size=1, max_size=2))
    def run(mutations: list) -> None:
        renew(form)
        for name, operation, value in mutations:
            where = f"{form.method.upper()} {form.action} {name}={value[:40]!r} ({operation})"
            status = _status(sent, name, operation, value)
            if not isinstance(status, int) or status >= 500:
                failures.append(f"{where} -> {status}")
            elif operation == "file" and form.method == "post" and status not in (400, 413):
                failures.append(f"{where} -> {status}, a file part must be refused with 400")

    run()


@pytest.mark.parametrize("role", ROLES, ids=lambda r: r.value if r else "anonymous")
def test_bad_input_never_gives_a_server_error(client, db, sign_in_as, make_user, role):
    user = sign_in_as(role) if role is not None else None
    world = build_world(db, make_user, user)
    forms, pages = collect_forms(client, role, world)
    assert forms, "no form found: the parser or the matrix changed"
    failures: list[str] = []

    def renew(form: Form) -> None:
        if role is not None:
            sign_in_as(role, user)
        elif "csrf_token" in form.fields:  # a failed sign-in renews the session and its token
            form.fields["csrf_token"] = [client.csrf_token("/login")]

    # A fixed budget shared out so that every form and page gets its turn.
    for page in pages:
        fuzz_page(client, page, world.other_ids, failures, max(2, EXAMPLES // (4 * len(pages))))
    for form in forms:
        fuzz_form(client, form, world.other_ids, failures, max(3, EXAMPLES // len(forms)), renew)
    assert failures == [], "\n".join(sorted(set(failures)))
    assert stored_problems(db) == []
