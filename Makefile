# Set-up is two commands: `make run` and `make test` (README). Everything else is here too.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
export PYSPARK_PYTHON := $(abspath $(PY))
export PYSPARK_DRIVER_PYTHON := $(abspath $(PY))

.PHONY: install run test bench zip clean

$(PY):
	$(PYTHON) -m venv $(VENV)

# Re-install only when the dependencies change; the package itself is installed editable.
$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install -q --upgrade pip setuptools wheel
	$(PY) -m pip install -q -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

run: install
	$(VENV)/bin/launcher serve

test: install
	$(PY) -m pytest $(PYTEST_ARGS)

bench: install
	$(PY) -m bench $(BENCH_ARGS)

# spark_jobs as a zip for `spark-submit --py-files` (the launcher builds the same on demand).
zip: install
	$(PY) -m spark_jobs.packaging zip dist

clean:
	rm -rf dist build *.egg-info .pytest_cache
