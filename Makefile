# The two commands a new user types: `make run` and `make test`. Everything else supports them.
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
PORT ?= 5000
TEST_DATABASE_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test
export PATH := $(abspath $(BIN)):$(PATH)

.PHONY: run test install install-dev translations test-sqlite test-postgres test-calendar clean vendor

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

# Tests run at a fixed instant (COGROW_TEST_NOW, see tests/conftest.py). The calendar pass runs the
# date-sensitive suites again at instants where weeks, months and years turn, in Seoul and in UTC.
CALENDAR_INSTANTS ?= 2026-12-28T09:00:00+09:00 2026-12-31T23:59:00+09:00 2027-01-01T00:30:00+09:00 \
	2027-01-04T10:00:00+09:00 2028-02-29T12:00:00+09:00 2026-12-06T23:30:00+09:00 2026-12-07T00:30:00+09:00
CALENDAR_SUITES ?= tests/orders tests/forecasts tests/imports/test_forecast_import.py tests/production \
	tests/shipments tests/coverage tests/alerts tests/home tests/reliability tests/scorecards tests/liability tests/edi

# The whole suite on SQLite (with Redis, worker and browser tests), the database tests on PostgreSQL,
# then the calendar pass.
test: install-dev
	$(BIN)/python -m pytest
	COGROW_TEST_DATABASE_URL=$(TEST_DATABASE_URL) $(BIN)/python -m pytest -m "not e2e and not worker" tests
	$(MAKE) --no-print-directory test-calendar

test-sqlite: install-dev
	$(BIN)/python -m pytest

test-postgres: install-dev
	COGROW_TEST_DATABASE_URL=$(TEST_DATABASE_URL) $(BIN)/python -m pytest -m "not e2e and not worker" tests

# Every instant runs even after one fails, CALENDAR_JOBS at a time (each in its own SQLite file); the target fails
# if any did and names them, after printing the output of each.
CALENDAR_JOBS ?= 2
test-calendar: install-dev
	@logs="$$(mktemp -d)"; \
	for now in $(CALENDAR_INSTANTS); do echo "$$now"; done | xargs -P $(CALENDAR_JOBS) -I{} sh -c \
		'COGROW_TEST_NOW={} COGROW_TEST_DATABASE_URL= $(BIN)/python -m pytest -q -p no:cacheprovider \
			-m "not e2e and not worker" $(CALENDAR_SUITES) > "$$0/$$(echo {} | tr -c "0-9A-Za-z\n" _).log" 2>&1 \
			|| touch "$$0/$$(echo {} | tr -c "0-9A-Za-z\n" _).failed"' "$$logs"; \
	failed=""; for now in $(CALENDAR_INSTANTS); do \
		name="$$(echo $$now | tr -c "0-9A-Za-z\n" _)"; \
		echo "== calendar pass at $$now"; \
		if [ -e "$$logs/$$name.failed" ]; then failed="$$failed $$now"; cat "$$logs/$$name.log"; \
		else tail -n 2 "$$logs/$$name.log"; fi; \
	done; rm -rf "$$logs"; \
	if [ -n "$$failed" ]; then echo "calendar pass failed at:$$failed"; exit 1; fi

# Refresh the pinned front-end files (static/vendor/manifest.json) from the npm registry; no node needed.
vendor: | $(BIN)/python
	$(BIN)/python platform/cogrow/vendor.py refresh

clean:
	rm -rf $(VENV) var .pytest_cache
