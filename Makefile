# wahaweb: `make run` serves the app on http://localhost:3000, `make test` runs the whole suite.
# Both set up everything a fresh machine needs: .venv, requirements, bun, migrations, chromium.
SHELL := /bin/bash
.DEFAULT_GOAL := run

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
TOOLS  := .tools
BUN_VERSION := 1.4.5
PORT ?= 3000

# Reflex cannot download bun here: we install it from npm into .tools and tell Reflex to use it.
export PATH := $(CURDIR)/$(TOOLS)/node_modules/.bin:$(CURDIR)/$(BIN):$(PATH)
export REFLEX_USE_SYSTEM_BUN := 1
export REFLEX_TELEMETRY_ENABLED := false

# One id per `make test` (kept when set): the run's PostgreSQL schemas, Redis keys and app logs
# (test-artifacts/app-server-<id>.log) carry it, so another `make test` can run beside this one.
ifeq ($(origin WAHAWEB_TEST_RUN_ID),undefined)
WAHAWEB_TEST_RUN_ID := $(shell od -An -N4 -tx1 /dev/urandom | tr -d ' \n')
endif
export WAHAWEB_TEST_RUN_ID

.PHONY: run test lint test-unit test-browser setup bun chromium migrate simulator bench bench-smoke bench-scale clean check-clean

$(BIN)/.installed: requirements.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.txt
	@touch $@

# Use a bun already on PATH if it runs; otherwise install the pinned one from npm.
bun:
	@bun --version >/dev/null 2>&1 || { mkdir -p $(TOOLS) && cd $(TOOLS) && \
	  npm install --no-audit --no-fund --silent bun@$(BUN_VERSION) && ./node_modules/.bin/bun --version >/dev/null; }

setup: $(BIN)/.installed bun

migrate: setup
	$(BIN)/python -m wahaweb.core.migrate

run: setup migrate
	GRANIAN_WORKERS=$${WAHAWEB_WORKERS:-1} $(BIN)/reflex run --env prod --single-port --frontend-port $(PORT) --backend-port $(PORT)

# A standalone WAHA simulator, for pointing wahaweb at it with WAHA_URL=http://127.0.0.1:3001.
simulator: setup
	$(BIN)/python -m wahaweb.simulator --host 127.0.0.1 --port 3001 --api-key $${WAHA_API_KEY:-sim-key}

chromium:
	@test -x /usr/bin/chromium || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

# The suite (with the `reflex run` it starts) must leave the work tree as it found it:
# `git status --porcelain` is taken before and compared after (empty on a fresh clone).
GIT_STATUS := git status --porcelain --untracked-files=all
STATUS_FILE := $(TOOLS)/git-status-$(WAHAWEB_TEST_RUN_ID)
test: setup chromium
	@mkdir -p $(TOOLS) && { $(GIT_STATUS) > $(STATUS_FILE)-before 2>/dev/null || rm -f $(STATUS_FILE)-before; }
	$(MAKE) --no-print-directory lint
	$(MAKE) --no-print-directory test-unit
	$(MAKE) --no-print-directory test-browser
	@$(MAKE) --no-print-directory check-clean

check-clean:
	@test -f $(STATUS_FILE)-before || exit 0; \
	  $(GIT_STATUS) > $(STATUS_FILE)-after; \
	  diff -u $(STATUS_FILE)-before $(STATUS_FILE)-after >/dev/null || { \
	    echo "The run changed the work tree (git status --porcelain, before -> after):"; \
	    diff $(STATUS_FILE)-before $(STATUS_FILE)-after; exit 1; }; \
	  rm -f $(STATUS_FILE)-before $(STATUS_FILE)-after

# Static checks, run first by `make test`: ruff (pyflakes, import order) and mypy (config in pyproject.toml).
lint: setup
	$(BIN)/ruff check .
	$(BIN)/mypy

test-unit: setup
	$(BIN)/pytest -m "not browser" --ignore=tests/browser

# Browser tests run in their own invocation: Playwright's sync API and pytest-asyncio share no loop.
test-browser: setup chromium
	$(BIN)/pytest tests/browser -p no:asyncio -m browser

bench: setup chromium
	$(BIN)/python -m benchmarks
	$(BIN)/python -m benchmarks.placement

# Issue 15: 10 simulated WAHA servers x 200 sessions, the status loop per tick, WAHA events, 200 users
# creating at once on PostgreSQL; writes its section of docs/benchmarks.md (between markers). Not in `make test`.
bench-scale: setup
	$(BIN)/python -m benchmarks.scale

clean:
	rm -rf .web .states reflex.lock $(TOOLS) $(VENV)
