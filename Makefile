# A fresh machine needs only Python 3.11+ and make: every target creates .venv when missing.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: demo test bench example clean-venv

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)
	$(PY) -m optimizer solve inputs/central_asia_refining.xlsx --force --simulate 10000 --alternatives 3

test: $(STAMP)
	$(PY) -m pytest -q

example: $(STAMP)
	$(PY) scripts/build_example.py

bench: $(STAMP)
	$(PY) bench/orlib_bench.py
	$(PY) bench/synthetic_bench.py
	$(PY) bench/validate_bench.py
	$(PY) bench/simulate_bench.py
	$(PY) bench/tradeoffs_bench.py
	$(PY) bench/report_bench.py
	$(PY) bench/risk_bench.py
	$(PY) bench/diagnose_bench.py --quiet
	$(PY) bench/futures_bench.py

clean-venv:
	rm -rf $(VENV)
