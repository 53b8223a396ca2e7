"""input: plausible ranges for clinical numbers on stage records (CHECK per column)

Revision ID: 5e1f0c2a9b7d
Revises: e4272933799f
Create Date: 2026-11-26 23:45:00

The ranges are a snapshot of clinic/journeys/bounds.py when this revision was written; a later
change to a range needs its own revision.
"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '5e1f0c2a9b7d'
down_revision = 'e4272933799f'
branch_labels = None
depends_on = None

CHECKS = {
    'evaluation_record': [
        ('pain_duration_months_range', 'pain_duration_months IS NULL OR (pain_duration_months >= 0 AND pain_duration_months <= 1200)'),
        ('physical_therapy_weeks_range', 'physical_therapy_weeks IS NULL OR (physical_therapy_weeks >= 0 AND physical_therapy_weeks <= 520)'),
        ('planned_treatments_range', 'planned_treatments IS NULL OR (planned_treatments >= 0 AND planned_treatments <= 10)'),
    ],
    'collection_record': [
        ('blood_volume_ml_range', 'blood_volume_ml IS NULL OR (blood_volume_ml >= 0 AND blood_volume_ml <= 240)'),
        ('anticoagulant_ml_range', 'anticoagulant_ml IS NULL OR (anticoagulant_ml >= 0 AND anticoagulant_ml <= 60)'),
        ('baseline_platelets_range', 'baseline_platelets IS NULL OR (baseline_platelets >= 0 AND baseline_platelets <= 10000)'),
        ('baseline_wbc_range', 'baseline_wbc IS NULL OR (baseline_wbc >= 0 AND baseline_wbc <= 500)'),
        ('baseline_neutrophils_range', 'baseline_neutrophils IS NULL OR (baseline_neutrophils >= 0 AND baseline_neutrophils <= 500)'),
        ('baseline_hb_range', 'baseline_hb IS NULL OR (baseline_hb >= 0 AND baseline_hb <= 30)'),
        ('aspirate_ml_range', 'aspirate_ml IS NULL OR (aspirate_ml >= 0 AND aspirate_ml <= 240)'),
        ('pull_count_range', 'pull_count IS NULL OR (pull_count >= 0 AND pull_count <= 50)'),
        ('pull_size_ml_range', 'pull_size_ml IS NULL OR (pull_size_ml >= 0 AND pull_size_ml <= 60)'),
        ('tumescent_ml_range', 'tumescent_ml IS NULL OR (tumescent_ml >= 0 AND tumescent_ml <= 2000)'),
        ('lipoaspirate_ml_range', 'lipoaspirate_ml IS NULL OR (lipoaspirate_ml >= 0 AND lipoaspirate_ml <= 1000)'),
    ],
    'processing_record': [
        ('spin1_g_range', 'spin1_g IS NULL OR (spin1_g >= 0 AND spin1_g <= 10000)'),
        ('spin1_minutes_range', 'spin1_minutes IS NULL OR (spin1_minutes >= 0 AND spin1_minutes <= 120)'),
        ('spin2_g_range', 'spin2_g IS NULL OR (spin2_g >= 0 AND spin2_g <= 10000)'),
        ('spin2_minutes_range', 'spin2_minutes IS NULL OR (spin2_minutes >= 0 AND spin2_minutes <= 120)'),
        ('final_volume_ml_range', 'final_volume_ml IS NULL OR (final_volume_ml >= 0 AND final_volume_ml <= 60)'),
        ('product_platelets_range', 'product_platelets IS NULL OR (product_platelets >= 0 AND product_platelets <= 10000)'),
        ('product_wbc_range', 'product_wbc IS NULL OR (product_wbc >= 0 AND product_wbc <= 500)'),
        ('product_neutrophils_range', 'product_neutrophils IS NULL OR (product_neutrophils >= 0 AND product_neutrophils <= 500)'),
        ('product_rbc_range', 'product_rbc IS NULL OR (product_rbc >= 0 AND product_rbc <= 10)'),
        ('total_nucleated_cells_million_range', 'total_nucleated_cells_million IS NULL OR (total_nucleated_cells_million >= 0 AND total_nucleated_cells_million <= 100000)'),
    ],
    'injection_record': [
        ('contrast_ml_range', 'contrast_ml IS NULL OR (contrast_ml >= 0 AND contrast_ml <= 60)'),
        ('fluoro_seconds_range', 'fluoro_seconds IS NULL OR (fluoro_seconds >= 0 AND fluoro_seconds <= 3600)'),
        ('fluoro_dose_mgy_range', 'fluoro_dose_mgy IS NULL OR (fluoro_dose_mgy >= 0 AND fluoro_dose_mgy <= 5000)'),
    ],
    'injection_site': [
        ('volume_ml_range', 'volume_ml IS NULL OR (volume_ml > 0 AND volume_ml <= 60)'),
    ],
    'recovery_record': [
        ('heart_rate_range', 'heart_rate IS NULL OR (heart_rate >= 0 AND heart_rate <= 250)'),
    ],
}


def upgrade():
    for table, checks in CHECKS.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            for name, condition in checks:
                batch_op.create_check_constraint(batch_op.f(f"ck_{table}_{name}"), condition)


def downgrade():
    for table, checks in CHECKS.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            for name, _condition in checks:
                batch_op.drop_constraint(batch_op.f(f"ck_{table}_{name}"), type_="check")
