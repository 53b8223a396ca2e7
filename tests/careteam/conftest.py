"""Care-team fixtures: the journeys wing's provider, staff and journey."""

from tests.journeys.conftest import journey, make_journey, provider, staff, staff2  # noqa: F401
