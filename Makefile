# The two commands the README promises: `make run` and `make test`. Both set up .venv first.
PYTHON ?= python3
VENV   := .venv
BIN    := $(abspath $(VENV))/bin
UV_VERSION := 0.13.9
# Stage commands in dvc.yaml call `python`: put the project's interpreter first on PATH.
export PATH := $(BIN):$(PATH)
# The page template `dvc plots show/diff` use (.dvc/config plots.html_template), with the Vega
# scripts inline so the charts draw offline: made from an installed package, not committed.
PLOTS_TEMPLATE := $(VENV)/share/imgflow/dvc_plots.html

.PHONY: setup run test lint format lock clean

# Bytecode is compiled at install: the environment may set PYTHONDONTWRITEBYTECODE, and without
# .pyc files every process recompiles its imports (great_expectations 12 s instead of 5 s).
$(VENV)/.installed: requirements.lock pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)
	$(BIN)/uv pip sync --quiet --compile-bytecode --python $(BIN)/python requirements.lock
	$(BIN)/uv pip install --quiet --python $(BIN)/python --no-deps --editable .
	@touch $@

$(PLOTS_TEMPLATE): $(VENV)/.installed imgflow/evaluation/offline_plots.py
	$(BIN)/python -m imgflow.evaluation.offline_plots $@

setup: $(VENV)/.installed $(PLOTS_TEMPLATE)

run: setup
	imgflow run

# Two workers, each taking whole test files (their module fixtures build a project once): much
# of the suite waits on subprocesses, servers and DVC, so a second one fills the idle core.
test: setup
	python -m pytest -n 2 --dist loadfile

lint: setup
	ruff check .
	ruff format --check .

format: setup
	ruff format .
	ruff check --fix .

# Recompile the exact versions after editing requirements.in.
lock: setup
	uv pip compile --quiet --python-version 3.11 requirements.in -o requirements.lock

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
