# jplan-assistant. `make run` and `make test` work on a fresh clone (Python >= 3.11 needed).
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
PYTHON ?= python3

.PHONY: install dev index run serve test test-fast eval bench load audit clean

$(VENV)/.core: pyproject.toml constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q -c constraints.txt -e .
	touch $@

# torch first, pinned: a plain `torch` requirement would pull a multi-GB CUDA build.
$(VENV)/.dev: $(VENV)/.core
	$(PIP) install -q "torch==2.13.0"
	$(PIP) install -q -c constraints.txt -e ".[dev,st,llm]"
	touch $@

install: $(VENV)/.core
dev: $(VENV)/.dev

# Incremental: a run with nothing changed takes a few seconds.
index: $(VENV)/.core
	$(PY) -m assistant index

run: index
	$(PY) app.py

# The page plus the JSON API, the OpenAI-compatible endpoint and MCP on one port (see README).
serve: index
	$(PY) -m assistant serve

test: $(VENV)/.dev
	$(VENV)/bin/ruff check .
	$(PY) -m assistant index --quiet
	$(PY) -m pytest -q -m "not slow"

eval: $(VENV)/.dev index
	$(PY) -m assistant eval --suite all --out evals/reports/latest

bench: $(VENV)/.dev index
	$(PY) -m assistant bench
	$(PY) -m assistant bench --http

load: $(VENV)/.dev index
	$(PY) -m pytest -q -m slow -s

# Audits the installed (locked, see constraints.txt) environment against the PyPI advisory data.
audit: $(VENV)/.dev
	$(VENV)/bin/pip-audit --skip-editable --progress-spinner off

clean:
	rm -rf $(VENV) index/builds index/CURRENT index/cache
