# Clinic Journey Tracker: `make run` to try it, `make test` to check it.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export FLASK_APP := wsgi.py
HOST ?= 127.0.0.1
PORT ?= 5000

# Folders ruff and `make format` cover (mypy's are in pyproject.toml).
LINTED := clinic tests bench tools config.py wsgi.py
# What pip-compile writes into the lock files' headers, and how they are made.
PIP_COMPILE := $(BIN)/pip-compile --quiet --strip-extras --no-emit-index-url --no-emit-find-links \
	--no-emit-trusted-host

.PHONY: run migrate serve test lint mypy format install install-test lock bench clean help

help:
	@echo "make run     - set up, migrate, load demo data if empty, serve on http://$(HOST):$(PORT)"
	@echo "make test    - install test extras and run the whole suite"
	@echo "make migrate - apply the database migrations (one run at a time, before serve)"
	@echo "make serve   - gunicorn with deploy/gunicorn.conf.py and the production settings"
	@echo "make lint    - ruff, and mypy against mypy-baseline.txt (which may only shrink)"
	@echo "make format  - ruff format and ruff's fixes"
	@echo "make lock    - re-pin requirements.lock and requirements-test.lock from pyproject.toml"
	@echo "make clean   - remove the virtualenv, caches and the databases the tests leave behind"
	@echo "make bench   - all-day pages over HTTP (gunicorn + wrk) on 1,000 and 100,000 patients, PostgreSQL (BENCH_ARGS, BENCH_DATABASE_URL)"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Installs come from the lock files; the project itself goes in without resolving anything.
$(VENV)/.installed: requirements.lock pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.lock
	$(BIN)/pip install --quiet --no-deps -e .
	@touch $@

$(VENV)/.installed-test: requirements-test.lock pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-test.lock
	$(BIN)/pip install --quiet --no-deps -e .
	@touch $(VENV)/.installed $@

install: $(VENV)/.installed

install-test: $(VENV)/.installed-test

# One process (one import of the app): migrate, load the demo into an empty database, print the
# demo sign-ins, serve with Flask's development server (`flask serve-dev`, development only).
run: install
	@mkdir -p instance
	$(BIN)/flask serve-dev --host $(HOST) --port $(PORT)

# Migrations are their own step, run once per release from one machine (never at start-up,
# where two nodes would race); on PostgreSQL an advisory lock makes a second run wait.
migrate: install
	$(BIN)/flask db upgrade

# The production web process with deploy/gunicorn.conf.py (run `make migrate` first);
# `flask worker` delivers the e-mail it queues.
serve: install
	CLINIC_ENV=production GUNICORN_BIND=$${GUNICORN_BIND:-$(HOST):$(PORT)} \
		$(BIN)/gunicorn -c deploy/gunicorn.conf.py wsgi:app

test: install-test
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: install-test
	$(BIN)/ruff check $(LINTED)
	$(BIN)/ruff format --check $(LINTED)
	$(BIN)/python tools/mypy_baseline.py

mypy: install-test
	$(BIN)/python tools/mypy_baseline.py

format: install-test
	$(BIN)/ruff format $(LINTED)
	$(BIN)/ruff check --fix $(LINTED)

lock: | $(BIN)/python
	$(BIN)/pip install --quiet pip-tools
	$(PIP_COMPILE) --upgrade -o requirements.lock pyproject.toml
	$(PIP_COMPILE) --upgrade --extra test -c requirements.lock -o requirements-test.lock pyproject.toml

# The suite's databases: SQLite files named <purpose>-<pid>.db (see tests/databases.py), and the
# PostgreSQL siblings of TEST_DATABASE_URL when it is set. instance/clinic.db and backups stay.
SUITE_SQLITE := test|[a-z_]+-[0-9]+
clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache test-artifacts
	find instance -maxdepth 1 -regextype posix-extended \
		-regex 'instance/($(SUITE_SQLITE))\.db(-wal|-shm|-journal)?' \
		-delete 2>/dev/null || true
	@if [ -n "$$TEST_DATABASE_URL" ]; then \
		base="$${TEST_DATABASE_URL##*/}"; \
		for name in $$(psql -At "$$TEST_DATABASE_URL" -c "SELECT datname FROM pg_database WHERE datname LIKE '$${base}\_%'"); do \
			psql -q "$$TEST_DATABASE_URL" -c "DROP DATABASE IF EXISTS \"$$name\" WITH (FORCE)"; \
		done; \
	fi

bench: install-test
	$(BIN)/python -m bench.run $(BENCH_ARGS)
