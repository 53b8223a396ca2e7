"""What the navigation bar offers each role."""

from __future__ import annotations

from dataclasses import dataclass

from clinic.auth.models import Role


@dataclass(frozen=True)
class NavItem:
    label: str
    endpoint: str


NAV: dict[Role, tuple[NavItem, ...]] = {
    Role.ADMIN: (
        NavItem("Users", "admin.users"),
        NavItem("Audit trail", "admin.audit"),
        NavItem("Clinical catalogues", "journeys_admin.checklist_list"),
        NavItem("Front desk", "main.front_desk"),
    ),
    Role.FRONT_DESK: (NavItem("Front desk", "main.front_desk"),),
    Role.PROVIDER: (
        NavItem("Worklist", "main.clinical"),
        NavItem("Patients", "journeys.find_patient"),
    ),
    Role.CLINICAL_STAFF: (
        NavItem("Worklist", "main.clinical"),
        NavItem("Patients", "journeys.find_patient"),
    ),
    Role.PATIENT: (NavItem("My care", "main.patient_home"),),
}


def nav_for(user) -> tuple[NavItem, ...]:
    if not getattr(user, "is_authenticated", False):
        return ()
    return NAV[user.role]
