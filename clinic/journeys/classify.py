"""Derived values of a processed product: concentration factor, platelet dose, PAW, DEPA.

PAW follows DeLong et al. 2012 (platelets, activation, white cells); DEPA follows Magalon et
al. 2016 (dose band). Pure functions so the band edges are tested by hand-worked examples.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal


def _q(value: Decimal, places: str = "0.01") -> Decimal:
    return value.quantize(Decimal(places), rounding=ROUND_HALF_UP)


def concentration_factor(product_platelets: Decimal | None, baseline: Decimal | None):
    """Product platelet count ÷ whole-blood baseline, or None without both (or a zero baseline)."""
    if product_platelets is None or not baseline:
        return None
    return _q(Decimal(product_platelets) / Decimal(baseline))


def platelet_dose_billions(product_platelets: Decimal | None, volume_ml: Decimal | None):
    """Platelets ×10³/µL × mL = ×10⁶ platelets; ÷ 1,000 gives billions."""
    if product_platelets is None or volume_ml is None:
        return None
    return _q(Decimal(product_platelets) * Decimal(volume_ml) / Decimal(1000))


def paw_platelet_band(product: Decimal, baseline: Decimal) -> str:
    """P1 at or below baseline; P2 above it up to 750; P3 above 750 up to 1,250; P4 above."""
    if product <= baseline:
        return "P1"
    if product <= 750:
        return "P2"
    if product <= 1250:
        return "P3"
    return "P4"


def paw_class(
    *,
    product_platelets: Decimal | None,
    baseline_platelets: Decimal | None,
    activated: bool,
    product_wbc: Decimal | None,
    baseline_wbc: Decimal | None,
    product_neutrophils: Decimal | None = None,
    baseline_neutrophils: Decimal | None = None,
) -> str | None:
    """The PAW label, e.g. "P3-x-Bβ"; None when the platelet counts are missing."""
    if product_platelets is None or baseline_platelets is None:
        return None
    parts = [paw_platelet_band(Decimal(product_platelets), Decimal(baseline_platelets))]
    if activated:
        parts.append("x")
    if product_wbc is not None and baseline_wbc is not None:
        white = "A" if Decimal(product_wbc) > Decimal(baseline_wbc) else "B"
        if product_neutrophils is not None and baseline_neutrophils is not None:
            above = Decimal(product_neutrophils) > Decimal(baseline_neutrophils)
            white += "α" if above else "β"
        parts.append(white)
    return "-".join(parts)


def leukocyte_label(product_wbc: Decimal | None, baseline_wbc: Decimal | None) -> str | None:
    """'rich' when the product's white cells are above the blood's, else 'poor' (PAW A / B)."""
    if product_wbc is None or baseline_wbc is None:
        return None
    return "rich" if Decimal(product_wbc) > Decimal(baseline_wbc) else "poor"


def depa_band(dose_billions: Decimal | None) -> str | None:
    """DEPA dose band: A above 5 billion, B 3–5, C 1 to under 3, D under 1."""
    if dose_billions is None:
        return None
    dose = Decimal(dose_billions)
    if dose > 5:
        return "A"
    if dose >= 3:
        return "B"
    if dose >= 1:
        return "C"
    return "D"
