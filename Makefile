# Two commands do all the set-up: `make demo` runs the whole system locally, `make test` tests it.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DEBS := nats-server prometheus prometheus-alertmanager
BROWSER_DEBS := chromium chromium-driver
STAMP := $(VENV)/.installed

.PHONY: demo test lint typecheck proto readme asyncapi system-deps clean

demo: $(STAMP) system-deps
	$(BIN)/chatops up

test: $(STAMP) system-deps lint typecheck
	$(BIN)/pytest -q --durations=10

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

# Installs the Debian packages the real servers come from, when any is missing.
system-deps:
	@missing=""; \
	for b in nats-server prometheus prometheus-alertmanager; do command -v $$b >/dev/null || missing=1; done; \
	pkgs="$(DEBS)"; \
	if [ "$(MAKECMDGOALS)" = "test" ] || [ -z "$(MAKECMDGOALS)" ]; then \
	  command -v chromium >/dev/null || missing=1; pkgs="$$pkgs $(BROWSER_DEBS)"; \
	fi; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$pkgs; \
	  else \
	    echo "missing system packages; run: sudo apt-get install -y $$pkgs"; exit 1; \
	  fi; \
	fi

proto: $(STAMP)
	$(BIN)/python -m grpc_tools.protoc -I proto --python_out=. --pyi_out=. --grpc_python_out=. \
		proto/chatops/v1/*.proto proto/petstore/v1/*.proto

# The README's command list and asyncapi.yaml are generated; tests fail when they are stale.
readme: $(STAMP)
	$(BIN)/python -m chatops.launcher.readme

asyncapi: $(STAMP)
	$(BIN)/python -m chatops.launcher.asyncapi

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .chatops
