"""Journey models: catalogues, journeys and cycles, typed stage records, custody, follow-ups."""

from clinic.journeys.models.catalog import (  # noqa: F401
    ChecklistItem,
    ChecklistTemplate,
    Condition,
    ConsentRisk,
    Contraindication,
    ContraindicationKind,
    FollowUpProtocolStep,
    TherapyConsent,
)
from clinic.journeys.models.custody import (  # noqa: F401
    ChecklistTick,
    CustodyEvent,
    CustodyStep,
    FollowUp,
    FollowUpStatus,
    Specimen,
    StageNote,
)
from clinic.journeys.models.journey import Cycle, Journey, Stage, TargetSite  # noqa: F401
from clinic.journeys.models.records import (  # noqa: F401
    CollectionRecord,
    Decision,
    EvaluationRecord,
    InjectionRecord,
    InjectionSite,
    ProcessingRecord,
    RecoveryRecord,
)
from clinic.journeys.models.screening import (  # noqa: F401
    ContraindicationReview,
    DayOfScreen,
    ProcedureRisk,
    ScreenOutcome,
    TimeoutMember,
    WashoutRule,
)
