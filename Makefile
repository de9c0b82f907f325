# E-Paiement pour un tiers: every developer and CI command. `make run` and `make test` do their own set-up.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
SAM_VENV := .venv-sam
CHECKOV_VENV := .venv-checkov
BIN := $(VENV)/bin
SAM := $(SAM_VENV)/bin/sam
CHECKOV := $(CHECKOV_VENV)/bin/checkov
PORT ?= 8080
export SAM_CLI_TELEMETRY := 0
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: install browser node run test test-fast test-browser test-web lint checkov format sam-validate sam-build deploy deploy-edge publish-page openapi bench fuzz load clean

$(BIN)/epay: requirements-dev.txt layers/common/requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $@

$(SAM): requirements-tools.txt
	$(PYTHON) -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements-tools.txt
	touch $@

# checkov has its own virtualenv too: its many pinned dependencies (boto3, pydantic, networkx...) are not the app's.
$(CHECKOV): requirements-checkov.txt
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements-checkov.txt
	touch $@

install: $(BIN)/epay $(SAM) ## Python venvs with pinned dependencies, the SAM CLI, the `epay` command

# The browser tests drive Debian's Chromium (never a browser that Playwright downloads); Noto has the Arabic glyphs.
BROWSER_PACKAGES := chromium fonts-noto-core fonts-dejavu-core
browser: ## Debian's Chromium and the fonts the page needs, installed with apt-get when missing
	@dpkg -s $(BROWSER_PACKAGES) >/dev/null 2>&1 || (apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $(BROWSER_PACKAGES))

# The page's pure modules are unit-tested with `node --test`: Debian's nodejs, installed with apt-get when no node runs.
node: ## Debian's nodejs (for `node --test`), installed with apt-get when `node` is missing
	@command -v node >/dev/null 2>&1 || (apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends nodejs)

run: install ## the local stack on an embedded DynamoDB with demo data
	$(BIN)/epay serve --demo --port $(PORT)

test: install browser node sam-validate sam-build ## every test (unit, integration, end to end, infrastructure)
	$(BIN)/pytest

test-browser: $(BIN)/epay browser ## the real-browser tests only (Playwright driving Debian's Chromium)
	$(BIN)/pytest tests/browser -q

test-web: node ## the page's modules only: node's test runner over tests/web/*.test.mjs (no Python needed)
	node --test tests/web/*.test.mjs

test-fast: $(BIN)/epay ## unit and integration tests only
	$(BIN)/pytest tests/unit tests/integration -q

lint: $(BIN)/epay checkov ## ruff (format + lint), mypy, and checkov over every template
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/mypy layers/common/epay local/epay_local functions

# Every CloudFormation/SAM template in the repository: the tracked YAML/JSON files that declare a format version.
TEMPLATES = $(shell git ls-files -- '*.yaml' '*.yml' '*.json' '*.template' | xargs -r grep -l 'AWSTemplateFormatVersion')

# Fails on any check that neither passes nor is skipped in the template with a written reason (issue 16; the skips are
# reviewed in docs/operations.md, "Checkov skips"). Offline: nothing downloaded (no Prisma Cloud mappings or guidelines),
# no version check against PyPI, no upload; a template checkov cannot parse fails too.
checkov: $(CHECKOV) ## checkov (pinned, own venv) over every template
	@test -n "$(TEMPLATES)" || { echo "checkov: no template found (git ls-files)"; exit 1; }
	CKV_SKIP_PACKAGE_UPDATE_CHECK=true CKV_PARSE_ERROR_FAIL=true $(CHECKOV) --framework cloudformation \
		--skip-download --skip-results-upload --quiet --compact $(addprefix --file ,$(TEMPLATES))

format: $(BIN)/epay
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# template.yaml (the stage's stack) and edge.yaml (its us-east-1 stack: the WAF web ACL, the edge alarms).
sam-validate: $(SAM)
	$(SAM) validate --lint
	$(SAM) validate --lint --template edge.yaml --region us-east-1

# The layer ships compiled bytecode: without it every cold start compiles pydantic, Powertools and epay (about
# 0.35 s of CPU, docs/performance.md). unchecked-hash: a zip's timestamps never match the sources'.
sam-build: $(SAM)
	$(SAM) build --build-dir .aws-sam/build
	$(PYTHON) -m compileall -q --invalidation-mode unchecked-hash .aws-sam/build/CommonLayer/python

# Deploying (docs/operations.md, "Deploying the page"): never run by the tests, they have no AWS. CONFIG_ENV names the
# samconfig.toml environment ([default], [prod], ...: stack, Region, parameters); the edge stack's is <CONFIG_ENV>-edge
# ([default-edge]: us-east-1). Order: deploy-edge once, then deploy; after the first deploy, deploy-edge again with
# DistributionId (its alarms).
CONFIG_ENV ?= default

deploy-edge: $(SAM) ## the us-east-1 edge stack (WAF web ACL, edge alarms): edge.yaml
	$(SAM) deploy --template-file edge.yaml --config-env $(CONFIG_ENV)-edge

deploy: sam-build $(BIN)/epay ## sam deploy of template.yaml, then the page published (web/ as a release, index.html invalidated)
	$(SAM) deploy --template-file .aws-sam/build/template.yaml --config-env $(CONFIG_ENV)
	$(BIN)/epay publish-page --config-env $(CONFIG_ENV)

publish-page: $(BIN)/epay ## the page alone, to the deployed stage (web/ changed, the stack did not)
	$(BIN)/epay publish-page --config-env $(CONFIG_ENV)

bench: $(BIN)/epay $(SAM) ## cold start, DynamoDB work per call, scale, overhead, package size: writes docs/performance.md
	$(BIN)/python -m benchmarks.run

openapi: $(BIN)/epay ## regenerate layers/common/epay/openapi.json from the routes' models, web/js/contract.js from it, web/js/errors.js from the error catalogue
	$(BIN)/epay openapi --write

fuzz: $(BIN)/epay ## the long campaigns: contract fuzzing (Schemathesis, 1000 examples per operation), recovery's state machine (300 examples)
	EPAY_FUZZ_EXAMPLES=1000 $(BIN)/pytest tests/contract -q
	EPAY_RECOVERY_MACHINE_EXAMPLES=300 $(BIN)/pytest tests/properties/test_recovery_state_machine.py -q

load: $(BIN)/epay ## a 60 s Locust load run against the local stack (figures in docs/reliability.md)
	$(BIN)/python -m tests.load.run --seconds 60 --users 20

clean:
	rm -rf $(VENV) $(SAM_VENV) $(CHECKOV_VENV) .aws-sam .pytest_cache .mypy_cache .ruff_cache
