"""The reference page of `make bench`: one indexed query and a small Jinja table, nothing else.

Served by the same gunicorn settings (deploy/gunicorn.conf.py) against the same PostgreSQL
database as the app, so every page's throughput can be given as a ratio to it:
`DATABASE_URL=... gunicorn -c deploy/gunicorn.conf.py bench.reference:app`.
"""

from __future__ import annotations

import os
import random

import sqlalchemy as sa
from flask import Flask, render_template_string

app = Flask(__name__)
engine = sa.create_engine(
    os.environ["DATABASE_URL"].replace("postgresql://", "postgresql+psycopg://", 1),
    pool_size=2,
    pool_pre_ping=True,
)
QUERY = sa.text(
    "SELECT id, mrn, family_name, given_name, date_of_birth FROM patient "
    "WHERE mrn >= :mrn ORDER BY mrn LIMIT 20"
)
PAGE = """<!doctype html><html lang="en"><head><title>Patients</title></head><body>
<table><thead><tr><th>MRN</th><th>Name</th><th>Born</th></tr></thead><tbody>
{% for row in rows %}<tr><td>{{ row.mrn }}</td><td>{{ row.family_name }}, {{ row.given_name }}</td>
<td>{{ row.date_of_birth }}</td></tr>{% endfor %}
</tbody></table></body></html>"""


@app.get("/")
def page() -> str:
    with engine.connect() as connection:
        rows = connection.execute(QUERY, {"mrn": f"BX{random.randrange(900):07d}"}).all()
    return render_template_string(PAGE, rows=rows)
