# exlib — the two commands a newcomer needs: `make demo` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PYTEST_ARGS ?=
# `make test`'s own stack (state dir, ports), apart from the demo's (.devstack/); the tests'
# session fixture uses the same directory when started without a stack (tests/conftest.py).
TEST_STACK ?= $(CURDIR)/.devstack-test

.PHONY: venv test lint unit demo stack-up stack-down stack-wipe crds bench clean

venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	touch $@

lint: venv
	$(BIN)/ruff check .

# Runs every test on a new stack of its own (TEST_STACK: own state, own ports), deleted
# afterwards, also on failure or Ctrl-C; a running demo stack and its operator are left alone.
# pytest's exit code 5 ("no tests collected") is a failure, not a pass.
test: venv lint
	@set -o pipefail; export EXLIB_DEVSTACK_DIR='$(TEST_STACK)'; \
	hack/devstack down --wipe 2>/dev/null; \
	trap 'hack/devstack down --wipe' EXIT; \
	stack_env=$$(hack/devstack up) || exit 1; eval "$$stack_env"; \
	status=0; $(BIN)/pytest $(PYTEST_ARGS) || status=$$?; \
	if [ $$status -eq 5 ]; then echo "make test: pytest collected no tests" >&2; exit 1; fi; \
	exit $$status

unit: venv
	$(BIN)/pytest tests/unit -q

stack-up:
	@hack/devstack up >/dev/null && hack/devstack status && \
	echo && echo 'Load the settings into your shell with:  eval "$$(hack/devstack env)"'

stack-down:
	hack/devstack down

stack-wipe:
	hack/devstack down --wipe

demo: venv
	@hack/demo

crds: venv
	$(BIN)/exlib crds

bench: venv
	@eval "$$(hack/devstack up)" && for b in bench/*_bench.py; do echo "== $$b"; $(BIN)/python $$b; done

clean:
	hack/devstack down --wipe
	EXLIB_DEVSTACK_DIR='$(TEST_STACK)' hack/devstack down --wipe
	rm -rf $(VENV) .devstack '$(TEST_STACK)'
