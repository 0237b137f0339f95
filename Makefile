# Two commands for a new user: `make run` builds the documents, `make test` runs the tests.
# Both set everything up first (idempotent; fast when already set up).
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp
# the tests' second OFD reader (ofd.js, npm), installed from tests/ofdjs's lock file
OFDJS  := $(VENV)/ofdjs/.installed-stamp

.PHONY: setup setup-test system system-test run serve test bench mutate clean

setup: system $(STAMP)

# the tests also drive real clients (LibreOffice, Chromium, ofd.js); `make run` does not need them
setup-test: system-test $(STAMP) $(OFDJS)

system:
	@bash scripts/setup-system.sh

system-test:
	@bash scripts/setup-system.sh --test

$(STAMP): pyproject.toml
	@test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[test]'
	@touch $(STAMP)

$(OFDJS): tests/ofdjs/package.json tests/ofdjs/package-lock.json
	@mkdir -p $(VENV)/ofdjs
	cp tests/ofdjs/package.json tests/ofdjs/package-lock.json $(VENV)/ofdjs/
	cd $(VENV)/ofdjs && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
	@touch $(OFDJS)

run: setup
	$(VENV)/bin/pipeline validate --results content/results_2016_sample.csv
	$(VENV)/bin/pipeline build

serve: setup
	$(VENV)/bin/pipeline serve

test: setup-test
	$(VENV)/bin/pytest

bench: setup
	$(PY) benchmarks/run.py
	$(PY) benchmarks/ofd.py

# mutation score of the modules that hold rules (minutes; not part of `make test`)
mutate: setup-test
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[test,mutate]'
	$(PY) scripts/mutate.py

clean:
	rm -rf output
