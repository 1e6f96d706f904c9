# The two commands that matter: `make demo` and `make test`. Each creates .venv on first use.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
# The tested Airflow versions, pinned in this one place: the newest 3.x, and the floor (2.11).
AIRFLOW_VERSION ?= 3.3.2
AIRFLOW_FLOOR_VERSION ?= 2.11.2
STAMP := $(VENV)/.installed-$(AIRFLOW_VERSION)
FLOOR_VENV := .venv-airflow2
FLOOR_STAMP := $(FLOOR_VENV)/.installed-$(AIRFLOW_FLOOR_VERSION)
# Every suite but tests/e2e (which starts Airflow 3's api-server, dag-processor and triggerer) runs on both,
# on two workers, a test file each at a time: most tests wait on emulated generations, not on the CPU.
SUITES := tests --ignore=tests/e2e
PARALLEL := -n 2 --dist loadfile

.PHONY: venv demo ui test lint typecheck unit e2e floor distributed e2e-deps bench clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check uv
	$(BIN)/uv pip install --quiet --python $(BIN)/python -e ".[test]" "apache-airflow==$(AIRFLOW_VERSION)"
	touch $(STAMP)

$(FLOOR_STAMP): pyproject.toml
	test -x $(FLOOR_VENV)/bin/python || $(PYTHON) -m venv $(FLOOR_VENV)
	$(FLOOR_VENV)/bin/python -m pip install --quiet --disable-pip-version-check uv
	$(FLOOR_VENV)/bin/uv pip install --quiet --python $(FLOOR_VENV)/bin/python -e ".[test]" \
		"apache-airflow==$(AIRFLOW_FLOOR_VERSION)"
	touch $(FLOOR_STAMP)

demo: venv
	$(BIN)/python scripts/demo.py

# Optional: a local Airflow UI (airflow standalone) with the example DAGs, the Kling gallery and a few
# finished generations against the emulator; prints the URL and the login. Ctrl-C stops it.
ui: venv
	$(BIN)/python scripts/ui.py

lint: venv
	$(BIN)/ruff check airflow_provider_kling tests example_dags scripts benchmarks
	$(BIN)/ruff format --check airflow_provider_kling tests example_dags scripts benchmarks

typecheck: venv
	$(BIN)/mypy

unit: venv e2e-deps
	$(BIN)/python -m pytest -q $(PARALLEL) $(SUITES)

# A real Airflow 3 deployment (LocalExecutor, SQLite) against the emulator, and the browser tests.
e2e: venv e2e-deps
	$(BIN)/python -m pytest -q --durations=12 tests/e2e -m "not distributed"

# The production-topology suite (CeleryExecutor, PostgreSQL, Redis, two triggerers, two Celery workers;
# installs postgresql and redis-server as root, skipped elsewhere). docs/production.md.
distributed: venv
	$(BIN)/python -m pytest -q --durations=6 tests/e2e/distributed

# tests/e2e opens the Airflow UI in Debian's headless Chromium (driven by Playwright; no browser download).
# Installed once, as root through apt; elsewhere the browser tests (connection form, gallery) are skipped.
e2e-deps:
	@if [ -x /usr/bin/chromium ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "Installing Debian's chromium for tests/e2e ..."; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null \
			|| echo "warning: could not install chromium; the e2e browser tests will be skipped"; \
	else echo "note: no /usr/bin/chromium (apt-get install chromium as root); the e2e browser tests will be skipped"; fi

# The same provider code on the oldest supported Airflow.
floor: $(FLOOR_STAMP)
	$(FLOOR_VENV)/bin/python -m pytest -q $(PARALLEL) $(SUITES)

# The four suites run two at a time: most of their time is spent waiting (on emulated generations, on Airflow's
# processes), not computing, so each pair shares the two cores of a small CI machine. Each suite's output is
# printed whole when it ends.
test: lint typecheck
	$(MAKE) --no-print-directory -j2 --output-sync=target unit distributed
	$(MAKE) --no-print-directory -j2 --output-sync=target e2e floor

# Performance benchmarks (not part of `make test`; about 9 minutes on 2 cores). Results: benchmarks/README.md.
# KLING_BENCH_QUICK=1 make bench runs smaller sizes and fewer repeats (about 4 minutes).
bench: venv
	$(BIN)/python benchmarks/requests_per_task.py
	$(BIN)/python benchmarks/dag_parse.py
	$(BIN)/python benchmarks/download.py
	$(BIN)/python benchmarks/triggerer_scale.py

clean:
	rm -rf $(VENV) $(FLOOR_VENV) .pytest_cache .mypy_cache .ruff_cache
