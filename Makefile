# The README's two commands: `make run` and `make test`. Both bootstrap .venv on first use.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test demo lint typecheck check bench clean

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

# A look without Slack: made-up data in ./ignorerate-demo, the dashboard on 127.0.0.1:8765.
demo: $(STAMP)
	$(BIN)/ignorerate demo

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

typecheck: $(STAMP)
	$(BIN)/mypy

check: lint typecheck test

# Every benchmark, each beside its floor measured in the same run, then one table of all
# of them against the load issue's targets (docs/benchmarks.md has the method and figures).
# `make bench LEADS=1000000 MINUTES=10` is the full size (about an hour on 2 cores).
LEADS   ?= 100000
MINUTES ?= 2
PG_URL  ?= postgresql+psycopg://postgres@127.0.0.1:5432/test
SUMMARY := .bench-summary.jsonl
bench: $(STAMP)
	rm -f $(SUMMARY)
	$(BIN)/python -m bench.run --leads $(LEADS) --pg-url $(PG_URL) --summary $(SUMMARY)
	$(BIN)/python -m bench.command --leads $(LEADS) --summary $(SUMMARY)
	$(BIN)/python -m bench.dashboard --leads $(LEADS) --pg-url $(PG_URL) --summary $(SUMMARY)
	$(BIN)/python -m bench.clicks --summary $(SUMMARY)
	$(BIN)/python -m bench.clicks --database $(PG_URL) --summary $(SUMMARY)
	$(BIN)/python -m bench.webhook --database postgresql --pg-url $(PG_URL) --summary $(SUMMARY)
	$(BIN)/python -m bench.sweep --pg-url $(PG_URL) --summary $(SUMMARY)
	$(BIN)/python -m bench.crm_salesforce --records $(LEADS) --backends sqlite,postgresql --pg-url $(PG_URL) --summary $(SUMMARY)
	$(BIN)/python -m bench.crm_hubspot --records $(LEADS) --backend sqlite --summary $(SUMMARY)
	$(BIN)/python -m bench.crm_hubspot --records $(LEADS) --backend postgresql --pg-url $(PG_URL) --summary $(SUMMARY)
	$(BIN)/python -m bench.memory --minutes $(MINUTES) --summary $(SUMMARY)
	$(BIN)/python -m bench.summary $(SUMMARY)

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis
