"""code lists checked by the database: imaging modality, planned and used guidance, complications

The clinical code lists are enums in clinic/journeys/codes.py; the forms offer them and these
CHECK constraints (made from the same enums) refuse any other value. Leukocytes, activation,
product disposition and the follow-up plan had theirs already.

Revision ID: a7c3e91d5b20
Revises: cefb02e264ce
Create Date: 2026-11-27 01:50:00
"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "a7c3e91d5b20"
down_revision = "cefb02e264ce"
branch_labels = None
depends_on = None

CHECKS = {
    "evaluation_record": {
        "modality_known": (
            "imaging_modality IS NULL OR imaging_modality IN ('mri', 'ct', 'x_ray', 'ultrasound')"
        ),
        "planned_guidance_known": (
            "planned_guidance IS NULL OR planned_guidance IN ('fluoroscopy', 'ultrasound', 'ct')"
        ),
    },
    "injection_record": {
        "guidance_known": "guidance IS NULL OR guidance IN ('fluoroscopy', 'ultrasound', 'ct')",
        "complications_known": (
            "complications IS NULL OR complications IN "
            "('none', 'vasovagal', 'dural_puncture', 'bleeding', 'other')"
        ),
    },
}


def upgrade():
    for table, checks in CHECKS.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            for name, condition in checks.items():
                batch_op.create_check_constraint(name, condition)


def downgrade():
    for table, checks in CHECKS.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            for name in checks:
                batch_op.drop_constraint(op.f(f"ck_{table}_{name}"), type_="check")
