# votum: every target creates what it needs (.venv) itself.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
CONSTRAINTS := requirements/constraints.txt

.PHONY: install demo test test-engines test-all lint format bench bench-engines clean lock docs

install: $(STAMP)

$(STAMP): pyproject.toml $(CONSTRAINTS)
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "votum needs Python 3.11 or newer, found " + sys.version.split()[0]'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c $(CONSTRAINTS) -e '.[dev,spark]'
	touch $(STAMP)

## make demo: synthetic drops, the full daily pipeline, a look at the marts
demo: install
	$(BIN)/votum demo

## make docs: dbt docs (lineage from the drop files to each email, exposures) as one HTML page
docs: install
	$(BIN)/votum docs

## make test: the representative test suite on DuckDB (scale tests are marked slow)
test: install
	$(BIN)/python -m pytest -m "not slow and not postgres and not spark" -q -n auto --maxprocesses 4 --dist loadfile

## make test-engines: the same dbt project on a real PostgreSQL server (about a minute)
test-engines: install
	$(BIN)/python -m pytest -m "postgres or spark" -q

## make test-all: everything, scale tests included
test-all: install
	$(BIN)/python -m pytest -q

lint: install
	$(BIN)/ruff check flows tests benchmarks
	$(BIN)/ruff format --check flows tests benchmarks
	$(BIN)/mypy
	mkdir -p var/lint
	cd dbt_project && DBT_VOTUM_DUCKDB_PATH=$(CURDIR)/var/lint/lint.duckdb ../$(BIN)/sqlfluff lint models tests

format: install
	$(BIN)/ruff check --fix flows tests benchmarks
	$(BIN)/ruff format flows tests benchmarks

## make bench: bank-scale figures (1M clients, ~10M positions; dispatch rate); see README
bench: install
	$(BIN)/python -m benchmarks.bench_daily_run
	$(BIN)/python -m benchmarks.bench_quality
	$(BIN)/python -m benchmarks.bench_dispatch

## make bench-engines: the same daily runs on DuckDB, PostgreSQL and Spark (README)
bench-engines: install
	$(BIN)/python -m benchmarks.bench_engines

## make lock: re-resolve and pin the full dependency set
lock:
	rm -rf /tmp/votum-lock-venv && $(PYTHON) -m venv /tmp/votum-lock-venv
	/tmp/votum-lock-venv/bin/python -m pip install --quiet --upgrade pip
	/tmp/votum-lock-venv/bin/python -m pip install --quiet -e '.[dev,spark]'
	/tmp/votum-lock-venv/bin/python -m pip freeze --exclude-editable | grep -v '^votum' > $(CONSTRAINTS)

clean:
	rm -rf var dbt_project/target dbt_project/logs .pytest_cache .mypy_cache .ruff_cache
