# votum: every target creates what it needs (.venv) itself.
#
# The dependency set is locked with hashes (requirements/*.txt, made by `make lock` from
# pyproject.toml and the version pins in requirements/constraints.txt) and installed in
# pip's hash-checking mode: every machine gets exactly the same, verified files.
#   requirements/core.txt     what the default (DuckDB, one process) needs
#   requirements/dev.txt      core + the test and lint tools + Dask (the fan-out tests)
#   requirements/engines.txt  dev + PostgreSQL and Spark (make test-engines, bench-engines)
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
CONSTRAINTS := requirements/constraints.txt
DEV_STAMP     := $(VENV)/.installed-dev
ENGINES_STAMP := $(VENV)/.installed-engines

.PHONY: install install-engines demo test test-engines test-all lint format bench bench-engines clean lock lock-hashes docs

install: $(DEV_STAMP)

install-engines: $(ENGINES_STAMP)

$(BIN)/python:
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "votum needs Python 3.11 or newer, found " + sys.version.split()[0]'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Locked, hash-checked dependencies first, then votum itself (editable, no dependencies).
$(DEV_STAMP): $(BIN)/python pyproject.toml requirements/dev.txt
	$(BIN)/python -m pip install --quiet --require-hashes --no-deps -r requirements/dev.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(DEV_STAMP)

$(ENGINES_STAMP): $(DEV_STAMP) requirements/engines.txt
	$(BIN)/python -m pip install --quiet --require-hashes --no-deps -r requirements/engines.txt
	touch $(ENGINES_STAMP)

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
test-engines: install-engines
	$(BIN)/python -m pytest -m "postgres or spark" -q

## make test-all: everything, scale tests included
test-all: install-engines
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
	$(BIN)/python -m benchmarks.bench_plan
	$(BIN)/python -m benchmarks.bench_intraday
	$(BIN)/python -m benchmarks.bench_demo
	$(BIN)/python -m benchmarks.summary

## make bench-engines: the same daily runs on DuckDB, PostgreSQL and Spark (README)
bench-engines: install-engines
	$(BIN)/python -m benchmarks.bench_engines

## make lock: re-resolve and pin the whole dependency set, then lock it with hashes
lock:
	rm -rf /tmp/votum-lock-venv && $(PYTHON) -m venv /tmp/votum-lock-venv
	/tmp/votum-lock-venv/bin/python -m pip install --quiet --upgrade pip pip-tools
	/tmp/votum-lock-venv/bin/python -m pip install --quiet -e '.[dev,dask,postgres,spark]'
	/tmp/votum-lock-venv/bin/python -m pip freeze --exclude-editable | grep -v '^votum' > $(CONSTRAINTS)
	$(MAKE) lock-hashes PIP_COMPILE=/tmp/votum-lock-venv/bin/pip-compile

## make lock-hashes: the hashed lock files from the pins (no version changes)
PIP_COMPILE ?= pip-compile
LOCK_ARGS = -q pyproject.toml requirements/pins.in --generate-hashes --allow-unsafe --strip-extras --no-emit-index-url --no-emit-trusted-host --no-emit-find-links
lock-hashes:
	$(PIP_COMPILE) $(LOCK_ARGS) -o requirements/core.txt
	$(PIP_COMPILE) $(LOCK_ARGS) --extra dev --extra dask -o requirements/dev.txt
	$(PIP_COMPILE) $(LOCK_ARGS) --extra dev --extra dask --extra postgres --extra spark -o requirements/engines.txt

clean:
	rm -rf var dbt_project/target dbt_project/logs .pytest_cache .mypy_cache .ruff_cache
