# Entry points. `make dev` starts the whole product locally; `make test` runs every suite.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PORT ?= 8000
export JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION := 1

.PHONY: install node web-assets chromium dev test test-fast lint format bench lighthouse synth deploy diff load openapi smoke fuzz clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $@

node: node_modules/.installed

node_modules/.installed: package.json package-lock.json
	npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
	touch $@

# The pages rendered from their Jinja2 templates (web/, local/pages/) into build/site and
# build/local-pages, with only the DSFR files they use (the npm package is 136 MB). CloudFront
# deploys build/site; the local stack serves it.
web-assets: install node
	$(PY) -m local.web_assets

# Debian's Chromium for the browser tests (Playwright's own browser download does not work here).
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; }

dev: install web-assets
	$(PY) -m local --port $(PORT)

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy functions local tools infra

format: install
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

openapi: install
	$(PY) -m tools.openapi --write

test: install web-assets chromium lint
	$(PY) -m pytest

# Schemathesis against the local stack for longer than the 60 s of `make test` (FUZZ_SECONDS=…).
fuzz: install web-assets
	FUZZ_SECONDS=$${FUZZ_SECONDS:-900} $(PY) -m pytest tests/contract -q

test-fast: install
	$(PY) -m pytest -m "not e2e and not infra"

bench: install
	$(PY) -m tools.bench

# Lighthouse (mobile, simulated slow 4G) on the elector pages served by the local stack.
lighthouse: install node web-assets chromium
	$(PY) -m tools.lighthouse_bench

synth: install node web-assets
	cd infra && ../$(PY) app.py --all-stages

# The CDK CLI pinned in package.json (npx would ask to download another one).
# `make diff STAGE=recette`, `make deploy STAGE=prod`; CDK_ARGS="-c rehearsal=1" adds the rehearsal stack.
STAGE ?= dev
CDK := $(CURDIR)/node_modules/.bin/cdk
CDK_ARGS ?=

diff: install node web-assets
	cd infra && $(CDK) diff --all -c stage=$(STAGE) $(CDK_ARGS)

deploy: install node web-assets
	cd infra && $(CDK) deploy --all -c stage=$(STAGE) --require-approval broadening $(CDK_ARGS)

load: install
	$(PY) -m tools.load.run

# Post-deploy check of a stage: `make smoke URL=https://… [SMOKE_ARGS="--session … --api-origin …"]`
# (tests/integration/test_smoke.py runs the same checks against the local stack).
smoke: install
	@test -n "$(URL)" || { echo "usage: make smoke URL=https://<stage host> [SMOKE_ARGS=...]"; exit 2; }
	$(PY) -m tools.smoke $(URL) $(SMOKE_ARGS)

clean:
	rm -rf build infra/cdk.out .pytest_cache .mypy_cache .ruff_cache
