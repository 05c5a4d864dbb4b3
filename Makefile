# The README's two commands: `make run` and `make test`. Both bootstrap .venv on first use.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test lint typecheck check bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

# Start the bot on the embedded default (SQLite file ./ignorerate.db).
run: $(STAMP)
	@test -f ignorerate.yml || $(BIN)/ignorerate init
	$(BIN)/ignorerate db upgrade
	$(BIN)/ignorerate serve

# The whole suite, on SQLite and PostgreSQL (TEST_DATABASE_URL; CI=true fails without it).
test: $(STAMP)
	$(BIN)/pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

check: lint typecheck test

# Every benchmark, each beside its floor (docs/benchmarks.md has the figures and the method).
bench: $(STAMP)
	$(BIN)/python -m bench.run --leads 100000
	$(BIN)/python -m bench.command --leads 1000000
	$(BIN)/python -m bench.clicks
	$(BIN)/python -m bench.sweep
	$(BIN)/python -m bench.webhook

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis
