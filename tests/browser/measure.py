"""Counting what a task costs a person: clicks and page loads, written to test-artifacts/."""

from __future__ import annotations

import json

from tests.browser.conftest import ARTIFACTS


class Counter:
    """Counts the clicks a person makes and the pages the browser loads (main frame only)."""

    def __init__(self, page) -> None:
        self.clicks = 0
        self.loads: list[str] = []
        page.on("framenavigated", lambda f: f.parent_frame is None and self.loads.append(f.url))

    def click(self, locator) -> None:
        self.clicks += 1
        locator.click()

    def record(self, task: str, **extra) -> dict:
        """Write the figures for `task` to test-artifacts/measured-<task>.json and return them."""
        figures = {"task": task, "clicks": self.clicks, "page_loads": len(self.loads), **extra}
        ARTIFACTS.mkdir(exist_ok=True)
        (ARTIFACTS / f"measured-{task}.json").write_text(json.dumps(figures, indent=1))
        print(f"measured {figures}")
        return figures
