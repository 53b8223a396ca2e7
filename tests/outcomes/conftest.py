"""Outcome fixtures: the journey fixtures, and treated journeys with answered questionnaires."""

from __future__ import annotations

from tests.journeys.conftest import journey, make_journey, provider, staff, staff2  # noqa: F401
