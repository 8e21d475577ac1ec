# exlib — the two commands a newcomer needs: `make demo` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PYTEST_ARGS ?=

.PHONY: venv test lint unit demo stack-up stack-down crds bench clean

venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	touch $@

lint: venv
	$(BIN)/ruff check .

# Brings the local stack up, runs every test against it, brings it down again.
# pytest's exit code 5 ("no tests collected") is a failure, not a pass.
test: venv lint
	@set -o pipefail; stack_env=$$(hack/devstack up) || exit 1; eval "$$stack_env"; \
	status=0; $(BIN)/pytest $(PYTEST_ARGS) || status=$$?; \
	hack/devstack down; \
	if [ $$status -eq 5 ]; then echo "make test: pytest collected no tests" >&2; exit 1; fi; \
	exit $$status

unit: venv
	$(BIN)/pytest tests/unit -q

stack-up:
	@hack/devstack up >/dev/null && hack/devstack status && \
	echo && echo 'Load the settings into your shell with:  eval "$$(hack/devstack env)"'

stack-down:
	hack/devstack down

demo: venv
	@hack/demo

crds: venv
	$(BIN)/exlib crds

bench: venv
	@eval "$$(hack/devstack up)" && for b in bench/*_bench.py; do echo "== $$b"; $(BIN)/python $$b; done

clean: stack-down
	rm -rf $(VENV) .devstack
