# The two commands a new user needs: `make dev` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install dev test lint format bench schema clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	@touch $(STAMP)

install: $(STAMP)

dev: install  ## SQLite + embedded Redis, API and worker, demo data; prints the GraphiQL URL
	$(BIN)/tessera dev

test: install  ## DATABASE_URL / REDIS_URL if set, else the embedded default
	$(BIN)/pytest

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: install  ## needs PostgreSQL and Redis: DATABASE_URL (default the local `test` database), REDIS_URL
	$(BIN)/python bench/earn.py
	$(BIN)/python bench/evaluate.py
	$(BIN)/python bench/read.py
	$(BIN)/python bench/leaderboard.py
	$(BIN)/python bench/referrals.py
	$(BIN)/python bench/push.py
	$(BIN)/python bench/redeem.py

schema: install
	$(BIN)/tessera export-schema

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache *.egg-info
