# Clinic Journey Tracker: `make run` to try it, `make test` to check it.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export FLASK_APP := wsgi.py
HOST ?= 127.0.0.1
PORT ?= 5000

.PHONY: run serve test lint format install install-test bench clean help

help:
	@echo "make run     - set up, migrate, load demo data if empty, serve on http://$(HOST):$(PORT)"
	@echo "make test    - install test extras and run the whole suite"
	@echo "make serve   - gunicorn with the production settings (needs SECRET_KEY, DATABASE_URL)"
	@echo "make lint    - ruff"
	@echo "make bench   - time the busiest pages on 100,000 patients (BENCH_ARGS, BENCH_DATABASE_URL)"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	@touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test]'
	@touch $(VENV)/.installed $@

install: $(VENV)/.installed

install-test: $(VENV)/.installed-test

run: install
	@mkdir -p instance
	$(BIN)/flask db upgrade
	$(BIN)/flask demo load --if-empty
	@echo ""
	@echo "Demo sign-ins (development only):"
	@$(BIN)/flask demo logins
	@echo ""
	@echo "Serving on http://$(HOST):$(PORT)  (Ctrl+C stops)"
	$(BIN)/flask run --host $(HOST) --port $(PORT)

serve: install
	CLINIC_ENV=production $(BIN)/flask db upgrade
	CLINIC_ENV=production $(BIN)/gunicorn --bind $(HOST):$(PORT) --workers $${WEB_CONCURRENCY:-3} \
		--access-logfile - wsgi:app

test: install-test
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: install-test
	$(BIN)/ruff check clinic tests bench config.py wsgi.py
	$(BIN)/ruff format --check clinic tests bench config.py wsgi.py

format: install-test
	$(BIN)/ruff format clinic tests config.py wsgi.py
	$(BIN)/ruff check --fix clinic tests config.py wsgi.py

clean:
	rm -rf $(VENV) instance/test*.db .pytest_cache .ruff_cache

bench: install-test
	$(BIN)/python -m bench.run $(BENCH_ARGS)
