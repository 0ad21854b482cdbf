# The two commands: `make run` and `make test`.  Everything else supports them.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test test-browser setup services services-down browser lint security format bench bench-history bench-load seed scale-out scale-out-down bench-faults

run: $(VENV)/.runtime setup  ## Start services, migrate, and run web + consumers (Ctrl-C stops all)
	@scripts/run.sh

test: $(VENV)/.dev services browser  ## Start services and run the whole test suite
	$(BIN)/pytest $(PYTEST_ARGS)

test-browser: $(VENV)/.dev services browser  ## Only the browser tests (screenshots: var/test-artifacts/e2e/)
	$(BIN)/pytest tests/e2e $(PYTEST_ARGS)

lint: $(VENV)/.dev  ## ruff (lint and format) and mypy
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy .

security: $(VENV)/.dev  ## bandit on our code, pip-audit on the installed packages (docs/security.md)
	$(BIN)/bandit -q -c pyproject.toml -r .
	$(BIN)/python scripts/audit_dependencies.py

format: $(VENV)/.dev
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

setup: services
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py ensure_kafka_topics
	$(BIN)/python manage.py seed_demo

services:  ## Start PostgreSQL, Redis and Kafka where nothing answers at their addresses
	@scripts/services.sh up

browser:  ## Debian's chromium, driven by Playwright in the browser tests
	@command -v chromium >/dev/null || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else echo "The browser tests need Debian's chromium: sudo apt-get install chromium"; exit 1; fi; }

services-down:  ## Stop the services this project started
	@scripts/services.sh down

scale-out: $(VENV)/.runtime services  ## Three brokers, two web and two consumer processes (docs/operations.md)
	@scripts/scale-out.sh up

scale-out-down:  ## Stop what `make scale-out` started
	@scripts/scale-out.sh down

bench: $(VENV)/.dev services  ## Measure send→ack→receive latency through daphne, Kafka and the consumers
	$(BIN)/python benchmarks/message_latency.py

bench-faults: $(VENV)/.dev  ## The fault matrix on a stack of its own (docs/fault-matrix.md); FAULT_ARGS="--messages 10000"
	$(BIN)/python bench/fault_matrix.py $(FAULT_ARGS)

bench-history: $(VENV)/.dev services  ## Seed 1M- and 10M-message databases; time history pages and search
	$(BIN)/python benchmarks/history_and_search.py $(BENCH_ARGS)

bench-load: $(VENV)/.dev services  ## Many WebSocket clients at fixed rates vs a broadcast baseline (docs/load-benchmark.md)
	$(BIN)/python bench/load.py $(BENCH_ARGS)

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.runtime: requirements.txt | $(VENV)/bin/python
	$(BIN)/pip install --quiet -r requirements.txt
	@touch $@

$(VENV)/.dev: requirements.txt requirements-dev.txt | $(VENV)/bin/python
	$(BIN)/pip install --quiet -r requirements-dev.txt
	@touch $@ $(VENV)/.runtime
