# The whole developer loop. `make demo` runs the product; `make test` runs every check.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
DATA ?= ../shared/data
PG_URL ?= postgresql://postgres@127.0.0.1:5432/test
PORT ?= 8000
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: install chromium dovecot demo up lint test test-sqlite test-postgres eval bench clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,openai,anthropic]'
	touch $@

chromium:
	@command -v chromium >/dev/null || { apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

# The inbound-mail tests start a real IMAP server (dovecot lives in sbin, often not on PATH).
dovecot:
	@command -v dovecot >/dev/null || test -x /usr/sbin/dovecot || { apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dovecot-imapd >/dev/null; }

demo: install
	$(BIN)/founderops demo --port $(PORT)

lint: install
	$(BIN)/ruff check founderops tests
	$(BIN)/ruff format --check founderops tests
	$(BIN)/mypy founderops tests
	$(BIN)/lint-imports
	FOUNDEROPS_DATA_DIR=$$(mktemp -d) $(BIN)/founderops makemigrations --check --dry-run

test: install chromium dovecot lint test-sqlite test-postgres

test-sqlite: install
	FOUNDEROPS_DATA_DIR=$$(mktemp -d) $(BIN)/pytest -q -p no:randomly

test-postgres: install
	FOUNDEROPS_DATA_DIR=$$(mktemp -d) FOUNDEROPS_DATABASE_URL=$(PG_URL) \
	  FOUNDEROPS_TEST_DATABASE_NAME=founderops_test_$$$$ $(BIN)/pytest -q -p no:randomly

eval: install
	FOUNDEROPS_DATA_DIR=$$(mktemp -d) $(BIN)/founderops eval support \
	  --data $(DATA)/support/clinc150/data_full.json --target-precision 0.95
	FOUNDEROPS_DATA_DIR=$$(mktemp -d) $(BIN)/founderops eval support \
	  --data $(DATA)/support/clinc150/data_full.json --target-precision 0.95 --shots 10
	FOUNDEROPS_DATA_DIR=$$(mktemp -d) $(BIN)/founderops eval support \
	  --data $(DATA)/support/banking77-oos/clinc_format.json --target-precision 0.90
	$(BIN)/founderops eval anomalies --nab $(DATA)/monitoring/nab
	$(BIN)/founderops eval logs --loghub $(DATA)/monitoring/loghub
	$(BIN)/founderops eval churn \
	  --telco $(DATA)/revenue/telco_churn/Telco-Customer-Churn.csv
	$(BIN)/founderops eval cohorts \
	  --retail $(DATA)/revenue/online_retail/online_retail.parquet
	$(BIN)/founderops eval forecast

# Each bench in its own empty data directory; `bench email` starts a private dovecot.
bench: install dovecot
	FOUNDEROPS_DATA_DIR=$$(mktemp -d) $(BIN)/founderops bench support
	FOUNDEROPS_DATA_DIR=$$(mktemp -d) $(BIN)/founderops bench email --mails 500
	FOUNDEROPS_DATA_DIR=$$(mktemp -d) $(BIN)/founderops bench web --tickets 10000 --users 50
	FOUNDEROPS_DATA_DIR=$$(mktemp -d) $(BIN)/founderops bench monitoring
	FOUNDEROPS_DATA_DIR=$$(mktemp -d) $(BIN)/founderops bench revenue
	FOUNDEROPS_DATA_DIR=$$(mktemp -d) $(BIN)/founderops bench ledger

clean:
	rm -rf $(VENV) var
