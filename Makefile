# Two commands for users: `make serve` and `make test`. Everything else is what they need.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 3000
LAYER_VERSION := $(shell sed -n 's/^__version__ = "\(.*\)".*/\1/p' layers/streaming/python/lambda_streaming/__init__.py)

.PHONY: serve test lint docs format browser peers cdk compare bench layer wheel clean

## serve: install if needed, then serve all three functions locally (auth off) with real streaming
serve: $(INSTALLED)
	$(BIN)/python -m streamlab serve --template template.yaml --host $(HOST) --port $(PORT) --no-auth

## test: install if needed (Chromium for the browser test, Node's runtime client for the parity
## test, the AWS CDK for the CDK example), then lint, build the docs and run the whole suite
test: lint docs browser peers cdk
	$(BIN)/pytest

## lint: ruff (lint and format) everywhere, mypy --strict on the layer, mypy on streamlab
lint: $(INSTALLED)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy --strict layers/streaming/python/lambda_streaming
	$(BIN)/mypy streamlab

## docs: the documentation site (mkdocs.yml, docs/) into .site/; --strict fails on any warning,
## a broken link or anchor included (`.venv/bin/mkdocs serve` previews it on port 8000)
docs: $(INSTALLED)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

format: $(INSTALLED)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

compare: $(INSTALLED)
	$(BIN)/python -m streamlab compare

bench: $(INSTALLED)
	$(BIN)/python -m streamlab bench runtime

$(INSTALLED): pyproject.toml layers/streaming/pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ./layers/streaming -e '.[dev]'
	touch $@

## browser: Debian's Chromium for the Playwright test (Playwright cannot download browsers here)
browser:
	@command -v chromium >/dev/null 2>&1 || sh scripts/install-chromium.sh

## peers: AWS's Node.js runtime client, the reference our bytes are compared with (best effort)
peers:
	@sh scripts/install-node-ric.sh

## cdk: aws-cdk-lib (PyPI) and the cdk CLI (npm) into .bench/cdk, for the CDK example's test
cdk:
	@PYTHON=$(PYTHON) sh scripts/install-cdk.sh

## layer: dist/lambda-streaming-<version>-layer.zip, the /opt layout with .pyc for every CPython
## 3.11-3.14 found here (reproducible: same sources, same bytes)
layer:
	$(PYTHON) layers/streaming/build_layer.py --zip dist/lambda-streaming-$(LAYER_VERSION)-layer.zip

## wheel: dist/lambda_streaming-<version>-py3-none-any.whl (the build backend, hatchling)
wheel: $(INSTALLED)
	$(BIN)/python -m pip wheel --quiet --no-deps --wheel-dir dist ./layers/streaming

clean:
	rm -rf $(VENV) .aws-sam .pytest_cache .ruff_cache .bench .bench.log dist .site
