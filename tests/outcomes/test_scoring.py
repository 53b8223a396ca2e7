"""Questionnaire scoring and clinically important change, against hand-worked examples."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from clinic.outcomes import scoring
from clinic.outcomes.instruments import disability_instrument_code, get_instrument, standard_set

ODI_CODES = [
    "pain",
    "personal_care",
    "lifting",
    "walking",
    "sitting",
    "standing",
    "sleeping",
    "sex_life",
    "social_life",
    "travelling",
]
NDI_CODES = [
    "pain",
    "personal_care",
    "lifting",
    "reading",
    "headaches",
    "concentration",
    "work",
    "driving",
    "sleeping",
    "recreation",
]


@pytest.fixture
def instruments(app):
    with app.app_context():
        yield {
            code: get_instrument(code)
            for code in ("nrs_pain", "nrs_radiating", "odi", "ndi", "pgic")
        }


def _answers(codes, values):
    return dict(zip(codes, values, strict=True))


def test_odi_all_sections(instruments):
    # 3+2+2+3+1+2+2+0+1+2 = 18; 18 / (5 × 10) × 100 = 36.0
    answers = _answers(ODI_CODES, [3, 2, 2, 3, 1, 2, 2, 0, 1, 2])
    assert scoring.score(instruments["odi"], answers) == D("36.0")


def test_odi_one_section_skipped_is_scored_over_the_sections_answered(instruments):
    # sex life skipped: 18 / (5 × 9) × 100 = 40.0
    answers = _answers(ODI_CODES, [3, 2, 2, 3, 1, 2, 2, None, 1, 2])
    assert scoring.score(instruments["odi"], answers) == D("40.0")


def test_odi_two_sections_skipped(instruments):
    # 3+2+2+3+1+2+2+1 = 16 over 8 sections: 16 / 40 × 100 = 40.0
    answers = _answers(ODI_CODES, [3, 2, 2, 3, 1, 2, 2, None, 1, None])
    assert scoring.score(instruments["odi"], answers) == D("40.0")


def test_odi_rounds_half_up(instruments):
    # 1+0*8 ... : sum 7 over 9 answered = 7/45*100 = 15.555… → 15.6
    answers = _answers(ODI_CODES, [1, 1, 1, 1, 1, 1, 1, None, 0, 0])
    assert scoring.score(instruments["odi"], answers) == D("15.6")


def test_odi_three_skipped_cannot_be_scored(instruments):
    answers = _answers(ODI_CODES, [3, 2, 2, 3, 1, 2, None, None, 1, None])
    problems = scoring.check(instruments["odi"], answers)
    assert problems.too_many_skipped
    with pytest.raises(ValueError):
        scoring.score(instruments["odi"], answers)


def test_missing_and_invalid_items_are_listed(instruments):
    answers = _answers(ODI_CODES[:8], [0, 1, 2, 3, 4, 5, 9, 0])
    problems = scoring.check(instruments["odi"], answers)
    assert problems.missing == ("social_life", "travelling")
    assert problems.invalid == ("sleeping",)


def test_ndi_points_and_prorating(instruments):
    assert scoring.score(instruments["ndi"], _answers(NDI_CODES, [2] * 10)) == D("20")
    # 17 over 9 answered items → 17 × 10 / 9 = 18.88… → 18.9
    answers = _answers(NDI_CODES, [2, 2, 2, 2, 2, 2, 2, 1, 2, None])
    assert scoring.score(instruments["ndi"], answers) == D("18.9")


def test_nrs_cannot_be_skipped(instruments):
    problems = scoring.check(instruments["nrs_pain"], {"axial": None})
    assert problems.missing == ("axial",)
    assert scoring.score(instruments["nrs_pain"], {"axial": 7}) == D(7)


@pytest.mark.parametrize(
    ("baseline", "current", "important"),
    [
        (7, 5, True),  # 2 points
        (7, 6, False),  # 1 point, 14 %
        (3, 2, True),  # 1 point but 33 %
        (10, 8, True),  # 2 points (20 %)
        (5, 4, False),  # 1 point, 20 %
        (10, 7, True),
        (0, 0, False),
        (4, 6, False),  # worse
    ],
)
def test_nrs_clinically_important_change(instruments, baseline, current, important):
    result = scoring.change(instruments["nrs_pain"], D(baseline), D(current))
    assert result.important is important


@pytest.mark.parametrize(
    ("code", "baseline", "current", "important"),
    [
        ("odi", "40", "30", True),  # exactly 10 points
        ("odi", "40", "30.1", False),
        ("ndi", "20", "12.5", True),  # exactly 7.5 points
        ("ndi", "20", "12.6", False),
    ],
)
def test_disability_thresholds_at_the_edge(instruments, code, baseline, current, important):
    assert scoring.change(instruments[code], D(baseline), D(current)).important is important


def test_worse_is_reported(instruments):
    result = scoring.change(instruments["odi"], D("30"), D("42"))
    assert result.worse and not result.important and result.improvement == D("-12")


@pytest.mark.parametrize(("value", "responder"), [(1, True), (2, True), (3, False), (7, False)])
def test_pgic_responders(value, responder):
    assert scoring.pgic_responder(value) is responder


def test_chart_threshold_uses_the_easier_nrs_criterion(instruments):
    assert scoring.threshold(instruments["nrs_pain"], D(8)) == D(6)
    assert scoring.threshold(instruments["nrs_pain"], D(5)) == D("3.5")
    assert scoring.threshold(instruments["odi"], D(8)) == D(0)


def test_region_chooses_the_disability_questionnaire():
    assert disability_instrument_code("cervical") == "ndi"
    assert disability_instrument_code("lumbar") == "odi"
    assert standard_set("cervical", baseline=True) == ["nrs_pain", "nrs_radiating", "ndi"]
    assert standard_set("lumbar", baseline=False)[-1] == "pgic"


def test_a_clinic_can_load_licensed_wording_as_data(app, tmp_path):
    import json

    from clinic.outcomes.instruments import SHIPPED_DIR

    data = json.loads((SHIPPED_DIR / "odi.json").read_text())
    data["version"] = 2
    data["items"][0]["text"] = "Licensed wording for section one"
    (tmp_path / "odi.json").write_text(json.dumps(data))
    app.config["INSTRUMENTS_DIR"] = str(tmp_path)
    try:
        with app.app_context():
            assert get_instrument("odi").items[0].text == "Licensed wording for section one"
            assert get_instrument("odi", 1).items[0].text != "Licensed wording for section one"
    finally:
        app.config["INSTRUMENTS_DIR"] = None
