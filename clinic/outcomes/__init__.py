"""Outcomes wing: questionnaires defined as data, their scoring, patients' progress, adverse
events, and the outcomes registry (cohort figures and exports; views in `routes/`)."""

from flask import Blueprint

bp = Blueprint("outcomes", __name__)
