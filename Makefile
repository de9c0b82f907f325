# E-Paiement pour un tiers: every developer and CI command. `make run` and `make test` do their own set-up.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
SAM_VENV := .venv-sam
BIN := $(VENV)/bin
SAM := $(SAM_VENV)/bin/sam
PORT ?= 8080
export SAM_CLI_TELEMETRY := 0
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: install run test test-fast lint format sam-validate sam-build openapi bench fuzz clean

$(BIN)/epay: requirements-dev.txt layers/common/requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $@

$(SAM): requirements-tools.txt
	$(PYTHON) -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements-tools.txt
	touch $@

install: $(BIN)/epay $(SAM) ## Python venvs with pinned dependencies, the SAM CLI, the `epay` command

run: install ## the local stack on an embedded DynamoDB with demo data
	$(BIN)/epay serve --demo --port $(PORT)

test: install sam-validate sam-build ## every test (unit, integration, end to end, infrastructure)
	$(BIN)/pytest

test-fast: $(BIN)/epay ## unit and integration tests only
	$(BIN)/pytest tests/unit tests/integration -q

lint: $(BIN)/epay ## ruff (format + lint) and mypy
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/mypy layers/common/epay local/epay_local functions

format: $(BIN)/epay
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

sam-validate: $(SAM)
	$(SAM) validate --lint

sam-build: $(SAM)
	$(SAM) build --build-dir .aws-sam/build

openapi: $(BIN)/epay ## regenerate layers/common/epay/openapi.json from the routes' models
	$(BIN)/epay openapi --write

clean:
	rm -rf $(VENV) $(SAM_VENV) .aws-sam .pytest_cache .mypy_cache .ruff_cache
