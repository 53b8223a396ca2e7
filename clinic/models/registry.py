"""Imports every wing's models so that mappers, Alembic and relationships see them all."""

from clinic.auth.models import User  # noqa: F401
from clinic.careteam.models import BreakGlass, JourneyMember  # noqa: F401
from clinic.instructions.models import InstructionReceipt, InstructionVersion  # noqa: F401
from clinic.jobs.models import OutgoingMessage, WorkerHeartbeat  # noqa: F401
from clinic.journeys import models as journeys_models  # noqa: F401
from clinic.mail import OutboxMessage  # noqa: F401
from clinic.messaging.models import PatientMessage, Thread  # noqa: F401
from clinic.models.audit import AuditEvent  # noqa: F401
from clinic.models.submission import FormSubmission  # noqa: F401
from clinic.outcomes.adverse_models import AdverseEvent, PatientConcern  # noqa: F401
from clinic.outcomes.models import QuestionnaireAnswer, QuestionnaireResponse  # noqa: F401
from clinic.outcomes.registry_models import (  # noqa: F401
    RegistryCycle,
    RegistryFigures,
    RegistryGeneration,
    RegistryPoint,
)
from clinic.patients.models import Patient  # noqa: F401
from clinic.portal.models import PortalLink  # noqa: F401
from clinic.scheduling.models import Appointment, CalendarFeed, Room, WorkingHours  # noqa: F401
