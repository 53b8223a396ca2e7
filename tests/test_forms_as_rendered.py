"""Every form a page renders can be sent as the page renders it.

For each role, every page of the route × role matrix (and the stage, follow-up, screen and
consent pages of journeys walked to each state) is opened, and each of its POST forms is sent
as a browser would send it: hidden fields as rendered, the selected (or first) option of each
select, checked boxes only, the clicked button's name and value, and only the visible fields a
browser would not let through empty filled in with plausible values. The answer must never be a
400 or a server error, a 404/405 (the form posts where nothing listens), a 403 (the page offered
the role a form it may not use), a 409 (the page's own version called stale), nor a 422 whose
message is about a hidden field the user cannot correct.

Each post runs inside a savepoint rolled back afterwards, with the session cookie restored, so
one form's action (ending a journey, signing out) never takes away another form's page.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import time, timedelta
from decimal import Decimal
from html import unescape
from html.parser import HTMLParser
from urllib.parse import parse_qsl, urlencode, urlsplit

import pyotp
import pytest
import sqlalchemy as sa
from itsdangerous import BadSignature
from werkzeug.datastructures import MultiDict

from clinic.auth.models import Role, User
from clinic.careteam import services as careteam
from clinic.extensions import db as _db
from clinic.journeys import models as m
from clinic.journeys import walkthrough as walk
from clinic.journeys.models.records import Decision
from clinic.journeys.services import journeys, kept, screening, specimens, stages
from clinic.journeys.states import StageKind, Therapy
from clinic.messaging import links
from clinic.messaging.services import opt_out_token
from clinic.models.base import utcnow
from clinic.outcomes.services import assign
from clinic.patients.models import AntithromboticDrug, Patient
from clinic.portal import services as portal
from clinic.scheduling import recalls
from clinic.scheduling.models import Status, WorkingHours
from clinic.scheduling.recall_rows import forget_pages
from clinic.scheduling.week_grid import forget_weeks
from clinic.submissions import FIELD, new_key
from clinic.timeutil import clinic_day_bounds, clinic_today
from tests import factories
from tests.careteam_helpers import join_care_team
from tests.scheduling.factories import make_appointment
from tests.test_access_matrix import ROUTES, _build_records

# Hidden-field refusals a user cannot correct beside a field (or a choice the page offered and
# the route refused), in a re-rendered page or in the message a redirect carries.
HIDDEN_FIELD_WORDS = ("out of date", "changed in transit", "reload", "not a valid choice",
                      "changed meanwhile")  # fmt: skip
# Pages whose forms are not a page's own work (downloads) or whose GET is not a page.
SKIP_PAGES = (".csv", ".ics", "/print", "/label", "/pick.json", "/feed/")
# "End this journey" and "Start a repeat treatment" (chart and stage pages) sent no version:
# fixed on main in a change of its own. Delete this once that change is merged here.
SAME_FORM_PAGES = 3
STAMP = "2000-01-01T00:00:00+00:00"  # a save-time stamp no page shows now
# Links with a query string: pages that open a form filled in from it.
PREFILLING = re.compile(r'href="(/[^"#?]*\?[^"#]+)"')
# Fields Enter submits a form from (implicit submission).
TYPED = ("text", "search", "email", "tel", "url", "password", "number", "date", "time",
         "datetime-local")  # fmt: skip
RANDOM = ("csrf_token", FIELD)  # hidden values that differ per page load, not per form
PUBLIC_PAGES = ("/login", "/portal/forgot", "/portal/link/", "/m/")


@dataclass
class Control:
    name: str
    value: str
    kind: str  # input type, "select", "select-multiple" or "textarea"
    required: bool = False
    options: list[str] = field(default_factory=list)


@dataclass
class Button:
    name: str | None
    value: str
    action: str | None  # formaction
    label: str = ""


@dataclass
class RenderedForm:
    action: str
    method: str
    form_id: str | None
    scripted_action: str = ""  # set by a script (a shared dialog form): its pattern
    controls: list[Control] = field(default_factory=list)
    buttons: list[Button] = field(default_factory=list)
    disabled_buttons: int = 0
    unticked: list[Control] = field(default_factory=list)  # boxes a user may tick

    def last_options(self) -> RenderedForm | None:
        """The form with the last option of each select chosen (None: no select offers two):
        every option a page offers is one its route takes."""
        controls, changed = [], False
        for c in self.controls:
            offered = [o for o in c.options if o not in ("", "None")]
            if c.kind == "select" and len(offered) > 1 and c.value != offered[-1]:
                c = Control(c.name, offered[-1], c.kind, c.required, c.options)
                changed = True
            controls.append(c)
        if not changed:
            return None
        return RenderedForm(self.action, self.method, self.form_id, self.scripted_action,
                            controls, self.buttons)  # fmt: skip

    def ticked(self) -> RenderedForm:
        """The form with every box ticked (what a user who agrees to all of them sends)."""
        return RenderedForm(self.action, self.method, self.form_id, self.scripted_action,
                            [*self.controls, *self.unticked], self.buttons)  # fmt: skip


class Forms(HTMLParser):
    """The forms of a page as a browser sees them (disabled controls are never sent)."""

    def __init__(self, page: str) -> None:
        super().__init__(convert_charrefs=True)
        self.page = page
        self.forms: list[RenderedForm] = []
        self.current: RenderedForm | None = None
        self.outside: list[tuple[str, Control | Button]] = []  # controls with form="id"
        self.select: tuple[Control, list[str], list[str], RenderedForm | None] | None = None
        self.textarea: tuple[Control, RenderedForm | None] | None = None
        self.button: tuple[Button, RenderedForm | None] | None = None

    def _owner(self, a: dict) -> RenderedForm | None:
        return self.current if "form" not in a else None

    def _add(self, a: dict, item: Control | Button) -> None:
        if "form" in a:
            self.outside.append((a["form"], item))
            return
        if self.current is None:
            return
        if isinstance(item, Button):
            self.current.buttons.append(item)
        else:
            self.current.controls.append(item)

    def handle_starttag(self, tag: str, attrs: list) -> None:
        a = {k: (v if v is not None else "") for k, v in attrs}
        if tag == "form":
            self.current = RenderedForm(
                a.get("action") or self.page,
                a.get("method", "get").lower(),
                a.get("id"),
                scripted_action=a.get("data-action", ""),
            )
            self.forms.append(self.current)
            return
        if tag == "option" and self.select is not None:
            control, values, chosen, _ = self.select
            if "disabled" not in a:
                values.append(a.get("value", ""))
                if "selected" in a:
                    chosen.append(a.get("value", ""))
            return
        if "disabled" in a:
            if tag == "button" and self.current is not None:
                self.current.disabled_buttons += 1
            return
        name = a.get("name")
        if tag == "input":
            kind = a.get("type", "text").lower()
            if kind in ("submit", "image"):
                self._add(
                    a, Button(name, a.get("value", ""), a.get("formaction"), a.get("value", ""))
                )
                return
            if kind in ("button", "reset", "file") or not name:
                return
            if kind == "checkbox" and "checked" not in a and self.current is not None:
                self.current.unticked.append(Control(name, a.get("value", "on"), kind))
                return
            if kind in ("checkbox", "radio") and "checked" not in a:
                return
            self._add(
                a,
                Control(
                    name, a.get("value", "on" if kind == "checkbox" else ""), kind, "required" in a
                ),
            )
        elif tag == "button":
            if a.get("type", "submit").lower() != "submit":
                return
            button = Button(name, a.get("value", ""), a.get("formaction"))
            self.button = (button, self._owner(a))
            self._add(a, button)
        elif tag == "select" and name:
            kind = "select-multiple" if "multiple" in a else "select"
            control = Control(name, "", kind, "required" in a)
            self.select = (control, [], [], self._owner(a))
            self._add(a, control)
        elif tag == "textarea" and name:
            control = Control(name, "", "textarea", "required" in a)
            self.textarea = (control, self._owner(a))
            self._add(a, control)

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self.current = None
        elif tag == "textarea":
            self.textarea = None
        elif tag == "button":
            self.button = None
        elif tag == "select" and self.select is not None:
            control, values, chosen, _ = self.select
            control.options = values
            if control.kind == "select-multiple":
                control.value = "\n".join(chosen)
            else:
                control.value = (chosen[:1] or values[:1] or [""])[0]
            self.select = None

    def handle_data(self, data: str) -> None:
        if self.select is not None:
            return
        if self.textarea is not None:
            self.textarea[0].value += data
        if self.button is not None:
            self.button[0].label += data.strip()

    def result(self) -> list[RenderedForm]:
        by_id = {f.form_id: f for f in self.forms if f.form_id}
        for form_id, item in self.outside:
            owner = by_id.get(form_id)
            if owner is None:
                continue
            (owner.buttons if isinstance(item, Button) else owner.controls).append(item)
        for form in self.forms:
            for control in form.controls:
                if control.kind == "textarea":
                    # the newline after <textarea> is not part of the value
                    control.value = re.sub(r"^\r?\n", "", control.value)
        return self.forms


def filled(control: Control, email: str = "someone.new@example.com") -> str:
    """The control's value as sent: as rendered, or plausible when required and empty."""
    if control.kind == "hidden" or control.value not in ("", "None"):
        return control.value  # (WTForms renders a None choice as "None")
    name = control.name.lower()
    if name.rsplit("-", 1)[-1] == "code":  # the signed-in user confirming who they are
        return pyotp.TOTP(factories.TOTP_SECRET).now()  # every enrolled test user's secret
    if control.kind == "password":
        return factories.PASSWORD
    if not control.required:
        return control.value
    today = clinic_today()
    if control.kind in ("select", "select-multiple"):
        return next((o for o in control.options if o not in ("", "None")), "")
    return {
        "date": today.isoformat(),
        "datetime-local": f"{today.isoformat()}T10:00",
        "time": "10:00",
        "number": "1",
        "email": email,
        "tel": "617 555 0100",
    }.get(control.kind, "Plain words")


MOVABLE = re.compile(
    r'data-move-visit="(\d+)" data-version="([^"]*)" data-provider="([^"]*)" '
    r'data-day="([^"]*)" data-start="([^"]*)"'
)


def as_script_fills(form: RenderedForm, html: str) -> list[tuple[RenderedForm, str]]:
    """The week grid's shared move form as week.js fills it for the first two visits shown
    (left where they are: the form's own values, not a new time, are what is tested)."""
    out = []
    for visit, version, provider, day, start in MOVABLE.findall(html)[:2]:
        values = {"version": version, "provider": provider, "day": day, "start": start}
        controls = [
            Control(c.name, values.get(c.name, c.value), c.kind, c.required, c.options)
            for c in form.controls
        ]
        filled_form = RenderedForm(form.action, form.method, form.form_id, controls=controls)
        out.append((filled_form, form.scripted_action.replace("{id}", visit)))
    return out


def is_version(control: Control) -> bool:
    """A hidden field saying which save of a record the page showed."""
    return control.kind == "hidden" and (
        control.name.endswith(("version", "based_on")) or control.name == "seen"
    )


def versioned(form: RenderedForm) -> bool:
    return any(
        is_version(c) and (c.value.isdigit() or (c.name == "seen" and c.value))
        for c in form.controls
    )


def body_of(
    form: RenderedForm,
    button: Button | None,
    fresh_key: bool = False,
    email: str | None = None,
    stale: bool = False,
) -> MultiDict:
    pairs: list[tuple[str, str]] = []
    for control in form.controls:
        value = filled(control, email) if email else filled(control)
        if stale and is_version(control):  # not the version (or save) stored now
            value = str(int(value) - 1 if int(value) else 1) if value.isdigit() else STAMP
        if fresh_key and control.name == FIELD:
            value = new_key()  # another page load, not the same post again
        if control.kind == "select-multiple":
            pairs += [(control.name, v) for v in value.split("\n") if v]
        else:
            pairs.append((control.name, value))
    if button is not None and button.name:
        pairs.append((button.name, button.value))
    return MultiDict(pairs)


def variants(form: RenderedForm) -> list[Button | None]:
    """One submission per distinct submit button (a form without one is sent by Enter in a
    field; one whose buttons are all disabled is not sent at all)."""
    if not form.buttons and (
        form.disabled_buttons or not any(c.kind in TYPED for c in form.controls)
    ):
        return []  # no button, nothing to press Enter in: not sent without a script
    seen, out = set(), []
    for button in form.buttons:
        key = (button.name, button.value, button.action)
        if key not in seen:
            seen.add(key)
            out.append(button)
    return out or [None]


def shape(url: str) -> str:
    return re.sub(r"/\d+", "/N", urlsplit(url).path)


# --- the records -------------------------------------------------------------------------------


def _journey(provider, nurse, therapy: Therapy = Therapy.PRP) -> m.Journey:
    condition = _db.session.scalar(sa.select(m.Condition).limit(1))
    journey = journeys.open_journey(
        factories.PatientFactory(),
        therapy=therapy,
        provider=provider,
        condition_ids=[condition.id],
        targets=[("L4-L5", "midline", "disc")],
        by=provider,
    )
    careteam.add_member(journey, nurse, provider)
    return journey


def walked_journeys(provider, nurse, verifier) -> list[m.Journey]:
    """Journeys whose pages show every stage form: one per step of the way."""
    opened = _journey(provider, nurse)
    evaluating = _journey(provider, nurse)
    stages.start_stage(evaluating.evaluation, provider)
    unsigned = _journey(provider, nurse)
    walk.evaluate(unsigned, provider, sign=False)
    consented = _journey(provider, nurse)
    walk.evaluate(consented, provider)
    collected = _journey(provider, nurse)
    walk.evaluate(collected, provider)
    walk.collect(collected, nurse)
    collecting = _journey(provider, nurse)
    walk.evaluate(collecting, provider)
    walk.collect(collecting, nurse, complete=False)
    processing = _journey(provider, nurse)
    walk.evaluate(processing, provider)
    walk.collect(processing, nurse)
    walk.process(processing, nurse, verifier, complete=False)
    time_out = _journey(provider, nurse)
    walk.evaluate(time_out, provider)
    walk.collect(time_out, nurse)
    walk.process(time_out, nurse, verifier)
    injecting = _journey(provider, nurse)
    walk.evaluate(injecting, provider)
    walk.collect(injecting, nurse)
    walk.process(injecting, nurse, verifier)
    injection = walk.stage_of(injecting, StageKind.INJECTION)
    stages.start_stage(injection, provider)
    walk.tick_all(injection, provider)
    walk.time_out(injection, provider)
    specimens.add_injection_site(
        injection,
        dict(level="L4-L5", side="midline", structure="disc", approach="intradiscal",
             volume_ml=Decimal("2"), needle="22G spinal"),
        provider,
    )  # fmt: skip
    recovering = _journey(provider, nurse)
    walk.evaluate(recovering, provider)
    walk.collect(recovering, nurse)
    walk.process(recovering, nurse, verifier)
    walk.inject(recovering, provider)
    stages.start_stage(walk.stage_of(recovering, StageKind.RECOVERY), nurse)
    followed = _journey(provider, nurse)
    walk.evaluate(followed, provider)
    walk.collect(followed, nurse)
    walk.process(followed, nurse, verifier)
    walk.inject(followed, provider, days_ago=20)
    walk.recover(followed, nurse)
    repeated = _journey(provider, nurse)
    walk.evaluate(repeated, provider)
    walk.collect(repeated, nurse)
    walk.process(repeated, nurse, verifier)
    walk.inject(repeated, provider, days_ago=30)
    walk.recover(repeated, nurse)
    journeys.open_repeat_cycle(repeated, provider)  # cycle 2: consented again at its screen
    held = _journey(provider, nurse)
    screening.add_medicine(held.patient, AntithromboticDrug.APIXABAN, "Apixaban 5 mg",
                           utcnow() - timedelta(days=2), nurse)  # fmt: skip
    walk.evaluate(held, provider)
    walk.screen(held, nurse)  # inside the hold time: waits for a provider's decision
    others = [repeated, held]
    for therapy in (Therapy.BMAC, Therapy.ADIPOSE, Therapy.GROWTH_FACTOR):
        harvesting = _journey(provider, nurse, therapy)
        walk.evaluate(harvesting, provider)
        walk.collect(harvesting, provider, complete=False)
        concentrating = _journey(provider, nurse, therapy)
        walk.evaluate(concentrating, provider)
        walk.collect(concentrating, provider)
        walk.process(concentrating, nurse, verifier, complete=False)
        others += [harvesting, concentrating]
    refused = _journey(provider, nurse)
    walk.evaluate(refused, provider, decision=Decision.NOT_CANDIDATE,
                  contraindications=("pregnancy",), reason="Pregnant.")  # fmt: skip
    join_care_team(provider, refused.patient)
    join_care_team(nurse, refused.patient)
    return [opened, evaluating, unsigned, consented, collected, collecting, processing, time_out,
            injecting, recovering, followed, refused, *others]  # fmt: skip


def clinical_pages(walked: list[m.Journey]) -> list[str]:
    pages = []
    for journey in walked:
        pages.append(f"/clinical/patients/{journey.patient_id}/chart")
        pages.append(f"/clinical/journeys/{journey.id}/consent")
        for cycle in journey.cycles:
            pages.append(f"/clinical/journeys/{journey.id}/cycles/{cycle.id}/screen")
            pages += [f"/clinical/journeys/{journey.id}/stages/{s.id}" for s in cycle.stages]
        follow_ups = _db.session.scalars(
            sa.select(m.FollowUp).where(m.FollowUp.journey_id == journey.id)
        ).all()
        pages += [f"/clinical/journeys/{journey.id}/follow-ups/{f.id}" for f in follow_ups[:2]]
        pages.append(f"/journeys/{journey.id}/adverse-events/new")
    return pages


# --- the test ----------------------------------------------------------------------------------


@dataclass
class Problem:
    role: str
    page: str
    action: str
    button: str
    status: int | str
    detail: str

    def __str__(self) -> str:
        return (
            f"{self.role}: {self.page} -> POST {self.action} [{self.button}] "
            f"= {self.status} {self.detail}"
        )


def _errors(html: str) -> str:
    found = re.findall(r'class="invalid-feedback[^"]*">([^<]*)<', html)
    found += re.findall(r'role="alert">\s*(?:<[^>]+>)?([^<]{3,200})', html)
    found += re.findall(r'class="alert alert-danger[^"]*">\s*([^<]{3,300})', html)
    return " | ".join(e.strip() for e in found if e.strip())


def judge(status: int, html: str) -> str | None:
    """Why this answer to an unchanged form is wrong (None: it is a fair answer)."""
    if status in (400, 403, 404, 405, 409) or status >= 500:
        return _errors(html)[:300] or "(no message)"
    if status == 422:
        errors = _errors(html)
        if any(word in errors.lower() for word in HIDDEN_FIELD_WORDS):
            return errors[:300]
    return None


def flashed(client) -> list[str]:
    """The messages the session carries to the next page (what a redirect will show)."""
    app = client.application
    cookie = client.get_cookie(app.config["SESSION_COOKIE_NAME"])
    if cookie is None:
        return []
    try:
        data = app.session_interface.get_signing_serializer(app).loads(cookie.value)
    except BadSignature:
        return []
    return [str(message) for _category, message in data.get("_flashes", [])]


class Sender:
    """Posts forms inside savepoints rolled back afterwards, with the cookie put back."""

    def __init__(self, app, client, user, role: str, email: str | None = None) -> None:
        self.email = email  # what an e-mail field is filled with (a real account's: sign-in)
        self.seen_pages: set[str] = set()
        self.app = app
        self.client = client
        self.user = user
        self.role = role
        self.connection = _db._app_engines[app][None]
        self.sent: set[tuple] = set()
        self.alike: Counter[str] = Counter()
        self.stale_answers: list[tuple[str, str, str, int]] = []
        self.links: set[tuple] = set()
        self.searched: set[str] = set()
        self.prefilled: list[str] = []
        self.problems: list[Problem] = []
        self.count = 0

    def _cookies(self) -> list:
        return [(c.key, c.value, c.domain, c.path) for c in self.client._cookies.values()]

    def _restore(self, cookies: list) -> None:
        self.client._cookies.clear()
        for key, value, domain, path in cookies:
            self.client.set_cookie(key, value, domain=domain, path=path)

    def _forget(self) -> None:
        recalls.forget_counts()
        kept.forget()
        forget_weeks(self.app)
        forget_pages(self.app)

    def _unseen(self, location: str) -> bool:
        parts = urlsplit(location)
        return not parts.netloc and shape(location) not in self.seen_pages

    def page(self, url: str, depth: int = 0) -> None:
        self.seen_pages.add(shape(url))
        response = self.client.get(url)
        if response.status_code in (302, 303) and self._unseen(response.headers["Location"]):
            return self.page(response.headers["Location"], depth)  # (a page that starts one)
        # 403: the break-glass offer a clinician outside the care team is shown
        if response.status_code not in (200, 403) or "html" not in response.mimetype:
            return
        html = response.get_data(as_text=True)
        if depth == 0:
            self.prefilled += [link for link in PREFILLING.findall(html) if self._new_link(link)]
        self.forms_of(url, html, depth)

    def _new_link(self, link: str) -> bool:
        """A link that opens a form filled in from its query (book this slot, book for this
        follow-up), one per page and set of query keys."""
        parts = urlsplit(unescape(link))
        key = (shape(parts.path), tuple(sorted(k for k, _ in parse_qsl(parts.query))))
        if key in self.links or any(s in parts.path for s in SKIP_PAGES):
            return False
        self.links.add(key)
        return True

    def follow_prefilled(self) -> None:
        for link in self.prefilled:
            self.page(unescape(link), 1)

    def forms_of(self, url: str, html: str, depth: int) -> None:
        parser = Forms(url)
        parser.feed(html)
        for form in parser.result():
            if form.method != "post":
                self.search(url, form)
                continue
            if form.scripted_action:
                for scripted_form, action in as_script_fills(form, html):
                    self.send(url, scripted_form, action, None, depth)
                continue
            sendings = [(form, button) for button in variants(form)]
            if form.unticked and sendings:
                sendings.append((form.ticked(), sendings[0][1]))
            last = form.last_options()
            if last is not None and sendings:
                sendings.append((last, sendings[0][1]))
            for sent, button in sendings:
                action = (button.action if button and button.action else None) or form.action
                names = tuple(sorted(
                    (c.name, c.value if c.kind == "hidden" and c.name not in RANDOM else "")
                    for c in sent.controls
                ))  # fmt: skip
                key = (depth, action, names, button.name if button else None,
                       button.value if button else None)  # fmt: skip
                # The same form on many pages (a stage's note, cancel and checklist forms) is
                # sent from its first few pages: what differs between them is only ids.
                alike = re.sub(r"\d+", "N", repr(key))
                if key in self.sent or self.alike[alike] >= SAME_FORM_PAGES:
                    continue
                self.sent.add(key)
                self.alike[alike] += 1
                self.send(url, sent, action, button, depth)

    def search(self, page: str, form: RenderedForm) -> None:
        """A filter or search form (GET) as rendered and with its last options: every option
        a page offers is one its route takes (never a 400)."""
        for sent in (form, form.last_options()):
            if sent is None:
                continue
            query = urlencode(list(body_of(sent, None).items(multi=True)))
            url = f"{sent.action.split('?')[0]}?{query}"
            key = re.sub(r"\d+", "N", url)
            if key in self.searched:
                continue
            self.searched.add(key)
            response = self.client.get(url)
            if response.status_code in (400, 404, 405) or response.status_code >= 500:
                why = _errors(response.get_data(as_text=True))[:300] or "(no message)"
                self.problems.append(
                    Problem(self.role, page, url, "GET", response.status_code, why)
                )

    def send(self, page: str, form: RenderedForm, action: str, button, depth: int) -> None:
        cookies = self._cookies()
        _db.session.commit()  # the test's own session holds no savepoint inside this one
        savepoint = self.connection.begin_nested()
        self._forget()
        try:
            try:
                body = body_of(form, button, email=self.email)
                response = self.client.post(action, data=body)
                status, html = response.status_code, response.get_data(as_text=True)
            except Exception as err:  # the test app raises a view's exception
                status, html = 500, f"{type(err).__name__}: {err}"[:300]
            self.count += 1
            why = judge(status, html)
            if status == 302:
                notes = " | ".join(flashed(self.client))
                if any(word in notes.lower() for word in HIDDEN_FIELD_WORDS):
                    why = f"redirected with: {notes[:300]}"
            label = (button.label or button.value or button.name or "submit") if button else "-"
            if why is not None:
                self.problems.append(Problem(self.role, page, action, label, status, why))
            elif depth == 0 and status in (200, 422) and "<form" in html:
                # A page answered with a form of its own (a confirm step): send that one too.
                self.forms_of(action, html, depth + 1)
            elif depth == 0 and status == 302 and self._unseen(response.headers["Location"]):
                # A step that leads to a page of its own (the sign-in code, two-step set-up):
                # that page's forms, in the state this post left.
                self.page(response.headers["Location"], depth + 1)
        finally:
            if savepoint.is_active:
                savepoint.rollback()
            self._forget()
            self._restore(cookies)
        if depth == 0 and versioned(form):
            self.stale(page, form, action, button)

    def stale(self, page: str, form: RenderedForm, action: str, button) -> None:
        """The form as a page opened before someone else saved: its 409 page must offer a form
        that can be saved (the version it now shows), not another 409."""
        cookies = self._cookies()
        _db.session.commit()
        savepoint = self.connection.begin_nested()
        self._forget()
        try:
            body = body_of(form, button, fresh_key=True, email=self.email, stale=True)
            response = self.client.post(action, data=body)
            self.stale_answers.append((self.role, page, action, response.status_code))
            if response.status_code == 409:
                self.forms_of(action, response.get_data(as_text=True), 1)
        finally:
            if savepoint.is_active:
                savepoint.rollback()
            self._forget()
            self._restore(cookies)


def _fill(url: str, records: dict) -> str:
    return url.format(**{k: v for k, v in records.items() if k != "users"})


def link_pages(provider, patient) -> list[str]:
    """The pages a message's link opens without signing in (a portal invitation, a visit's
    confirm-or-cancel page, the opt-out page)."""
    invitation = portal.send_invite(patient, patient.email, provider)
    visit = make_appointment(starts_at=utcnow() + timedelta(days=4), provider=provider,
                             patient=patient)  # fmt: skip
    token = links.issue(_db.session, visit.id, visit.starts_at)
    return [
        re.search(r"/portal/link/[\w-]+", invitation.body).group(0),
        f"/m/visit/{visit.id}/{token}",
        f"/m/stop/{opt_out_token(patient.id)}",
    ]


def questionnaire_pages(own, cared_for) -> list[str]:
    """Questionnaires open today (clinic time): the patient's own, and one staff enter for a
    patient in their care."""

    def open_set(patient):
        return assign(
            patient,
            ["nrs_pain", "odi"],
            timepoint="baseline",
            available_from=clinic_today() - timedelta(days=1),
            due_by=None,
            by=None,
        )

    pages = [f"/my/questionnaires/{r.id}" for r in open_set(own)]
    return pages + [f"/questionnaires/{r.id}/enter" for r in open_set(cared_for)]


def admin_pages(provider) -> list[str]:
    """A disabled account's page (reactivate) and an enrolled one's (reset two-step)."""
    gone = factories.make_user(Role.FRONT_DESK, active=False)
    return [f"/admin/users/{gone.id}", f"/admin/users/{provider.id}"]


def visits_today(provider, patient_user) -> list[str]:
    """Today's visits in each live status (their pages and the board show each status's
    buttons), and a coming visit of the portal patient."""
    morning = clinic_day_bounds(clinic_today())[0]
    pages = []
    for hours, status in ((8, Status.COMPLETED), (9, Status.IN_PROGRESS),
                          (10, Status.CHECKED_IN), (11, Status.BOOKED)):  # fmt: skip
        visit = make_appointment(starts_at=morning + timedelta(hours=hours), provider=provider,
                                 status=status, minutes=30)  # fmt: skip
        pages.append(f"/schedule/appointments/{visit.id}")
    # next week's grid, all of it ahead: its visits can be moved (left in place)
    monday = clinic_today() + timedelta(days=7 - clinic_today().weekday())
    make_appointment(starts_at=clinic_day_bounds(monday + timedelta(days=1))[0]
                     + timedelta(hours=10), provider=provider, minutes=30)  # fmt: skip
    pages.append(f"/schedule/week?date={monday.isoformat()}")
    make_appointment(starts_at=morning + timedelta(days=3, hours=10), provider=provider,
                     patient=patient_user.patient)  # fmt: skip
    return pages


@pytest.fixture
def world(app, db):
    records = _build_records()
    users = records["users"]
    provider = _db.session.get(factories.UserFactory._meta.model, users[Role.PROVIDER])
    nurse = _db.session.get(factories.UserFactory._meta.model, users[Role.CLINICAL_STAFF])
    verifier = factories.make_user(Role.CLINICAL_STAFF)
    walked = walked_journeys(provider, nurse, verifier)
    pages = clinical_pages(walked)
    patient_user = _db.session.get(factories.UserFactory._meta.model, users[Role.PATIENT])
    pages += visits_today(provider, patient_user)
    pages += admin_pages(provider)
    for weekday in range(7):
        _db.session.add(WorkingHours(clinician_id=provider.id, weekday=weekday,
                                     starts=time(0), ends=time(23, 59)))  # fmt: skip
    pages += questionnaire_pages(patient_user.patient, _db.session.get(Patient, records["patient"]))
    invitable = factories.PatientFactory(email="invite.me@example.com")
    pages.append(f"/portal-access/{invitable.id}")
    with app.test_request_context():  # the invitation's link is an absolute URL
        pages += link_pages(provider, invitable)
    _db.session.commit()
    return records, pages


@pytest.mark.parametrize("role", [*Role, None], ids=lambda r: r.value if r else "anonymous")
def test_every_form_can_be_sent_as_rendered(app, client, db, sign_in_as, world, role):
    records, clinical = world
    if role is None:
        admin = _db.session.get(User, records["users"][Role.ADMIN])
        sender = Sender(app, client.client, None, "anonymous", email=admin.email)
        for page in [
            "/login",
            "/portal/forgot",
            *(p for p in clinical if p.startswith(PUBLIC_PAGES)),
        ]:
            sender.page(page)
        assert sender.count >= 5, "no form was sent: the parser or the pages changed"
        assert not sender.problems, "\n".join(str(p) for p in sender.problems)
        return
    user = sign_in_as(role, _db.session.get(factories.UserFactory._meta.model,
                                             records["users"][role]))  # fmt: skip
    _db.session.commit()
    pages = [
        _fill(url, records)
        for _endpoint, method, url, allowed in ROUTES
        if method == "GET" and allowed != "public" and role in allowed  # type: ignore[operator]
    ]
    if role in (Role.PROVIDER, Role.CLINICAL_STAFF):
        pages += clinical
        outside = records["other_patient"]  # not in their care: the break-glass offer
        pages += [f"/clinical/patients/{outside}/chart", f"/patients/{outside}/outcomes"]
    else:
        pages += [
            p for p in clinical if not p.startswith(("/clinical/", "/journeys/", *PUBLIC_PAGES))
        ]
    pages = [p for p in dict.fromkeys(pages) if not any(s in p for s in SKIP_PAGES)]
    sender = Sender(app, client.client, user, role.value)
    for page in pages:
        sender.page(page)
    sender.follow_prefilled()
    assert sender.count, "no form was sent: the parser or the matrix changed"
    assert not sender.problems, "\n".join(str(p) for p in sender.problems)
