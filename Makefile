# Two commands on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	$(BIN)/python -m pip install --quiet --no-deps "py_neuromodulation==0.1.3"  # real BIDS data
	$(BIN)/python -m pip install --quiet --no-deps "fcsparser==0.2.8"  # its real FCS test files
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/openbsi demo --out runs/demo

test: $(STAMP)
	./scripts/install-system-deps.sh
	$(BIN)/ruff check .
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check . && $(BIN)/ruff format --check src tests

clean:
	rm -rf $(VENV) runs .pytest_cache .ruff_cache
