"""Journeys routes: worklist, chart and journeys, stage forms and actions."""
