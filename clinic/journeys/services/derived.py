"""Computes and stores the processing stage's derived values from its inputs."""

from __future__ import annotations

from clinic.journeys import models as m
from clinic.journeys.classify import (
    concentration_factor,
    depa_band,
    paw_class,
    platelet_dose_billions,
)
from clinic.journeys.services.journeys import record_of
from clinic.journeys.states import StageKind


def baseline_for(stage: m.Stage) -> m.CollectionRecord | None:
    for other in stage.cycle.stages:
        if other.kind is StageKind.COLLECTION and other.is_live:
            return record_of(other)
    return None


def compute_processing(stage: m.Stage, record: m.ProcessingRecord) -> None:
    """Concentration factor, platelet dose, PAW class and DEPA band from the counts entered."""
    baseline = baseline_for(stage)
    base_plt = baseline.baseline_platelets if baseline else None
    record.concentration_factor = concentration_factor(record.product_platelets, base_plt)
    record.platelet_dose_billions = platelet_dose_billions(
        record.product_platelets, record.final_volume_ml
    )
    record.paw_class = paw_class(
        product_platelets=record.product_platelets,
        baseline_platelets=base_plt,
        activated=record.activation not in (None, "none"),
        product_wbc=record.product_wbc,
        baseline_wbc=baseline.baseline_wbc if baseline else None,
        product_neutrophils=record.product_neutrophils,
        baseline_neutrophils=baseline.baseline_neutrophils if baseline else None,
    )
    record.depa_band = depa_band(record.platelet_dose_billions)
