# exlib — the two commands a newcomer needs: `make demo` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PYTEST_ARGS ?=

.PHONY: venv test lint unit demo demo-gitea stack-up stack-down stack-wipe crds bench clean

venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	touch $@

lint: venv
	$(BIN)/ruff check .

# Recipe prefix: what follows runs on a new stack of the target's own (state in
# .devstack-TARGET/, own ports), deleted afterwards, also on failure or Ctrl-C; a running demo
# stack (.devstack/) and its operator are left alone. The tests' session fixture uses
# .devstack-test/ too when pytest starts without a stack (tests/conftest.py).
ON_OWN_STACK = set -o pipefail; export EXLIB_DEVSTACK_DIR='$(CURDIR)/.devstack-$@'; \
	hack/devstack down --wipe 2>/dev/null; trap 'hack/devstack down --wipe' EXIT; \
	stack_env=$$(hack/devstack up) || exit 1; eval "$$stack_env";

# pytest's exit code 5 ("no tests collected") is a failure, not a pass.
test: venv lint
	@$(ON_OWN_STACK) \
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

# The merge-request flow on a local Gitea: a course on Gitea, a lecturer's edit, a conflicting
# library version, and the pull request exlib opens (README: "Course repositories on ...").
demo-gitea: venv
	@hack/demo-gitea

crds: venv
	$(BIN)/exlib crds

bench: venv
	@$(ON_OWN_STACK) for b in bench/*_bench.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

clean:
	for dir in .devstack .devstack-test .devstack-bench; do \
	  EXLIB_DEVSTACK_DIR="$(CURDIR)/$$dir" hack/devstack down --wipe; rm -rf "$$dir"; done
	rm -rf $(VENV)
