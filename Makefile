# Two commands on a fresh machine: `make run` (set up, migrate, load the demo world, forecast, plan, calibrate
# the range to 95% of demand served, propose it, serve)
# and `make test` (set up, run the whole suite). Both create .venv and install into it.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml constraints.txt | md5sum | cut -c1-12)
export FLASK_APP := wsgi

.PHONY: install run serve test lint bench clean

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade "pip>=24"
	$(BIN)/python -m pip install -q -c constraints.txt -e ".[test]"
	rm -f $(VENV)/.installed-* && touch $@

install: $(STAMP)

run: install
	$(BIN)/flask --app wsgi db upgrade
	$(BIN)/flask --app wsgi demo load
	$(BIN)/flask --app wsgi forecast run
	$(BIN)/flask --app wsgi replenish plan
	$(BIN)/flask --app wsgi dashboard refresh --if-needed
	$(BIN)/flask --app wsgi replenish calibrate --target 0.95 --policy ranging --if-needed
	$(BIN)/flask --app wsgi ranging propose
	$(BIN)/flask --app wsgi demo signins
	@echo "serving on http://127.0.0.1:$${PORT:-8000}"
	$(BIN)/gunicorn -c gunicorn.conf.py wsgi:app

test: install
	./scripts/ensure-services.sh
	./scripts/ensure-chromium.sh
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/python -m pytest -n 2 --dist loadfile

lint: install
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/hadolint Dockerfile

clean:
	rm -rf $(VENV) instance .pytest_cache test-output
