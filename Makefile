# Quick start: `make run` (service with demo data on SQLite), `make test` (whole suite).
VENV ?= .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test lint bench clean

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e ".[dev]"
	touch $@

run: $(VENV)/.installed
	$(PY) -m app demo --host $(HOST) --port $(PORT)
	$(PY) -m app serve --host $(HOST) --port $(PORT)

test: $(VENV)/.installed
	$(PY) -m pytest

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy app

clean:
	rm -rf $(VENV) var
