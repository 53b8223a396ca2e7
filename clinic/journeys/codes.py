"""The clinical code lists the stage records use, in one place.

Each list is an enum whose members carry a plain label. The forms offer `choices(...)`, and the
database holds the same values through `check(...)`, a CHECK constraint made from the enum, so a
value the form does not offer can never be stored. Columns stay short strings (reports read
them as they are); the enum is the one source of the values.
"""

from __future__ import annotations

import enum

import sqlalchemy as sa


class CodeList(enum.Enum):
    """A code list: members carry their label in LABELS below."""

    @property
    def label(self) -> str:
        return LABELS.get(self.value, self.value.replace("_", " ").capitalize())


class ImagingModality(CodeList):
    MRI = "mri"
    CT = "ct"
    X_RAY = "x_ray"
    ULTRASOUND = "ultrasound"


class Guidance(CodeList):
    FLUOROSCOPY = "fluoroscopy"
    ULTRASOUND = "ultrasound"
    CT = "ct"


class Leukocytes(CodeList):
    RICH = "rich"
    POOR = "poor"


class Activation(CodeList):
    NONE = "none"
    CACL2 = "cacl2"
    THROMBIN = "thrombin"
    OTHER = "other"


class Complication(CodeList):
    NONE = "none"
    VASOVAGAL = "vasovagal"
    DURAL_PUNCTURE = "dural_puncture"
    BLEEDING = "bleeding"
    OTHER = "other"


class Disposition(CodeList):
    USED = "used"
    DISCARDED = "discarded"


class FollowUpPlan(CodeList):
    CONTINUE = "continue"
    REPEAT_CYCLE = "repeat_cycle"
    REFER_SURGERY = "refer_surgery"
    DISCHARGE = "discharge"


LABELS = {
    "mri": "MRI",
    "ct": "CT",
    "x_ray": "X-ray",
    "ultrasound": "Ultrasound",
    "fluoroscopy": "Fluoroscopy",
    "rich": "Leukocyte-rich",
    "poor": "Leukocyte-poor",
    "none": "None",
    "cacl2": "Calcium chloride",
    "thrombin": "Thrombin",
    "other": "Other",
    "vasovagal": "Vasovagal reaction",
    "dural_puncture": "Dural puncture",
    "bleeding": "Bleeding",
    "used": "Used",
    "discarded": "Discarded",
    "continue": "Continue the programme",
    "repeat_cycle": "Repeat treatment (new cycle)",
    "refer_surgery": "Refer to surgery",
    "discharge": "Discharge from the programme",
}


def values(codes: type[CodeList]) -> tuple[str, ...]:
    return tuple(member.value for member in codes)


def choices(codes: type[CodeList], blank: bool = True) -> list[tuple[str, str]]:
    """The options a form offers for this list ("—" first when it may be left empty)."""
    pairs = [(member.value, member.label) for member in codes]
    return [("", "—"), *pairs] if blank else pairs


def check(column: str, codes: type[CodeList], name: str) -> sa.CheckConstraint:
    """A CHECK that `column` is empty or one of the list's values."""
    allowed = ", ".join(f"'{value}'" for value in values(codes))
    return sa.CheckConstraint(f"{column} IS NULL OR {column} IN ({allowed})", name=name)


def label_of(code: str) -> str | None:
    """The label of a stored code from any list, or None when the text is not a code."""
    for codes in CodeList.__subclasses__():
        for member in codes:
            if member.value == code:
                return member.label
    return None
