# The two commands a new user types: `make run` and `make test`. Everything else is for developers.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
CHROMIUM := /usr/bin/chromium
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)
# pytest-xdist workers: the suite mostly waits (on servers and timers), so more than the cores.
# worksteal: an idle worker takes half of a busy one's queue (with the default `load` the
# last minutes ran on one or two workers while the others had nothing left)
TEST_WORKERS ?= 6
TEST_DIST ?= worksteal

.PHONY: run test lint i18n bench bench-smoke clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

run: $(STAMP)  ## set up and run the bot: SQLite and the playground at http://127.0.0.1:8080/
	$(BIN)/branchbot run

$(CHROMIUM):  ## the browser the web board's test drives: Debian's package
	$(SUDO) apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium

test: $(STAMP) $(CHROMIUM)  ## set up and run the whole test suite, linters included
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/python -m pytest -q -n $(TEST_WORKERS) --dist $(TEST_DIST)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/lint-imports

i18n: $(STAMP)  ## extract messages and refresh the catalogs
	$(BIN)/python tools/i18n.py

bench: $(STAMP)  ## the benchmarks (JSON out; not part of the tests)
	$(BIN)/python bench/core.py

bench-smoke: $(STAMP)  ## ~20 s: the core on SQLite against its same-run baseline, one JSON line
	$(BIN)/python bench/core.py --seconds 3 --people 1000 --conversations 1000 --only sqlite --summary

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache *.egg-info
