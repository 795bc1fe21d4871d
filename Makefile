# dondoc — two commands on a fresh machine: `make demo` and `make test`.
# Everything lives in .venv (generic package names like models/ and tasks/ must not leak into a
# shared interpreter) and under .dondoc/ (the embedded SQLite database and Prefect's home).

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
export DONDOC_HOME ?= $(CURDIR)/.dondoc
export PREFECT_HOME ?= $(DONDOC_HOME)/prefect

SAMPLE_NOTICE := config/notices/tb-tu-2022-09-09-ocop.yaml
SAMPLE_NUMBER := TẠM-20220909/TB-TU

.PHONY: install demo test clean

# Reinstall only when the dependency list changes: a second `make` is fast.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/dondoc db upgrade
	$(BIN)/dondoc import $(SAMPLE_NOTICE)
	$(BIN)/dondoc show '$(SAMPLE_NUMBER)'

# pytest exits 5 when it collected no tests; a suite that ran nothing has tested nothing.
test: $(STAMP)
	@$(BIN)/python -m pytest $(PYTEST_ARGS); status=$$?; \
	if [ $$status -eq 5 ]; then echo "make test: pytest collected no tests; failing on purpose" >&2; fi; \
	exit $$status

clean:
	rm -rf $(VENV) .dondoc .pytest_cache *.egg-info
