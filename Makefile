# wirekit: the two set-up commands of the README, and the checks CI runs.
#   make run    create .venv, install, start the main job
#   make test   create .venv, install with test extras, then lint, type-check and test
#   make bench  side-by-side benchmarks (bench/README.md)

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: run test lint typecheck unasync pytest bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[all,test]'
	rm -f $(VENV)/.installed-*
	touch $@

install: $(STAMP)

run: $(STAMP)
	$(BIN)/wirekit serve examples.app:app --host 127.0.0.1 --port 8000

lint: $(STAMP)
	$(BIN)/ruff check src tests scripts bench examples
	$(BIN)/ruff format --check src tests scripts bench examples

unasync: $(STAMP)
	$(BIN)/python scripts/unasync.py --check

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP)
	$(BIN)/python -m pytest -n auto -p no:cacheprovider

test: lint unasync typecheck pytest

bench: $(STAMP)
	$(BIN)/python -m pip install -q -e '.[all,bench]'
	$(BIN)/python bench/run.py
	$(BIN)/python bench/cli_vs_wrk.py

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache build dist
