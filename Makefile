# Flowker — the two front doors are `make run` and `make test` (see README).
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
VAR := $(or $(FLOWKER_VAR_DIR),var)
SECRETS := $(VAR)/secrets.env

# Fixed values for the test suite only; `make run` generates its own into $(SECRETS).
TEST_ENV := DJANGO_SECRET_KEY=test-secret-key-not-for-production \
	FLOWKER_ENCRYPTION_KEY=X7pDIiUQxJ1MIDJ7PmkxgoNBCKTEyI6dLSfWEUL_uiA= \
	TEST_DATABASE_URL=$${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/flowker_test} \
	REDIS_URL=$${REDIS_URL:-redis://127.0.0.1:6379/15} \
	DJANGO_SETTINGS_MODULE=tests.settings

.PHONY: help install run test lint format bench chaos migrate clean

help:
	@echo "make run    set up this machine and run web + worker + beat (Ctrl-C stops all)"
	@echo "make test   set up and run the whole test suite (PostgreSQL + Redis)"
	@echo "make lint   ruff check + format check;  make bench  benchmarks"
	@echo "make chaos  fault injection (crashes, outages, provider faults, races, soak; <= 15 min)"

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

$(SECRETS):
	@umask 077 && mkdir -p $(VAR)
	@umask 077 && $(PYTHON) -c 'import base64, os, secrets; \
	print("DJANGO_SECRET_KEY=" + secrets.token_urlsafe(50)); \
	print("FLOWKER_ENCRYPTION_KEY=" + base64.urlsafe_b64encode(os.urandom(32)).decode())' > $(SECRETS)
	@echo "Generated $(SECRETS) (keep it: it holds the key that decrypts stored secrets;"
	@echo "settings read it, and variables set in the environment take precedence)."

# umask 077: the database, broker messages, cache and schedule under $(VAR) are the owner's only
# (chmod covers collectstatic, which sets its own modes, and what an older run left readable).
run: $(STAMP) $(SECRETS)
	@umask 077 && export FLOWKER_VAR_DIR=$(abspath $(VAR)) \
		FLOWKER_OUTBOUND_ALLOW_PRIVATE=$${FLOWKER_OUTBOUND_ALLOW_PRIVATE:-true} \
		HOST=$${HOST:-127.0.0.1} FLOWKER_PORT=$${PORT:-8000} \
		WEB_CONCURRENCY=$${WEB_CONCURRENCY:-2} WORKER_CONCURRENCY=$${WORKER_CONCURRENCY:-2} && \
	export PROMETHEUS_MULTIPROC_DIR=$${PROMETHEUS_MULTIPROC_DIR:-$(abspath $(VAR))/metrics} && \
	rm -rf "$${PROMETHEUS_MULTIPROC_DIR}" && mkdir -m 700 -p "$${PROMETHEUS_MULTIPROC_DIR}" && \
	$(PY) manage.py migrate --noinput -v 0 && \
	$(PY) manage.py collectstatic --noinput -v 0 && \
	chmod -R go-rwx $(VAR) && \
	$(PY) manage.py flowker_bootstrap && \
	echo "Flowker on http://$${HOST}:$${FLOWKER_PORT}/ (admin: /admin/, API docs: /swagger/)" && \
	exec $(PY) -m flowker.procfile Procfile

test: $(STAMP)
	$(TEST_ENV) $(VENV)/bin/pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(STAMP)
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

bench: $(STAMP)
	$(TEST_ENV) $(PY) -m tests.benchmarks

# Its own PostgreSQL cluster and Redis server on free loopback ports (see tests/chaos/__main__.py).
chaos: $(STAMP)
	$(PY) -m tests.chaos

clean:
	rm -rf $(VENV) var *.egg-info
