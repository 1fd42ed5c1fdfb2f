# The two commands a newcomer needs: `make run` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
EXAMPLE ?= examples.bookshop.main:service
# pytest workers (pytest-xdist), each file on one: one per core and one more, since connected tests take
# turns on the machine's servers (tests/conftest.py) and a worker waiting for its turn leaves its core idle.
TEST_WORKERS ?= $(shell echo $$(( $$(nproc) + 1 )))

.PHONY: install run test unit lint format docs bench clean tools servers core-install

# uv installs the same pinned versions as pip in a fifth of the time (23 s against 101 s into a new
# virtualenv here), which `make test` pays on every clean clone in CI. Compiled, as pip does: with
# PYTHONDONTWRITEBYTECODE set (as on CI's machine) every Python process would compile each library
# it imports again, which took a clean clone's suite from 24 to 36 minutes of CPU.
$(STAMP): pyproject.toml codegen/pyproject.toml requirements/constraints.txt requirements/test-servers.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -c requirements/constraints.txt uv
	$(BIN)/uv pip install --quiet --compile-bytecode --python $(BIN)/python -c requirements/constraints.txt \
		-e ./codegen -e ".[all,dev]" -r requirements/test-servers.txt
	touch $(STAMP)

install: $(STAMP)

# buf (proto lint and breaking checks), the TypeSpec compiler (.tsp contracts) and @asyncapi/specs (the JSON Schemas
# `microlib codegen` validates AsyncAPI documents against).
node_modules/.installed: package.json
	npm install --no-audit --no-fund --silent
	touch $@

tools: node_modules/.installed

## Run the example service on embedded defaults (no servers needed).
## Pass options through ARGS: make run ARGS="--set http.port=9000 -c examples/bookshop/auth.yaml"
run: install
	$(BIN)/microlib run $(EXAMPLE) $(ARGS)

## Install what is missing and start what is down: PostgreSQL, Redis, RabbitMQ, NATS,
## promtool, Chromium, wrk (Debian packages; root or sudo).
servers:
	scripts/test-servers

## The whole suite, integration tests included, on a fresh machine: sets up its servers first.
## This checkout's code is compiled once for the hundreds of processes the suite starts (as the
## libraries are at install).
test: install tools servers core-install
	$(BIN)/lint-imports
	$(BIN)/python -m compileall -q microlib codegen/microlib_codegen examples tests bench
	MICROLIB_REQUIRE_SERVERS=1 PATH="$(CURDIR)/node_modules/.bin:$$PATH" $(BIN)/python -m pytest \
		-n $(TEST_WORKERS) --dist loadfile --cov --cov-branch --cov-report=term --cov-fail-under=90 $(PYTEST_ARGS)

## `pip install microlib` (no extra) in its own virtualenv, kept in .venv-core until
## pyproject.toml changes: an HTTP service runs on it, a missing extra is one line.
core-install:
	scripts/check-core-install $(CURDIR)/.venv-core

## The unit suite only, for a laptop without servers.
unit: install tools
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile -m "not connected" $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy --strict microlib codegen/microlib_codegen examples
	$(BIN)/lint-imports
	$(BIN)/hadolint Dockerfile

## The documentation site into site/, strict: a broken link or anchor, or a page left out of nav, fails.
docs: install
	$(BIN)/mkdocs build --strict

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) .venv-core node_modules site .coverage .mypy_cache .ruff_cache .pytest_cache
