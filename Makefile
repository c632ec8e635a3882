# The two commands a new user types: `make run` and `make test`. Everything else supports them.
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
PORT ?= 5000
TEST_DATABASE_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test
export PATH := $(abspath $(BIN)):$(PATH)

.PHONY: run test install install-dev translations test-sqlite test-postgres clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Reinstall when the dependency list changes.
$(VENV)/.installed: setup.cfg pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: setup.cfg pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $(VENV)/.installed $@

install: $(VENV)/.installed translations
install-dev: $(VENV)/.installed-dev translations

translations:
	$(BIN)/pybabel compile -d platform/cogrow/translations

# Install, migrate, load the demo network once, then start the Procfile's processes (all but `release`) on the
# embedded broker. The launcher stops them all on Ctrl-C and exits 0 (honcho exited 130 and logged killed children).
run: install
	$(BIN)/flask --app cogrow db upgrade
	$(BIN)/flask --app cogrow demo load
	$(BIN)/flask --app cogrow demo logins --url http://127.0.0.1:$(PORT)
	$(BIN)/python -m cogrow.launcher --port $(PORT)

# The whole suite on SQLite (with Redis, worker and browser tests), then the database tests on PostgreSQL.
test: install-dev
	$(BIN)/python -m pytest
	COGROW_TEST_DATABASE_URL=$(TEST_DATABASE_URL) $(BIN)/python -m pytest -m "not e2e and not worker" tests

test-sqlite: install-dev
	$(BIN)/python -m pytest

test-postgres: install-dev
	COGROW_TEST_DATABASE_URL=$(TEST_DATABASE_URL) $(BIN)/python -m pytest -m "not e2e and not worker" tests

clean:
	rm -rf $(VENV) var .pytest_cache
