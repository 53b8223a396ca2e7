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
        NavItem("Front desk", "main.front_desk"),
        NavItem("Rooms", "scheduling.rooms"),
        NavItem("Working hours", "scheduling.hours"),
    ),
    Role.FRONT_DESK: (
        NavItem("Front desk", "main.front_desk"),
        NavItem("Day board", "scheduling.board"),
        NavItem("Calendar", "scheduling.day"),
        NavItem("Find a slot", "scheduling.find_slots"),
        NavItem("Patients", "patients.search"),
    ),
    Role.PROVIDER: (
        NavItem("Clinical", "main.clinical"),
        NavItem("Day board", "scheduling.board"),
        NavItem("Calendar", "scheduling.day"),
    ),
    Role.CLINICAL_STAFF: (
        NavItem("Clinical", "main.clinical"),
        NavItem("Day board", "scheduling.board"),
        NavItem("Calendar", "scheduling.day"),
    ),
    Role.PATIENT: (NavItem("My care", "main.patient_home"),),
}


def nav_for(user) -> tuple[NavItem, ...]:
    if not getattr(user, "is_authenticated", False):
        return ()
    return NAV[user.role]
