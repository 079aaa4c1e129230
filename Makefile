# Two commands on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

# Debian packages the tests need: chromium (browser tests, Playwright with
# executable_path=/usr/bin/chromium) and postgresql (migrations on a throw-away cluster).
SYSTEM_PACKAGES := chromium postgresql

.PHONY: demo test lint clean system-deps

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	$(BIN)/python -m pip install --quiet --no-deps "py_neuromodulation==0.1.3"  # real BIDS data
	$(BIN)/python -m pip install --quiet --no-deps "fcsparser==0.2.8"  # its real FCS test files
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/openbsi demo --out runs/demo

# Installs what is missing with apt-get (as root); without root it names what is missing and
# those tests skip, unless OPENBSI_REQUIRE_SYSTEM_DEPS=1 (set by .ci/run) makes them fail.
system-deps:
	@missing=""; \
	[ -x /usr/bin/chromium ] || missing="$$missing chromium"; \
	ls /usr/lib/postgresql/*/bin/initdb > /dev/null 2>&1 || missing="$$missing postgresql"; \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" -eq 0 ] && command -v apt-get > /dev/null; then \
			DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
			DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
		else \
			echo "system-deps: missing$$missing (apt-get install$$missing as root)" >&2; \
		fi; \
	fi

test: $(STAMP) system-deps
	$(BIN)/ruff check .
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check . && $(BIN)/ruff format --check src tests

clean:
	rm -rf $(VENV) runs .pytest_cache .ruff_cache
