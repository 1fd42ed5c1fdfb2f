# The two commands a newcomer needs: `make run` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
EXAMPLE ?= examples.bookshop.main:service

.PHONY: install run test unit lint format bench clean tools

$(STAMP): pyproject.toml codegen/pyproject.toml requirements/constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c requirements/constraints.txt -e ./codegen -e ".[all,dev]"
	touch $(STAMP)

install: $(STAMP)

node_modules/.bin/buf: package.json
	npm install --no-audit --no-fund --silent
	touch $@

tools: node_modules/.bin/buf

## Run the example service on embedded defaults (no servers needed).
run: install
	$(BIN)/microlib run $(EXAMPLE)

## The whole suite, integration tests included: needs PostgreSQL, Redis, RabbitMQ.
test: install tools
	MICROLIB_REQUIRE_SERVERS=1 PATH="$(CURDIR)/node_modules/.bin:$$PATH" $(BIN)/python -m pytest \
		--cov --cov-branch --cov-report=term --cov-fail-under=90 $(PYTEST_ARGS)

## The unit suite only, for a laptop without servers.
unit: install tools
	$(BIN)/python -m pytest -m "not connected" $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy --strict microlib codegen/microlib_codegen examples

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) node_modules .coverage .mypy_cache .ruff_cache .pytest_cache
