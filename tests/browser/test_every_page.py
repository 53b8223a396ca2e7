"""Every kind of page each role reaches passes axe, has the favicon and shows a focus ring.

Each role signs in and follows the links it is offered, two clicks deep from its home page (and
from a few pages a role lands on by working: a chart, a stage, a follow-up, a print view). One
page of each kind is checked: `/journeys/12/stages/40` and `/journeys/3/stages/7` are one kind.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest

from clinic.auth.models import Role
from tests.browser.conftest import sign_in
from tests.browser.test_shell import FIRST_OF_EACH_ROLE, _axe_violations

pytestmark = pytest.mark.browser

# Pages that are not HTML, or that change something merely by being opened.
SKIP = re.compile(r"\.(csv|ics|svg|png)$|/static/|/logout|/feed/|/export|/portal/link/")
MOST_PAGES_PER_ROLE = 30


def _kind(url: str) -> str:
    path = urlsplit(url).path
    return re.sub(r"/\d+", "/N", path)


def _links(page, origin: str) -> list[str]:
    hrefs = page.eval_on_selector_all("a[href]", "els => els.map(e => e.href)")
    found = []
    for href in hrefs:
        href = href.split("#")[0]
        if href.startswith(origin) and not SKIP.search(href):
            found.append(href)
    return found


def _check(page, url: str) -> list[str]:
    problems = [f"{url}: {v}" for v in _axe_violations(page)]
    if not page.locator("link[rel=icon]").count():
        problems.append(f"{url}: no favicon")
    return problems


def _crawl(page, starts: list[str]) -> tuple[set[str], list[str]]:
    origin = page.base_url
    seen_kinds: set[str] = set()
    problems: list[str] = []
    queue = [(url, 0) for url in starts]
    while queue and len(seen_kinds) < MOST_PAGES_PER_ROLE:
        url, depth = queue.pop(0)
        if _kind(url) in seen_kinds:
            continue
        # A link the role may not follow (403), a download or a 404 is not a page of theirs:
        # its status line in the console is not a fault of the page, so it is dropped.
        before = len(page.console_errors)
        response = page.goto(url)
        if (
            response is None
            or response.status >= 400
            or "text/html" not in (response.headers.get("content-type") or "")
        ):
            del page.console_errors[before:]
            seen_kinds.add(_kind(url))
            continue
        seen_kinds.add(_kind(page.url))
        problems += _check(page, page.url)
        if depth < 2:
            queue += [(link, depth + 1) for link in _links(page, origin)]
    return seen_kinds, problems


@pytest.fixture
def own_tab(browser, live_server):
    """A tab whose console errors are reported with the page they came from (a crawl meets
    pages that answer 404 or 422 on purpose, which Chromium logs as console errors)."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    tab = context.new_page()
    tab.base_url = live_server.url
    tab.console_errors = []
    tab.on(
        "console",
        lambda msg: (
            tab.console_errors.append(f"{tab.url}: {msg.text}") if msg.type == "error" else None
        ),
    )
    tab.on("pageerror", lambda exc: tab.console_errors.append(f"{tab.url}: {exc}"))
    yield tab
    context.close()


@pytest.mark.dialect_independent
@pytest.mark.parametrize("role", list(Role), ids=lambda r: r.value)
def test_every_page_a_role_reaches_passes_axe_with_favicon(own_tab, role):
    login = FIRST_OF_EACH_ROLE[role]
    sign_in(own_tab, login.email, login.password)
    kinds, problems = _crawl(own_tab, [own_tab.url])
    assert problems == []
    assert own_tab.console_errors == []
    assert len(kinds) >= 4, kinds


def test_print_views_and_error_pages_have_the_favicon(own_tab):
    login = FIRST_OF_EACH_ROLE[Role.FRONT_DESK]
    sign_in(own_tab, login.email, login.password)
    for path in ("/schedule/day/print", "/no/such/page"):
        own_tab.goto(own_tab.base_url + path)
        assert own_tab.locator("link[rel=icon]").count() == 1, path
        assert _axe_violations(own_tab) == [], path


def test_a_focused_field_shows_a_visible_ring(page):
    login = FIRST_OF_EACH_ROLE[Role.FRONT_DESK]
    sign_in(page, login.email, login.password)
    page.goto(page.base_url + "/patients/new")
    field = page.locator("input.form-control").first
    field.focus()
    ring = field.evaluate(
        "e => { const s = getComputedStyle(e);"
        " return [s.outlineStyle, s.outlineWidth, s.boxShadow]; }"
    )
    assert ring[0] == "solid" and ring[1] == "3px", ring
    assert "255, 191, 71" in ring[2], ring
    page.keyboard.press("Tab")
    focused = page.evaluate("() => getComputedStyle(document.activeElement).outlineStyle")
    assert focused == "solid"
