"""`make bench`: the pages people use all day, over HTTP, on a small and a large clinic.

    make bench                                       # 1,000 and 100,000 patients
    make bench BENCH_ARGS="--large 20000 --seconds 5"
    BENCH_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/cjt_bench make bench

For each size it builds `<BENCH_DATABASE_URL>_small` / `_large` (migrations, the demo, then
`bench.clinic_data.generate`; `--reuse` keeps a database that already has the bench clinic),
serves the app with gunicorn, deploy/gunicorn.conf.py and the production settings (2 sync
workers), and beside it the reference page (bench/reference.py: one indexed query, a small
Jinja table) with the same settings on the same database. wrk drives every page with 8
connections (bench/wrk/*.lua carry the session cookie, CSRF tokens and POST bodies). Printed per
page: requests per second, p50/p95/p99 in ms, throughput as a ratio of the reference page's
(measured at the start, and again just before each page: a shared machine's speed drifts within
a run), large/small p95, and the SQL statements one request runs (counted in-process). Then the
registry export's time to its first row, and each gunicorn worker's RSS after the run.
"""

from __future__ import annotations

import argparse
import http.cookiejar
import importlib
import json
import os
import re
import secrets
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pyotp
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
WRK = ROOT / "bench" / "wrk"
DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/cjt_bench"
TOKEN = re.compile(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"')
COOKIE = "cjt_session"
BOOKED_NOTE = "Booked by the benchmark"  # prepare() removes these before each run
# Production settings the bench serves with (the secret is made per run).
SERVE_ENV = {
    "CLINIC_ENV": "production",
    "PUBLIC_BASE_URL": "https://clinic.bench.example.com",
    "MAIL_FROM": "Clinic <no-reply@clinic.bench.example.com>",
    "RATELIMIT_STORAGE_URI": "redis://127.0.0.1:6379/14",
    "SESSION_COOKIE_SECURE": "0",  # plain HTTP on the loopback; nginx terminates TLS in production
    "WEB_CONCURRENCY": "2",
    "LOG_LEVEL": "WARNING",
    # the clinic was built with the development key; its second factors decrypt through this
    "SECRET_KEY_FALLBACKS": "dev-only-not-secret-change-me",
}


@dataclass
class Page:
    name: str
    role: str
    path: str
    body: str = ""  # a POST's form body ({csrf} is filled in); empty for a GET
    script: str = "report.lua"
    extra_env: dict[str, str] = field(default_factory=dict)
    # wrk's concurrent clients; 1 measures what one user waits (no queue behind the others)
    connections: int = 8


@dataclass
class Result:
    rps: float
    p50: float
    p95: float
    p99: float
    bad: int
    sql: int | None = None
    ref_rps: float | None = None  # the reference page, measured just before this page


# --- the clinic -------------------------------------------------------------------------------


def database_url(base: str, size: str) -> str:
    return f"{base}_{size}"


def ensure_database(url: str) -> None:
    name = url.rsplit("/", 1)[1]
    admin = sa.create_engine(
        _driver(url.rsplit("/", 1)[0] + "/postgres"), isolation_level="AUTOCOMMIT"
    )
    with admin.connect() as connection:
        if not connection.scalar(
            sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}
        ):
            connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()


def _driver(url: str) -> str:
    return url.replace("postgresql://", "postgresql+psycopg://", 1)


def has_clinic(url: str, patients: int) -> bool:
    engine = sa.create_engine(_driver(url))
    try:
        with engine.connect() as connection:
            found = connection.scalar(sa.text("SELECT count(*) FROM patient WHERE mrn LIKE 'BX%'"))
    except sa.exc.DBAPIError:
        return False
    finally:
        engine.dispose()
    return found == patients


def build(url: str, patients: int) -> None:
    """Wipe, migrate, load the demo and generate the clinic (in a child process, so the
    bench's own process stays small)."""
    engine = sa.create_engine(_driver(url), isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(sa.text("DROP SCHEMA public CASCADE"))
        connection.execute(sa.text("CREATE SCHEMA public"))
    engine.dispose()
    env = {**os.environ, "DATABASE_URL": _driver(url), "FLASK_APP": "wsgi.py"}
    env.pop("CLINIC_ENV", None)
    flask = str(Path(sys.executable).with_name("flask"))
    subprocess.run(
        [flask, "db", "upgrade"],
        env=env,
        cwd=ROOT,
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    subprocess.run(
        [flask, "demo", "generate", "--patients", str(patients)], env=env, cwd=ROOT, check=True
    )
    vacuum_analyze(url)


def vacuum_analyze(url: str) -> None:
    """VACUUM ANALYZE, as autovacuum would have done in a clinic that has run for years: fresh
    statistics, and visibility maps set so that index-only scans read no table rows (a server
    with autovacuum off, like this machine's, would otherwise never set them)."""
    engine = sa.create_engine(_driver(url), isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(sa.text("VACUUM (ANALYZE)"))
        # and write out what it dirtied now, not in a checkpoint in the middle of a page's run
        connection.execute(sa.text("CHECKPOINT"))
    engine.dispose()


def upgrade(url: str) -> None:
    """Migrate a kept clinic to this checkout's head, then VACUUM ANALYZE it."""
    env = {**os.environ, "DATABASE_URL": _driver(url), "FLASK_APP": "wsgi.py"}
    env.pop("CLINIC_ENV", None)
    flask = str(Path(sys.executable).with_name("flask"))
    subprocess.run(
        [flask, "db", "upgrade"], env=env, cwd=ROOT, check=True, stdout=subprocess.DEVNULL
    )
    vacuum_analyze(url)


def prepare(url: str) -> dict:
    """Sign-ins for the bench's own clinician and portal patient (the demo's passwords and, for
    the clinician, Dr Patel's second factor), and the ids the pages need."""
    engine = sa.create_engine(_driver(url))
    with engine.begin() as c:
        q = lambda sql, **kw: c.execute(sa.text(sql), kw).first()  # noqa: E731
        patel = q(
            "SELECT id, password_hash FROM user_account WHERE email = 'dr.patel@demo.example.com'"
        )
        grace = q("SELECT password_hash FROM user_account WHERE email = 'grace.okafor@example.com'")
        bench0 = q("SELECT id FROM user_account WHERE email = 'bench0@bench.example.com'")[0]
        c.execute(
            sa.text("UPDATE user_account SET password_hash = :h WHERE id = :i"),
            {"h": patel.password_hash, "i": bench0},
        )
        if not q("SELECT 1 FROM second_factor WHERE user_id = :u", u=bench0):
            c.execute(
                sa.text(
                    "INSERT INTO second_factor "
                    "(user_id, secret_encrypted, created_at, confirmed_at) "
                    "SELECT :u, secret_encrypted, created_at, confirmed_at "
                    "FROM second_factor WHERE user_id = :p"
                ),
                {"u": bench0, "p": patel.id},
            )
        c.execute(sa.text("DELETE FROM appointment WHERE notes = :n"), {"n": BOOKED_NOTE})
        # the portal patient: the first bench patient with an account and an open questionnaire
        answer = q(
            "SELECT r.id, r.patient_id, u.email FROM questionnaire_response r "
            "JOIN user_account u ON u.patient_id = r.patient_id "
            "WHERE u.email LIKE 'patient-%@bench.example.com' "
            "AND r.status IN ('assigned', 'in_progress') "
            "AND r.available_from <= CURRENT_DATE AND r.due_by >= CURRENT_DATE "
            "ORDER BY r.patient_id, r.id LIMIT 1"
        )
        c.execute(
            sa.text("UPDATE user_account SET password_hash = :h WHERE email = :e"),
            {"h": grace.password_hash, "e": answer.email},
        )
        chart = q(
            "SELECT j.patient_id, j.id AS journey, s.id AS stage FROM journey j "
            "JOIN stage s ON s.journey_id = j.id AND s.kind = 'injection' "
            "WHERE j.provider_id = :b AND j.status = 'follow_up' ORDER BY j.id LIMIT 1",
            b=bench0,
        )
        saving = q(
            "SELECT s.journey_id, s.id FROM stage s JOIN journey j ON j.id = s.journey_id "
            "WHERE j.provider_id = :b AND s.kind = 'processing' AND s.status = 'in_progress' "
            "ORDER BY s.id LIMIT 1",
            b=bench0,
        )
        someone = q("SELECT mrn, date_of_birth, phone_key FROM patient WHERE mrn = 'BX0000500'")
        saves = _save_records(c, bench0, saving)
        answers = _answer_records(c, answer, grace.password_hash)
    engine.dispose()
    return {
        "saves": saves,
        "answers": answers,
        "portal_email": answer.email,
        "response": answer.id,
        "chart_patient": chart.patient_id,
        "chart_journey": chart.journey,
        "chart_stage": chart.stage,
        "save_journey": saving[0],
        "save_stage": saving[1],
        "mrn": someone.mrn,
        "born": someone.date_of_birth.isoformat(),
        "phone": someone.phone_key[-7:],
    }


SAVERS = 8  # the save POSTs' clients, each saving its own record (wrk: one thread each)


def _save_records(c, bench0: int, first) -> list[tuple[int, int]]:
    """SAVERS processing stages in progress of the bench provider's journeys, `first` first:
    each save client edits its own, as clinicians save different records. A small clinic has
    too few of them, so journeys of other bench providers are handed over first."""
    query = (
        "SELECT s.journey_id, s.id FROM stage s JOIN journey j ON j.id = s.journey_id "
        "WHERE j.provider_id = :b AND s.kind = 'processing' AND s.status = 'in_progress' "
        "ORDER BY s.id LIMIT :n"
    )
    found = c.execute(sa.text(query), {"b": bench0, "n": SAVERS}).all()
    if len(found) < SAVERS:
        c.execute(
            sa.text(
                "UPDATE journey SET provider_id = :b WHERE id IN (SELECT s.journey_id FROM stage "
                "s JOIN journey j ON j.id = s.journey_id JOIN user_account u ON "
                "u.id = j.provider_id WHERE u.email LIKE 'bench%@bench.example.com' AND "
                "j.provider_id <> :b AND s.kind = 'processing' AND s.status = 'in_progress' "
                "ORDER BY s.id LIMIT :n)"
            ),
            {"b": bench0, "n": SAVERS - len(found)},
        )
        found = c.execute(sa.text(query), {"b": bench0, "n": SAVERS}).all()
    rest = [(row[0], row[1]) for row in found if row[1] != first[1]]
    return [(first[0], first[1]), *rest][:SAVERS]


def _answer_records(c, first, password_hash: str) -> list[tuple[int, str]]:
    """SAVERS open questionnaires of portal patients (response id, e-mail), `first` first, their
    accounts given the demo patient password. A small clinic has few open ones: questionnaires
    assigned to portal patients are opened (their window made to include today) until there
    are enough."""
    open_now = (
        "r.status IN ('assigned', 'in_progress') "
        "AND r.available_from <= CURRENT_DATE AND r.due_by >= CURRENT_DATE"
    )
    query = (
        "SELECT r.id, u.email FROM questionnaire_response r "
        "JOIN user_account u ON u.patient_id = r.patient_id "
        "WHERE u.email LIKE 'patient-%@bench.example.com' AND {cond} "
        "ORDER BY r.patient_id, r.id LIMIT :n"
    )
    found = c.execute(sa.text(query.format(cond=open_now)), {"n": SAVERS}).all()
    if len(found) < SAVERS:
        later = c.execute(
            sa.text(query.format(cond=f"r.status = 'assigned' AND NOT ({open_now})")),
            {"n": SAVERS - len(found)},
        ).all()
        c.execute(
            sa.text(
                "UPDATE questionnaire_response SET available_from = CURRENT_DATE - 1, "
                "due_by = CURRENT_DATE + 30 WHERE id = ANY(:ids)"
            ),
            {"ids": [row[0] for row in later]},
        )
        found = [*found, *later]
    records = [(first.id, first.email)]
    records += [(row[0], row[1]) for row in found if row[0] != first.id]
    for email in {email for _, email in records}:
        c.execute(
            sa.text("UPDATE user_account SET password_hash = :h WHERE email = :e"),
            {"h": password_hash, "e": email},
        )
    return records[:SAVERS]


LOGINS = {  # role: (e-mail, password, TOTP secret)
    "admin": ("admin@demo.example.com", "Admin demo Cedar-47", "CJTDEMOADMINCEDRALEXMORGANDEMOAA"),
    "front_desk": ("desk@demo.example.com", "Desk demo Maple-47", None),
    "provider": (
        "bench0@bench.example.com",
        "Provider demo Birch-47",
        "CJTDEMOPATELBRCHPRIYAPATELDEMOAA",
    ),
    "clinical_staff": ("nurse@demo.example.com", "Staff demo Willow-47", None),
    "patient": ("", "Patient demo Aspen-47", None),
}


def pages(ids: dict) -> list[Page]:
    chart = f"/clinical/patients/{ids['chart_patient']}/chart"
    stage = f"/clinical/journeys/{ids['chart_journey']}/stages/{ids['chart_stage']}"
    saving = f"/clinical/journeys/{ids['save_journey']}/stages/{ids['save_stage']}"
    return [
        Page("front-desk home", "front_desk", "/front-desk"),
        Page("search by name", "front_desk", "/patients/?q=okafor1"),
        Page("search by MRN", "front_desk", f"/patients/?q={ids['mrn']}"),
        Page("search by birth date", "front_desk", f"/patients/?q={ids['born']}"),
        Page("search by phone", "front_desk", f"/patients/?q={ids['phone']}"),
        Page("day board", "front_desk", "/schedule/board"),
        Page("day calendar", "front_desk", "/schedule/day"),
        Page("week calendar", "front_desk", "/schedule/week"),
        Page("recall list", "front_desk", "/schedule/recalls"),
        Page("provider home", "provider", "/clinical"),
        Page("worklist (provider)", "provider", "/clinical/worklist"),
        Page("worklist (clinical staff)", "clinical_staff", "/clinical/worklist"),
        Page("busy chart", "provider", chart),
        Page("stage page", "provider", stage),
        Page("registry dashboard", "provider", "/registry"),
        Page(
            "registry, filtered",
            "provider",
            "/registry?therapy=prp&region=lumbar&instrument=nrs_pain",
        ),
        # issue 12's target (p95 under 300 ms) is what a provider waits for the dashboard: one
        # client at a time, so the figure is the page's own time, not a queue behind 7 others
        Page("registry, one user", "provider", "/registry", connections=1),
        Page(
            "registry filtered, one user",
            "provider",
            "/registry?therapy=prp&region=lumbar&instrument=nrs_pain",
            connections=1,
        ),
        Page("audit trail", "admin", "/admin/audit"),
        Page("audit, action filter", "admin", "/admin/audit?action=patient.v"),
        Page("portal home", "patient", "/my"),
        Page("portal progress", "patient", "/my/progress"),
        Page("portal journey", "patient", "/my/journey"),
        Page("portal questionnaires", "patient", "/my/questionnaires"),
        Page("booking POST", "front_desk", "/schedule/book", script="booking.lua", body="book"),
        Page("stage save POST", "provider", saving, script="save.lua", body="stage"),
        Page(
            "questionnaire save POST",
            "patient",
            f"/my/questionnaires/{ids['response']}",
            script="save.lua",
            body="answer",
        ),
    ]


# --- HTTP -------------------------------------------------------------------------------------


class Browser:
    """A signed-in session over HTTP (cookies kept, redirects not followed)."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(self.jar), _NoRedirect()
        )

    def get(self, path: str) -> tuple[int, str, str]:
        return self._open(urllib.request.Request(self.base + path))

    def post(self, path: str, data: dict | list) -> tuple[int, str, str]:
        body = urllib.parse.urlencode(data).encode()
        return self._open(urllib.request.Request(self.base + path, data=body))

    def _open(self, request) -> tuple[int, str, str]:
        try:
            with self.opener.open(request, timeout=60) as response:
                return response.status, response.read().decode(), ""
        except urllib.error.HTTPError as err:
            return err.code, err.read().decode(errors="replace"), err.headers.get("Location", "")

    def token(self, path: str) -> str:
        found = TOKEN.search(self.get(path)[1])
        assert found, f"no CSRF token on {path}"
        return found.group(1)

    def sign_in(self, email: str, password: str, totp: str | None) -> None:
        status, _, where = self.post(
            "/login", {"email": email, "password": password, "csrf_token": self.token("/login")}
        )
        assert status == 302, f"sign-in of {email} answered {status}"
        if where.endswith("/login/code") or "/login/code" in where:
            assert totp, f"{email} asks for a code"
            for _attempt in range(3):
                code = pyotp.TOTP(totp).now()
                status, _, _ = self.post(
                    "/login/code", {"code": code, "csrf_token": self.token("/login/code")}
                )
                if status == 302:
                    break
                time.sleep(31 - time.time() % 30)  # a code is good once: wait for the next
            assert status == 302, f"code of {email} refused"

    @property
    def cookie(self) -> str:
        return "; ".join(f"{c.name}={c.value}" for c in self.jar)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def form_fields(html: str, action: str) -> list[tuple[str, str]]:
    """The inputs, selects and textareas of the form posting to `action`, as a browser sends
    them unchanged (first option of a select unless one is selected; checked boxes only)."""
    start = html.find(f'action="{action}"')
    if start < 0:
        start = html.find("<form", html.find("<main"))
    form = html[start : html.find("</form>", start)]
    out: list[tuple[str, str]] = []
    for tag in re.finditer(r"<(input|select|textarea)\b([^>]*)>", form):
        kind, attrs = tag.group(1), tag.group(2)
        name = _attr(attrs, "name")
        if not name:
            continue
        if kind == "input":
            typ = _attr(attrs, "type") or "text"
            if typ in ("checkbox", "radio") and " checked" not in attrs:
                continue
            if typ == "submit":
                continue
            out.append((name, _unescape(_attr(attrs, "value") or "")))
        elif kind == "textarea":
            end = form.find("</textarea>", tag.end())
            out.append((name, _unescape(form[tag.end() : end].lstrip("\n"))))
        else:
            end = form.find("</select>", tag.end())
            options = re.findall(r"<option([^>]*)>", form[tag.end() : end])
            chosen = [o for o in options if "selected" in o] or options[:1]
            out.append((name, _unescape(_attr(chosen[0], "value") or "") if chosen else ""))
    return out


def _attr(attrs: str, name: str) -> str | None:
    found = re.search(rf'\b{name}="([^"]*)"', attrs)
    return found.group(1) if found else None


def _unescape(text: str) -> str:
    return (
        text.replace("&#34;", '"')
        .replace("&#39;", "'")
        .replace("&quot;", '"')
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
    )


def post_body(page: Page, browser: Browser, ids: dict) -> tuple[str, dict[str, str]]:
    """The POST body wrk sends (and the environment its script reads)."""
    if page.body == "book":
        token = browser.token("/schedule/book")
        provider = _provider_choice(browser.get("/schedule/book")[1])
        first = date.today() + timedelta(days=200)
        epoch = int(datetime(first.year, first.month, first.day, tzinfo=UTC).timestamp())
        body = (
            urllib.parse.urlencode(
                {
                    "csrf_token": token,
                    "patient_mrn": "{mrn}",
                    "kind": "follow_up",
                    "provider": provider,
                    "room": "0",
                    "day": "{day}",
                    "start": "{start}",
                    "minutes": "",
                    "notes": BOOKED_NOTE,
                    "link": "",
                }
            )
            .replace("%7B", "{")
            .replace("%7D", "}")
        )
        return body, {"BENCH_FIRST_DAY": str(epoch), "BENCH_MRN_BASE": "100"}
    html = browser.get(page.path)[1]
    fields = form_fields(html, page.path)
    if page.body == "answer":
        fields = _answer_everything(html, fields)
    return urllib.parse.urlencode(fields), {}


def save_slots(page: Page, browser: Browser, ids: dict, base: str) -> tuple[str, dict[str, str]]:
    """The save POSTs' clients, one record each (save.lua): their paths, session cookies, form
    bodies with `{version}` where the version goes, and the version each starts from. The body
    returned (the first client's) is the one whose statements are counted."""
    if page.body == "stage":
        records = [
            (f"/clinical/journeys/{journey}/stages/{stage}", browser)
            for journey, stage in ids["saves"]
        ]
    else:
        signed_in: dict[str, Browser] = {ids["portal_email"]: browser}
        for _, email in ids["answers"]:
            if email not in signed_in:
                signed_in[email] = Browser(base)
                signed_in[email].sign_in(email, LOGINS["patient"][1], None)
        records = [(f"/my/questionnaires/{r}", signed_in[email]) for r, email in ids["answers"]]
    env: dict[str, str] = {}
    bodies = []
    for slot in range(page.connections):
        path, who = records[slot % len(records)]  # fewer records than clients: they share
        html = who.get(path)[1]
        fields = form_fields(html, path)
        if page.body == "answer":
            fields = _answer_everything(html, fields)
        version = dict(fields)["version"]
        body = urllib.parse.urlencode(
            [(name, "{version}" if name == "version" else value) for name, value in fields]
        ).replace("%7Bversion%7D", "{version}")
        bodies.append(body)
        n = slot + 1
        env |= {
            f"BENCH_PATH_{n}": path,
            f"BENCH_COOKIE_{n}": who.cookie,
            f"BENCH_BODY_{n}": body,
            f"BENCH_VERSION_{n}": version,
        }
    return bodies[0], env


def _provider_choice(html: str) -> str:
    select = html[html.find('name="provider"') :]
    for value, label in re.findall(r'<option[^>]*value="(\d+)"[^>]*>([^<]*)<', select):
        if "Patel" in label:
            return value
    raise AssertionError("Dr Patel is not bookable")


def _answer_everything(html: str, fields: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """A questionnaire page's form with the first choice of every radio group picked, saved as
    a draft ("Save and finish later"), which a patient may do again and again."""
    have = {name for name, _ in fields}
    for tag in re.findall(r"<input\b[^>]*>", html):
        name = _attr(tag, "name")
        if _attr(tag, "type") == "radio" and name and name not in have:
            have.add(name)
            fields.append((name, _attr(tag, "value") or ""))
    return [*fields, ("save", "Save and finish later")]


# --- serving and driving ------------------------------------------------------------------------


def serve(module: str, port: int, url: str, secret: str) -> subprocess.Popen:
    env = {
        **os.environ,
        **SERVE_ENV,
        "DATABASE_URL": _driver(url),
        "SECRET_KEY": secret,
        "GUNICORN_BIND": f"127.0.0.1:{port}",
    }
    process = subprocess.Popen(
        [str(Path(sys.executable).with_name("gunicorn")), "-c", "deploy/gunicorn.conf.py", module],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    for _ in range(300):
        try:
            urllib.request.urlopen(
                f"http://127.0.0.1:{port}/livez"
                if "wsgi" in module
                else f"http://127.0.0.1:{port}/",
                timeout=30,
            )
            return process
        except OSError:  # not listening yet
            time.sleep(0.2)
    stop(process)
    raise RuntimeError(f"gunicorn for {module} did not start")


def stop(process: subprocess.Popen) -> None:
    os.killpg(process.pid, signal.SIGTERM)
    process.wait(timeout=30)


def worker_rss(process: subprocess.Popen) -> list[int]:
    """RSS in MB of the gunicorn master's workers."""
    children = Path(f"/proc/{process.pid}/task/{process.pid}/children").read_text().split()
    sizes = []
    for pid in children:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                sizes.append(int(line.split()[1]) // 1024)
    return sizes


def settle(base: str, limit: float = 180) -> None:
    """Wait until the app has worked through what an earlier page left queued (wrk stops, the
    workers do not): two /livez answers in a row within 200 ms, or `limit` seconds."""
    quick, began = 0, time.monotonic()
    while quick < 2 and time.monotonic() - began < limit:
        asked = time.monotonic()
        try:
            urllib.request.urlopen(f"{base}/livez", timeout=limit).read()
        except OSError:
            time.sleep(0.5)
        quick = quick + 1 if time.monotonic() - asked < 0.2 else 0


def drive(
    url: str, seconds: int, connections: int, script: str, env: dict[str, str], threads: int = 1
) -> Result:
    out = subprocess.run(
        [
            "wrk",
            f"-t{threads}",
            f"-c{connections}",
            f"-d{seconds}s",
            "--timeout",
            "30s",
            "--latency",
            "-s",
            str(WRK / script),
            url,
        ],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    line = next(x for x in out.splitlines() if x.startswith("BENCH "))
    data = json.loads(line[6:])
    return Result(
        data["requests"] / data["seconds"], data["p50"], data["p95"], data["p99"], data["bad"]
    )


def count_statements(url: str, secret: str, runs: list[tuple[Page, str, str]]) -> list[int]:
    """SQL statements per request, counted in-process with each page's own session cookie."""
    saved = dict(os.environ)
    os.environ.update({**SERVE_ENV, "DATABASE_URL": _driver(url), "SECRET_KEY": secret})
    try:
        import config as settings
        from clinic import create_app
        from clinic.extensions import db

        importlib.reload(settings)  # its classes read the environment when first imported
        app = create_app(settings.ProductionConfig)
    finally:
        os.environ.clear()
        os.environ.update(saved)
    counts = []
    with app.app_context():
        engine = db.engine
    for page, cookie, body in runs:
        client = app.test_client()
        for part in cookie.split("; "):
            name, _, value = part.partition("=")
            client.set_cookie(name, value)
        seen = 0

        def bump(*_args) -> None:
            nonlocal seen
            seen += 1

        sa.event.listen(engine, "before_cursor_execute", bump)
        try:
            if body:
                if page.script == "save.lua":  # a real save: the version stored now
                    table = "stage" if page.body == "stage" else "questionnaire_response"
                    with engine.connect() as connection:
                        version = connection.scalar(
                            sa.text(f"SELECT version FROM {table} WHERE id = :i"),
                            {"i": int(page.path.rsplit("/", 1)[1])},
                        )
                    body = body.replace("{version}", str(version))
                if page.script == "booking.lua":
                    body = body.replace("{mrn}", "BX0000099").replace("{start}", "08:00")
                    body = body.replace("{day}", (date.today() + timedelta(days=400)).isoformat())
                response = client.post(  # the test client speaks https here: a Referer is due
                    page.path,
                    data=body,
                    content_type="application/x-www-form-urlencoded",
                    headers={"Referer": f"https://localhost{page.path}"},
                )
            else:
                response = client.get(page.path)
            assert response.status_code < (500 if body else 400), (page.path, response.status_code)
        finally:
            sa.event.remove(engine, "before_cursor_execute", bump)
        counts.append(seen)
    with app.app_context():
        db.engine.dispose()
    return counts


def export_first_row(base: str, browser: Browser, path: str) -> tuple[float, float, int]:
    began = time.perf_counter()
    request = urllib.request.Request(base + path)
    with browser.opener.open(request, timeout=600) as response:
        response.readline()  # the header
        response.readline()
        first = (time.perf_counter() - began) * 1000
        rows = 1 + sum(1 for _ in response)
    return first, (time.perf_counter() - began) * 1000, rows


def run_clinic(size: str, url: str, args) -> tuple[dict[str, Result], dict]:
    ids = prepare(url)
    LOGINS["patient"] = (ids["portal_email"], *LOGINS["patient"][1:])
    secret = secrets.token_hex(32)
    app = serve("wsgi:app", args.port, url, secret)
    try:
        reference = serve("bench.reference:app", args.port + 1, url, secret)
    except RuntimeError:
        stop(app)
        raise
    base = f"http://127.0.0.1:{args.port}"
    results: dict[str, Result] = {}
    extra: dict = {}
    try:
        browsers = {}
        for role, (email, password, totp) in LOGINS.items():
            browsers[role] = Browser(base)
            browsers[role].sign_in(email, password, totp)
        work = []
        chosen = [part.strip() for part in args.pages.split(",") if part.strip()]
        for page in pages(ids):
            if chosen and not any(part in page.name for part in chosen):
                continue
            browser = browsers[page.role]
            if page.script == "save.lua":
                body, env = save_slots(page, browser, ids, base)
            else:
                body, env = post_body(page, browser, ids) if page.body else ("", {})
            work.append((page, browser.cookie, body, env))
        ref_url = f"http://127.0.0.1:{args.port + 1}/"
        results["reference"] = drive(ref_url, args.seconds, 8, "report.lua", {})
        print(f"  {size}: reference {results['reference'].rps:.0f} req/s", flush=True)
        # A shared machine's speed drifts within a run: each page is compared with a short run
        # of the reference page just before it, not only with the one at the start.
        ref_seconds = max(2, args.seconds // 2)
        for page, cookie, body, env in work:
            settle(base)
            ref_rps = drive(ref_url, ref_seconds, 8, "report.lua", {}).rps
            env = {"BENCH_COOKIE": cookie, "BENCH_BODY": body, **env}
            threads = page.connections if page.script == "save.lua" else 1
            results[page.name] = drive(
                base + page.path, args.seconds, page.connections, page.script, env, threads
            )
            results[page.name].ref_rps = ref_rps
            print(
                f"  {size}: {page.name} {results[page.name].rps:.0f} req/s "
                f"(reference just before: {ref_rps:.0f})",
                flush=True,
            )
        settle(base)
        extra["export"] = export_first_row(base, browsers["provider"], "/registry/export.csv")
        extra["rss"] = worker_rss(app)
        try:
            counts = count_statements(url, secret, [(p, c, b) for p, c, b, _ in work])
        except (AssertionError, sa.exc.SQLAlchemyError) as err:  # keep the timings regardless
            print(f"  {size}: statements not counted: {err}", flush=True)
        else:
            for (page, *_), count in zip(work, counts, strict=True):
                results[page.name].sql = count
    finally:
        stop(app)
        stop(reference)
    return results, extra


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", type=int, default=1000, help="patients of the small clinic")
    parser.add_argument("--large", type=int, default=100_000, help="patients of the large clinic")
    parser.add_argument("--seconds", type=int, default=8, help="wrk's run per page")
    parser.add_argument("--port", type=int, default=8700)
    parser.add_argument("--reuse", action="store_true", help="keep a clinic already built")
    parser.add_argument("--sizes", default="small,large", help="which clinics to run")
    parser.add_argument(
        "--pages", default="", help="only pages whose name contains one of these (comma-separated)"
    )
    args = parser.parse_args(argv)
    base = os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL).replace("+psycopg", "")
    runs = {}
    for size, patients in (("small", args.small), ("large", args.large)):
        if size not in args.sizes.split(","):
            continue
        url = database_url(base, size)
        ensure_database(url)
        if not (args.reuse and has_clinic(url, patients)):
            began = time.perf_counter()
            build(url, patients)
            print(
                f"built the {size} clinic ({patients:,} patients) in "
                f"{time.perf_counter() - began:.0f}s",
                flush=True,
            )
        else:
            upgrade(url)  # a clinic kept from an earlier checkout gets this one's migrations
        runs[size] = run_clinic(size, url, args)
    report(runs, args)


def report(runs: dict, args) -> None:
    small, _ = runs.get("small", runs.get("large"))
    large, _ = runs.get("large", runs.get("small"))
    ref = large["reference"].rps
    print(
        f"\nlarge clinic {args.large:,} patients, small {args.small:,}; wrk 8 connections "
        f"(1 on the 'one user' rows), {args.seconds}s per page; gunicorn 2 sync workers, "
        "production settings"
    )
    print(
        f"{'page':<26} {'req/s':>7} {'p50':>7} {'p95':>7} {'p99':>7} {'vs ref':>7} "
        f"{'L/S p95':>8} {'SQL':>4} {'bad':>5} {'ref/s':>6} {'vs its ref':>10}"
    )
    for name, r in large.items():
        if name not in small:
            continue
        ratio = r.p95 / small[name].p95 if small.get(name) and small[name].p95 else 0
        sql = "" if r.sql is None else str(r.sql)
        near = f"{r.ref_rps:>6.0f} {r.rps / r.ref_rps:>10.3f}" if r.ref_rps else ""
        print(
            f"{name:<26} {r.rps:>7.1f} {r.p50:>7.1f} {r.p95:>7.1f} {r.p99:>7.1f} "
            f"{r.rps / ref:>7.3f} {ratio:>8.2f} {sql:>4} {r.bad:>5} {near}"
        )
    for size, (_, more) in runs.items():
        first, whole, rows = more["export"]
        print(
            f"{size}: registry export first row {first:.0f} ms, whole {whole:.0f} ms, "
            f"{rows:,} rows; worker RSS after the run {more['rss']} MB"
        )


if __name__ == "__main__":
    main()
