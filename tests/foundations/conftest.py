"""The journey fixtures, for the foundation tests that need a journey."""

from tests.journeys.conftest import journey, make_journey, provider, staff, staff2  # noqa: F401
