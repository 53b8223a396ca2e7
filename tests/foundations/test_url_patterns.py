"""A URL pattern built once per render gives exactly url_for's text for each row's values."""

from __future__ import annotations

import pytest
from flask import url_for

from clinic.url_patterns import url_pattern

QUERY_VALUES = ["09:15", "2026-11-27", "a b&c=d", "x/y?z#w", "Ünïcødé", "100%", "'!$()*,;@"]


@pytest.mark.parametrize("value", QUERY_VALUES)
def test_query_values_are_encoded_as_url_for_encodes_them(app, value):
    with app.test_request_context():
        book = url_pattern("scheduling.book", "time", "provider", date="2026-11-27")
        expected = url_for("scheduling.book", date="2026-11-27", time=value, provider=42)
        assert book(time=value, provider=42) == expected


@pytest.mark.parametrize("ident", [1, 7, 123456, 7304851000])
def test_ids_in_the_path_and_the_script_root(app, ident):
    with app.test_request_context(base_url="https://clinic.example/app/"):
        appointment = url_pattern("scheduling.appointment", "appointment_id")
        chart = url_pattern("journeys.chart", "patient_id")
        assert appointment(appointment_id=ident) == url_for(
            "scheduling.appointment", appointment_id=ident
        )
        assert chart(patient_id=ident) == url_for("journeys.chart", patient_id=ident)
        assert appointment(appointment_id=ident).startswith("/app/")


def test_the_variables_keep_their_order_in_the_query(app):
    with app.test_request_context():
        book = url_pattern("scheduling.book", "provider", "date", "time")
        assert book(provider=3, date="2026-01-02", time="08:00") == url_for(
            "scheduling.book", provider=3, date="2026-01-02", time="08:00"
        )


def test_a_value_given_again_and_numbers_in_the_query_read_as_url_for_writes_them(app):
    """The pattern remembers a query value's encoding and writes numbers as they are."""
    with app.test_request_context():
        book = url_pattern("scheduling.book", "time", "provider", date="2026-11-27")
        for provider, time in [(3, "a b&c"), (-4, "a b&c"), (12, "09:15"), (True, "09:15")]:
            assert book(time=time, provider=provider) == url_for(
                "scheduling.book", date="2026-11-27", time=time, provider=provider
            )
