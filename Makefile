# Two commands do all the set-up on a fresh machine:
#   make ask Q="Which leader voiced support for Macron's stance?"
#   make test
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
Q      ?= Which leader voiced support for Macron's stance?

.PHONY: setup ask test lint bench eval serve

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	$(BIN)/python -m pip check
	touch $@

ask: setup
	$(BIN)/qa ingest seeds/
	$(BIN)/qa ask "$(Q)"

# pytest exits 5 when it collects no test: that is not a failure of the code under test.
test: setup
	$(BIN)/ruff check qa tests eval
	$(BIN)/python -m pytest $(PYTEST_ARGS); rc=$$?; if [ $$rc -eq 5 ]; then echo "no tests collected"; exit 0; fi; exit $$rc

lint: setup
	$(BIN)/ruff check qa tests eval

bench: setup
	$(BIN)/python eval/bench.py

serve: setup
	$(BIN)/qa serve
