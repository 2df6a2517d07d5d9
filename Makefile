# wirekit: the two set-up commands of the README, and the checks CI runs.
#   make run    create .venv, install, start the main job
#   make test   create .venv, install with test extras, then lint, type-check and test
#   make bench  side-by-side benchmarks (bench/README.md)
#   make compile  the mypyc build of the hot modules in build/compiled (scripts/compile.py);
#                 make test runs the protocol, I/O, client and server tests on it too

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

COMPILED := build/compiled/.built
SOURCES  := $(shell find src -name '*.py') scripts/compile.py

.PHONY: run test lint typecheck unasync pytest pytest-compiled compile bench clean

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
	$(BIN)/ruff check src tests scripts bench examples hatch_build.py
	$(BIN)/ruff format --check src tests scripts bench examples hatch_build.py

unasync: $(STAMP)
	$(BIN)/python scripts/unasync.py --check

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP)
	$(BIN)/python -m pytest -n auto -p no:cacheprovider

$(COMPILED): $(STAMP) $(SOURCES)
	$(BIN)/python scripts/compile.py
	touch $@

compile: $(COMPILED)

# The same tests on the compiled build (tests/conftest.py checks it is the one imported).
pytest-compiled: $(COMPILED)
	WIREKIT_EXPECT_COMPILED=1 PYTHONPATH=build/compiled $(BIN)/python -m pytest -n auto \
		-p no:cacheprovider tests/proto tests/models tests/io tests/client tests/server tests/server_parts \
		tests/test_public_api.py tests/test_both_builds.py

test: lint unasync typecheck pytest pytest-compiled

bench: $(STAMP) $(COMPILED)
	$(BIN)/python -m pip install -q -e '.[all,bench]'
	$(BIN)/python bench/run.py
	$(BIN)/python bench/cli_vs_wrk.py

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache build dist
