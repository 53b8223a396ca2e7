"""safety: patient-facing text. Warning signs become their own field of each instruction version
(shown apart and highlighted; existing versions get the sample block, and sample bodies lose the
old warning paragraph and the sentence that claimed an effect); consent risks per therapy and a
regulatory status per therapy, kept as data (samples for medical review)

Revision ID: cefb02e264ce
Revises: d41c7e2a9f10
Create Date: 2026-11-27 00:52:00

"""
from datetime import datetime, timezone

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'cefb02e264ce'
down_revision = 'd41c7e2a9f10'
branch_labels = None
depends_on = None

# Snapshot of clinic/instructions/samples.py (US wording) when this revision was written.
SIGNS = [
    "Call the clinic straight away, day or night, if you have:",
    "a temperature of 100.4 °F (38 °C) or higher, or chills",
    "pain that gets worse instead of better after the first few days, especially with fever "
    "(an infection in the disc or around the spine can start days after an injection)",
    "a headache that is worse when you sit or stand up and eases when you lie down",
    "redness that spreads around a needle site, or fluid or pus coming from it",
    "new numbness or weakness in your legs or arms",
]
HARVEST_SIGN = (
    "bleeding that soaks the dressing, or swelling that keeps growing, where cells were taken"
)
EMERGENCY = (
    "Call 911 or go to the nearest emergency department if you lose control of your bladder "
    "or bowels, have numbness between your legs, or have chest pain or trouble breathing."
)
OLD_WARNING = (
    "Call the clinic straight away if you have a temperature of 38 °C (100.4 °F) or higher, "
    "redness that spreads around the injection site, fluid or pus coming from it, or new "
    "numbness or weakness in your legs or arms. If you lose control of your bladder or bowels, "
    "or have numbness between your legs, call 911 or go to the nearest emergency department."
)
OLD_CLAIM = " and are a sign the treatment is at work."

RISKS_ALL = [
    "Nerve injury: numbness, tingling or weakness, usually short-lived, rarely lasting",
    "Bleeding or a collection of blood (haematoma) at a needle site",
    "Headache after a puncture of the membrane around the spinal nerves (dural puncture)",
    "Infection, including infection of the disc (discitis) or around the spine",
    "Allergic reaction to a medicine, the contrast dye or the skin cleaner",
    "Feeling faint or fainting during the procedure (vasovagal reaction)",
    "Radiation exposure from the X-ray guidance",
    "More pain or swelling for a few days after the injection",
    "A response that varies from person to person; some people notice little or no change",
]
HARVEST_RISK = "Pain, bruising or bleeding where the cells are taken (harvest site)"
STATUS = {
    'prp': "Your own blood, concentrated at the bedside with an FDA-cleared device and used in "
    "the same procedure. PRP is not FDA-approved for treating spine pain: this use is off-label.",
    'bmac': "Your own bone marrow, concentrated with minimal handling and used in the same "
    "procedure (FDA 21 CFR 1271.15(b)). It is not FDA-approved for treating spine pain.",
    'adipose': "Your own fat tissue. Fat that is only minimally handled and used in the same "
    "procedure may be used; cells separated with enzymes (SVF) are more than minimally "
    "manipulated and may only be used in a study under an FDA investigational new drug "
    "application (IND). Not FDA-approved for treating spine pain.",
    'growth_factor': "A manufactured growth factor product. Its FDA status for this use must "
    "be checked and written here before it is offered.",
}


def _signs(therapy):
    lines = list(SIGNS) + ([HARVEST_SIGN] if therapy in ('bmac', 'adipose') else [])
    return "\n".join(lines + [EMERGENCY])


def upgrade():
    op.create_table('consent_risk',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('therapy', sa.Enum('prp', 'bmac', 'adipose', 'growth_factor', name='risk_therapy', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('text', sa.String(length=300), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_consent_risk'))
    )
    with op.batch_alter_table('consent_risk', schema=None) as batch_op:
        batch_op.create_index('ix_consent_risk_therapy_position', ['therapy', 'position'], unique=False)

    op.create_table('therapy_consent',
    sa.Column('therapy', sa.Enum('prp', 'bmac', 'adipose', 'growth_factor', name='consent_therapy', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('regulatory_status', sa.Text(), nullable=False),
    sa.Column('needs_review', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('therapy', name=op.f('pk_therapy_consent'))
    )
    with op.batch_alter_table('instruction_version', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('warning_signs', sa.Text(), nullable=False, server_default='')
        )
    with op.batch_alter_table('instruction_version', schema=None) as batch_op:
        batch_op.alter_column('warning_signs', server_default=None)
    _move_warning_signs()
    _seed_consent()


def _move_warning_signs():
    version = sa.table(
        'instruction_version', sa.column('id', sa.Integer), sa.column('therapy', sa.String),
        sa.column('body', sa.Text), sa.column('warning_signs', sa.Text),
        sa.column('review_status', sa.String),
    )
    bind = op.get_bind()
    for row in bind.execute(sa.select(version)).all():
        values = {'warning_signs': _signs(row.therapy)}
        if row.review_status == 'sample':  # approved text is never changed in place
            body = row.body.replace("\n\n" + OLD_WARNING, "").replace(OLD_WARNING, "")
            values['body'] = body.replace(OLD_CLAIM, ".")
        bind.execute(version.update().where(version.c.id == row.id).values(**values))


def _seed_consent():
    now = datetime.now(timezone.utc)
    consent = sa.table(
        'therapy_consent', sa.column('therapy', sa.String),
        sa.column('regulatory_status', sa.Text), sa.column('needs_review', sa.Boolean),
        sa.column('created_at', sa.DateTime(timezone=True)),
        sa.column('updated_at', sa.DateTime(timezone=True)),
    )
    op.bulk_insert(consent, [
        dict(therapy=t, regulatory_status=s, needs_review=True, created_at=now, updated_at=now)
        for t, s in STATUS.items()
    ])
    risk = sa.table(
        'consent_risk', sa.column('therapy', sa.String), sa.column('position', sa.Integer),
        sa.column('text', sa.String), sa.column('active', sa.Boolean),
    )
    rows = []
    for therapy in STATUS:
        risks = list(RISKS_ALL)
        if therapy in ('bmac', 'adipose'):
            risks.insert(2, HARVEST_RISK)
        rows += [dict(therapy=therapy, position=n, text=t, active=True)
                 for n, t in enumerate(risks, start=1)]
    op.bulk_insert(risk, rows)


def downgrade():
    version = sa.table(
        'instruction_version', sa.column('id', sa.Integer), sa.column('body', sa.Text),
        sa.column('review_status', sa.String),
    )
    bind = op.get_bind()
    for row in bind.execute(sa.select(version).where(version.c.review_status == 'sample')).all():
        if OLD_WARNING not in row.body:  # the warning goes back into the body it came from
            body = row.body + "\n\n" + OLD_WARNING
            bind.execute(version.update().where(version.c.id == row.id).values(body=body))
    with op.batch_alter_table('instruction_version', schema=None) as batch_op:
        batch_op.drop_column('warning_signs')

    op.drop_table('therapy_consent')
    with op.batch_alter_table('consent_risk', schema=None) as batch_op:
        batch_op.drop_index('ix_consent_risk_therapy_position')

    op.drop_table('consent_risk')
