# The two commands: `make run` (the daemon with embedded defaults) and `make test`.
# Each sets up what it needs first: system packages (as root), a venv, the package
# with its C extension and test extras.

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
SYSDEPS_STAMP := $(VENV)/.sysdeps
NATIVE := $(wildcard native/*.c native/*.h native/*.cdef native/*.py)

.PHONY: run test check lint native bench clean day

run: $(STAMP)
	$(VENV)/bin/appliance run

test: $(STAMP) lint
	$(PY) -m pytest -q -p no:cacheprovider

lint: $(STAMP)
	$(VENV)/bin/ruff check appliance sync firmware_tools tests bench native
	$(VENV)/bin/mypy

check: lint test

native: $(STAMP)
	$(VENV)/bin/pip install -q --no-build-isolation --no-deps -e .

# A simulated day end to end (broker, central, daemon, phones): scripts/day_in_the_life.py
day: $(STAMP)
	$(PY) scripts/day_in_the_life.py

bench: $(STAMP)
	for b in bench/bench_*.py; do echo "== $$b"; $(PY) $$b || exit 1; done

$(SYSDEPS_STAMP): scripts/system-deps.sh
	scripts/system-deps.sh
	@mkdir -p $(VENV) && touch $@

$(VENV)/bin/python: | $(SYSDEPS_STAMP)
	$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ needed"'
	$(PYTHON) -m venv $(VENV) || { apt-get install -y -qq python3-venv && $(PYTHON) -m venv $(VENV); }

$(STAMP): $(VENV)/bin/python $(SYSDEPS_STAMP) setup.py pyproject.toml $(NATIVE)
	$(PY) -m pip install -q --upgrade pip setuptools wheel cffi
	$(PY) -m pip install -q -e '.[test]'
	@touch $@

clean:
	rm -rf $(VENV) build *.egg-info appliance/_native*.so appliance/_native.c
