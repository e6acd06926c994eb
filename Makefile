# Hard Cost Sync — one target per habit. Everything runs from a fresh clone:
# `make demo` and `make test` create the virtual environments they need.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON312 ?= $(shell PYENV_VERSION=3.12.1 pyenv which python3.12 2>/dev/null || command -v python3.12)
VENV := .venv
PY := $(VENV)/bin/python
SAM_VENV := .venv-sam
SAM := $(SAM_VENV)/bin/sam
CLIENTS_VENV := .venv-clients
export SAM_CLI_TELEMETRY := 0
export PYTHONDONTWRITEBYTECODE := 1

SCENARIO ?=
SOAK_EXAMPLES ?= 2000


.PHONY: openapi
.PHONY: help venv sam-venv clients-venv demo demo-up sam-local-setup sam-local sam-local-stop test-sam-local test-browser browser-deps events test test-unit test-integration test-scenarios scenario lint format typecheck architecture check validate build clean soak chaos

help: ## list the targets
	@grep -hE '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  %-18s %s\n", $$1, $$2}'

$(VENV)/.installed: requirements-dev.txt layers/shared/requirements.txt
	@test -n "$(PYTHON312)" || { echo "python3.12 not found (pyenv 3.12.1 or python3.12 on PATH)" >&2; exit 1; }
	@test -x $(PY) || $(PYTHON312) -m venv $(VENV)
	@$(PY) -m pip install -q --disable-pip-version-check -r requirements-dev.txt
	@# The shared layer and the repo root on the venv's path, as /opt/python is in Lambda.
	@printf '%s\n%s\n' "$(CURDIR)/layers/shared" "$(CURDIR)" > "$$($(PY) -c 'import sysconfig; print(sysconfig.get_path("purelib"))')/hard-cost-sync.pth"
	@touch $@

venv: $(VENV)/.installed ## create the dev virtual environment (.venv)

$(SAM_VENV)/.installed:
	@test -x $(SAM_VENV)/bin/python || $(PYTHON312) -m venv $(SAM_VENV)
	@$(SAM_VENV)/bin/python -m pip install -q --disable-pip-version-check aws-sam-cli==1.170.0
	@touch $@

sam-venv: $(SAM_VENV)/.installed ## create the SAM CLI virtual environment (.venv-sam; it pins boto3 and pydantic)

# The QBO client libraries firms' developers use (python-quickbooks, intuit-oauth), kept out of the service's venv;
# tests/integration/test_real_qbo_clients.py runs them unchanged against the QBO simulator with this interpreter.
$(CLIENTS_VENV)/.installed: requirements-clients.txt
	@test -n "$(PYTHON312)" || { echo "python3.12 not found (pyenv 3.12.1 or python3.12 on PATH)" >&2; exit 1; }
	@test -x $(CLIENTS_VENV)/bin/python || $(PYTHON312) -m venv $(CLIENTS_VENV)
	@$(CLIENTS_VENV)/bin/python -m pip install -q --disable-pip-version-check -r requirements-clients.txt
	@touch $@

clients-venv: $(CLIENTS_VENV)/.installed ## create the QBO client libraries' virtual environment (.venv-clients)

demo: venv ## seed a demo firm on the local stack, run a sync, print the summary
	@$(PY) -m devstack.demo

demo-up: venv ## the demo firm on a long-running local stack; prints the admin page URL; Ctrl-C stops it
	@$(PY) -m devstack.demo.up

# sam local invoke in a Lambda-like x86_64 container (devstack/samlocal; README "sam local invoke").
FN ?=
EVENT ?=
sam-local-setup: ## docker.io, dockerd (pid and log in .samlocal/), the iptables rule, the local image; root, no pulls
	@bash devstack/samlocal/setup.sh

sam-local: venv sam-venv ## one function in its container against a running `make demo-up`: make sam-local FN=... EVENT=...
	@test -n "$(FN)" -a -n "$(EVENT)" || { echo "usage: make sam-local FN=PollerFunction EVENT=events/poller/scheduled.json" >&2; exit 2; }
	@PYTHON312="$(PYTHON312)" $(PY) -m devstack.samlocal.invoke "$(FN)" "$(EVENT)"

sam-local-stop: venv ## stop the dockerd sam-local-setup started (by its pid; one it found running is left alone)
	@$(PY) -m devstack.samlocal.processes stop-dockerd

test-sam-local: venv sam-venv ## set up, start the idle demo stack, invoke every function in its container, stop all
	@PYTHON312="$(PYTHON312)" $(PY) -m devstack.samlocal.check

# Debian's chromium and chromium-driver (never a browser download), and selenium pinned in the venv.
$(VENV)/.browser-installed: requirements-browser.txt | $(VENV)/.installed
	@if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null; \
	fi
	@$(PY) -m pip install -q --disable-pip-version-check -r requirements-browser.txt
	@touch $@

browser-deps: $(VENV)/.browser-installed

test-browser: venv browser-deps ## the admin page in headless Chromium against the local stack (screenshots in /tmp)
	@$(PY) -m pytest -q tests/browser/test_admin_page.py

scenario: venv ## run one scenario file: make -s scenario SCENARIO=path/to/file.json
	@test -n "$(SCENARIO)" || { echo "usage: make -s scenario SCENARIO=path/to/file.json" >&2; exit 2; }
	@$(PY) -m devstack.scenario "$(SCENARIO)"

# pytest-xdist: one worker per core (each test starts its own servers on ephemeral ports and its own moto).
test: venv clients-venv ## run every test (unit, integration, scenarios)
	@$(PY) -m pytest -q -n auto

test-unit: venv
	@$(PY) -m pytest -q tests/unit

test-integration: venv clients-venv
	@$(PY) -m pytest -q tests/integration

test-scenarios: venv
	@$(PY) -m pytest -q tests/scenarios

lint: venv ## ruff lint and format check
	@$(VENV)/bin/ruff check .
	@$(VENV)/bin/ruff format --check .

format: venv ## ruff format and autofix
	@$(VENV)/bin/ruff format .
	@$(VENV)/bin/ruff check --fix .

typecheck: venv ## mypy on the shared package and the functions
	@$(VENV)/bin/mypy layers/shared/hardcost functions devstack

architecture: venv ## the import contracts in pyproject.toml (README "The parts and the arrows")
	@$(VENV)/bin/lint-imports --no-cache

validate: venv sam-venv ## sam validate --lint and cfn-lint on template.yaml
	@$(SAM) validate --lint --region us-east-1
	@$(VENV)/bin/cfn-lint template.yaml

# SAM's python3.12 workflow looks for a real python3.12 on PATH (pyenv shims do not count),
# so the interpreter's own directory goes first. Flags (cached, parallel) live in samconfig.toml;
# the full log is kept in .aws-sam/build.log and shown only on failure.
build: sam-venv ## sam build into .aws-sam/ (cached)
	@test -n "$(PYTHON312)" || { echo "python3.12 not found (pyenv 3.12.1 or python3.12 on PATH)" >&2; exit 1; }
	@mkdir -p .aws-sam
	@PATH="$(dir $(PYTHON312)):$$PATH" $(SAM) build > .aws-sam/build.log 2>&1 \
		|| { cat .aws-sam/build.log >&2; echo "sam build failed" >&2; exit 1; }
	@echo "sam build: ok (.aws-sam/build)"

check: lint typecheck architecture validate build ## every static check: lint, typecheck, template validation, sam build

clean: ## remove virtual environments and build output
	rm -rf $(VENV) $(SAM_VENV) $(CLIENTS_VENV) .aws-sam .mypy_cache .ruff_cache

openapi: venv ## write docs/openapi.json from the admin API (a test fails when it is stale)
	@$(PY) -m devstack.openapi

events: venv ## regenerate events/ from the builders the local stack uses
	@$(PY) -m devstack.events

soak: venv ## the model-based test at length: SOAK_EXAMPLES (2000) new firms; a summary line, then its JSON
	@POWERTOOLS_METRICS_DISABLED=true $(PY) -m tests.model.soak --examples $(SOAK_EXAMPLES)

chaos: venv ## faults on both simulators; prints one JSON line (duplicates and lost must be 0)
	@$(PY) -m devstack.bench.chaos

# Benchmarks (docs/performance.md, docs/scaling.md): tables, then one JSON object as the last line of stdout.
.PHONY: bench bench-webhook bench-tenants bench-month
bench: venv ## 10,000-purchase import + 100-change incremental sync, rate-limited run, import times (< 10 min)
	@$(PY) -m devstack.bench

bench-webhook: venv ## webhook acknowledgement time (1,000 signed requests) and qbo_delete -> recovery bin time
	@$(PY) -m devstack.bench.webhook

bench-tenants: venv ## scheduler ticks with 1,000 small tenants: fan-out vs loop, per-tenant independence
	@$(PY) -m devstack.bench.tenants

bench-month: venv ## a simulated month of 50 firms: QBO's metered reads, today's policy beside issue 14's (~9 min)
	@$(PY) -m devstack.bench.month
