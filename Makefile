# dondoc — two commands on a fresh machine: `make demo` and `make test`.
# Everything lives in .venv (generic package names like models/ and tasks/ must not leak into a
# shared interpreter) and under .dondoc/ (the embedded SQLite database and Prefect's home).

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
export DONDOC_HOME ?= $(CURDIR)/.dondoc
export PREFECT_HOME ?= $(DONDOC_HOME)/prefect
# The embedded Prefect server migrates a fresh home before it answers; on a busy 2-core machine
# that takes longer than Prefect's 20 s default, and the demo starts from a fresh home each time.
export PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS ?= 180

# `make ui PORT=4210` serves the UI elsewhere; the UI is told its own API address, and artifacts link there.
HOST ?= 127.0.0.1
PORT ?= 4200
export PREFECT_UI_URL ?= http://$(HOST):$(PORT)

SAMPLE_NUMBER := TẠM-20220909/TB-TU
SCENARIO := config/scenarios/ocop-2022.yaml
# The demo replays on a database and a Prefect home of its own, recreated each run, so it never touches
# real data and a second `make demo` does not double every run and artifact.
DEMO_HOME := $(DONDOC_HOME)/demo
# The demo signs its reminders' links like a real office, with a key generated for each run (never
# committed, never reused) and the address `dondoc serve` gives the intake (port 7700), so its e-mails show the link.
DEMO_SECRET_FILE := $(DEMO_HOME)/intake-secret
DEMO_PUBLIC_URL ?= http://127.0.0.1:7700
DEMO_ENV := DONDOC_HOME=$(DEMO_HOME) PREFECT_HOME=$(DEMO_HOME)/prefect \
	DONDOC_INTAKE_SECRET=$$(cat $(DEMO_SECRET_FILE)) DONDOC_PUBLIC_URL=$(DEMO_PUBLIC_URL)

.PHONY: install demo ui lint test test-fast clean

# Reinstall only when the dependency list changes: a second `make` is fast.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	mkdir -p $(PREFECT_HOME)
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	rm -rf $(DEMO_HOME)
	mkdir -p $(DEMO_HOME)/prefect
	(umask 077 && $(BIN)/python -c 'import secrets; print(secrets.token_urlsafe(32))' > $(DEMO_SECRET_FILE))
	$(DEMO_ENV) $(BIN)/dondoc db upgrade
	$(DEMO_ENV) $(BIN)/dondoc replay $(SCENARIO)
	$(DEMO_ENV) $(BIN)/dondoc show '$(SAMPLE_NUMBER)'
	@echo "Thư đã gửi (tệp .eml): $(DEMO_HOME)/mailbox/  ·  Xem các lượt chạy: make ui (http://$(HOST):$(PORT))"
	$(DEMO_ENV) $(BIN)/dondoc report --notice '$(SAMPLE_NUMBER)' --period 2022-Q3 --period 2022-Q4 --period 2023-Q1 --on-send-date --out out

# The Prefect UI on the demo's Prefect home: http://127.0.0.1:4200 (or `make ui PORT=4210`).
ui: $(STAMP)
	mkdir -p $(DEMO_HOME)/prefect
	PREFECT_HOME=$(DEMO_HOME)/prefect $(BIN)/dondoc prefect-server --host $(HOST) --port $(PORT)

# Lint, format, types and the layer contracts (pyproject.toml [tool.importlinter]); `make test` runs it first.
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

# The pure and quick tests only (seconds): everything not marked slow.
test-fast: $(STAMP)
	$(BIN)/python -m pytest -m "not slow" $(PYTEST_ARGS)

# pytest exits 5 when it collected no tests; a suite that ran nothing has tested nothing.
test: lint
	@$(BIN)/python -m pytest $(PYTEST_ARGS); status=$$?; \
	if [ $$status -eq 5 ]; then echo "make test: pytest collected no tests; failing on purpose" >&2; fi; \
	exit $$status

clean:
	rm -rf $(VENV) .dondoc .pytest_cache *.egg-info
