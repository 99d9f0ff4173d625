# Odoo Failover Cockpit: everything a fresh Debian 12 machine needs, in two targets.
#   make demo   - venv + deps + PostgreSQL/PgBouncer if missing, a local lab, the cockpit on it
#   make test   - the same set-up, then the whole test suite (real PostgreSQL and PgBouncer)
#   make test-fast - the unit tests alone, under a minute
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.PHONY: setup system-deps demo test test-fast bench lab-down lab-reset clean

setup: $(STAMP) system-deps

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet --editable '.[test]'
	touch $(STAMP)

system-deps:
	@scripts/ensure-system-deps

demo: setup
	$(PY) -m cli demo

test: setup
	scripts/run-tests

# The unit tests alone (no lab, no screen): under a minute. tests/pilot and tests/lab are the rest.
test-fast: setup
	scripts/run-tests tests/unit

bench: setup
	bench/run

lab-down:
	$(PY) -m cli lab down --dir .lab

lab-reset: lab-down
	rm -rf .lab

clean: lab-down
	rm -rf $(VENV) .pytest_cache *.egg-info
