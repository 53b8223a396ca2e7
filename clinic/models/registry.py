"""Imports every wing's models so that mappers, Alembic and relationships see them all."""

from clinic.auth.models import User  # noqa: F401
from clinic.journeys import models as journeys_models  # noqa: F401
from clinic.models.audit import AuditEvent  # noqa: F401
from clinic.patients.models import Patient  # noqa: F401
