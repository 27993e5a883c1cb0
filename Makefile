# Two commands on a fresh machine: `make demo` and `make test`. Both create .venv when it
# is missing and (re)install the project when pyproject.toml changed.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint bench reliability scale-test install browser postgres up down clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/leads demo

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy

# The browser test drives the real Prefect UI with Debian's Chromium and its chromedriver
# (same version, same archive): installed here when missing.
browser:
	@if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  echo "installing chromium and chromium-driver (Debian) for the browser test"; \
	  export DEBIAN_FRONTEND=noninteractive; \
	  $$SUDO apt-get install -y -q chromium chromium-driver >/dev/null 2>&1 || \
	  { $$SUDO apt-get update -q >/dev/null && $$SUDO apt-get install -y -q chromium chromium-driver >/dev/null; }; \
	fi

# The journal store's tests run against a real PostgreSQL (Debian's), started per session
# on loopback by the tests themselves: installed here when missing.
postgres:
	@if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && ! command -v initdb >/dev/null; then \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  echo "installing postgresql (Debian) for the journal store tests"; \
	  export DEBIAN_FRONTEND=noninteractive; \
	  $$SUDO apt-get install -y -q postgresql >/dev/null 2>&1 || \
	  { $$SUDO apt-get update -q >/dev/null && $$SUDO apt-get install -y -q postgresql >/dev/null; }; \
	fi

# Two test processes (pytest-xdist): most tests wait on servers, rate windows and child
# processes, so two of them keep two cores busy. Session fixtures (the Prefect test
# harness, PostgreSQL, the served product) start once per test process.
TEST_WORKERS ?= 2

test: $(STAMP) browser postgres
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/python -m pytest -q -n $(TEST_WORKERS)

# Six runs at once on two process workers of a PostgreSQL-backed Prefect, one killed and
# resumed on the other worker (tests/scale; also part of `make test`): prints its figures.
scale-test: $(STAMP) postgres
	$(BIN)/python -m pytest -q -s tests/scale

# The full fault matrix (tests/reliability; make test runs its quick profile), its figures
# written to docs/RELIABILITY.md even when a cell fails, then the long profiles of the
# property tests (make test runs a few examples of each).
RELIABILITY_OUT := test-output/reliability.jsonl
reliability: $(STAMP)
	mkdir -p test-output && rm -f $(RELIABILITY_OUT)
	LEADS_RELIABILITY=full LEADS_RELIABILITY_OUT=$(CURDIR)/$(RELIABILITY_OUT) \
	  $(BIN)/python -m pytest -q -n $(TEST_WORKERS) tests/reliability; status=$$?; \
	  $(BIN)/python tests/reliability/report.py $(RELIABILITY_OUT) docs/RELIABILITY.md || status=1; \
	  exit $$status
	LEADS_HYPOTHESIS_PROFILE=long $(BIN)/python -m pytest -q tests/pipelines/test_guard_properties.py

bench: $(STAMP) postgres
	$(BIN)/python benchmarks/bench_sandbox.py
	$(BIN)/python benchmarks/bench_pipeline.py
	$(BIN)/python benchmarks/bench_nightly.py
	$(BIN)/python benchmarks/bench_shared_budget.py
	$(BIN)/python benchmarks/bench_journal.py
	$(BIN)/python benchmarks/bench_end_to_end.py
	$(BIN)/python benchmarks/bench_end_to_end.py --scale 1 --leads 20000 --skip-off
	$(BIN)/python benchmarks/bench_memory.py

# The product on one box against the sandbox: Prefect server and UI, sandbox, work pool,
# block type, served deployments (re-runnable); `down` stops what `up` started.
up: $(STAMP)
	$(BIN)/python -m deployments.up

down:
	$(BIN)/python -m deployments.up down

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
