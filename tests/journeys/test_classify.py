"""PAW and DEPA classification, concentration factor and dose, at the band edges (by hand)."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from clinic.journeys.classify import (
    concentration_factor,
    depa_band,
    leukocyte_label,
    paw_class,
    paw_platelet_band,
    platelet_dose_billions,
)


@pytest.mark.parametrize(
    ("product", "baseline", "band"),
    [
        (D(250), D(250), "P1"),  # equal to baseline: not above it
        (D(200), D(250), "P1"),
        (D(251), D(250), "P2"),
        (D("749.99"), D(250), "P2"),
        (D(750), D(250), "P2"),  # PAW P2 runs up to and including 750
        (D("750.01"), D(250), "P3"),
        (D(1250), D(250), "P3"),  # P3 runs up to and including 1,250
        (D("1250.01"), D(250), "P4"),
        (D(760), D(760), "P1"),  # at a baseline above 750: still not above it
        (D(761), D(760), "P3"),
        (D(800), D(900), "P1"),  # under a high baseline is still P1
    ],
)
def test_paw_platelet_band_edges(product, baseline, band):
    assert paw_platelet_band(product, baseline) == band


def test_paw_full_label():
    label = paw_class(
        product_platelets=D(1100),
        baseline_platelets=D(250),
        activated=True,
        product_wbc=D("1.2"),
        baseline_wbc=D("6.5"),
        product_neutrophils=D("0.3"),
        baseline_neutrophils=D("4.0"),
    )
    assert label == "P3-x-Bβ"
    label = paw_class(
        product_platelets=D(1400),
        baseline_platelets=D(250),
        activated=False,
        product_wbc=D("6.6"),
        baseline_wbc=D("6.5"),
        product_neutrophils=D("4.1"),
        baseline_neutrophils=D("4.0"),
    )
    assert label == "P4-Aα"
    # white cells equal to baseline are "at or below": B
    same = dict(product_platelets=D(500), baseline_platelets=D(250), activated=False)
    assert paw_class(**same, product_wbc=D(6), baseline_wbc=D(6)) == "P2-B"
    assert paw_class(**same, product_wbc=None, baseline_wbc=D(6)) == "P2"
    assert (
        paw_class(
            product_platelets=None,
            baseline_platelets=D(1),
            activated=False,
            product_wbc=None,
            baseline_wbc=None,
        )
        is None
    )


@pytest.mark.parametrize(
    ("dose", "band"),
    [
        (D("5.01"), "A"),
        (D(5), "B"),
        (D(3), "B"),
        (D("2.99"), "C"),
        (D(1), "C"),
        (D("0.99"), "D"),
        (D(0), "D"),
    ],
)
def test_depa_band_edges(dose, band):
    assert depa_band(dose) == band


def test_dose_and_concentration_worked_examples():
    # 1,100 ×10³/µL × 6 mL = 6.6 ×10⁹ platelets; 1,100 / 250 = 4.4×
    assert platelet_dose_billions(D(1100), D(6)) == D("6.60")
    assert concentration_factor(D(1100), D(250)) == D("4.40")
    assert depa_band(platelet_dose_billions(D(1000), D(5))) == "B"  # exactly 5 billion
    assert concentration_factor(D(1100), D(0)) is None
    assert platelet_dose_billions(None, D(6)) is None


@pytest.mark.parametrize(
    ("product", "baseline", "label"),
    [
        (D("6.6"), D("6.5"), "rich"),
        (D("6.5"), D("6.5"), "poor"),  # at baseline is PAW "B": poor
        (D("1.2"), D("6.5"), "poor"),
        (None, D("6.5"), None),
        (D("1.2"), None, None),
    ],
)
def test_leukocyte_label_follows_the_counts(product, baseline, label):
    assert leukocyte_label(product, baseline) == label
