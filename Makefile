# radiome: the two commands of the README are `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test bench bench-models kernels lock clean

$(STAMP): pyproject.toml requirements.lock
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "radiome needs Python >= 3.11, got " + sys.version.split()[0])'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.lock
	$(PY) -m pip install --quiet --no-deps --no-build-isolation -e .
	$(PY) -m radiome._kernels
	@touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/radiome demo

test: $(STAMP)
	$(PY) -m pytest

# Compile the numerical kernels ahead of time again (after editing a kernel module; until then
# radiome notices the change and compiles them with numba's JIT on first use).
kernels: $(STAMP)
	$(PY) -m radiome._kernels

# Benchmarks (not tests): speed against PyRadiomics and MIRP, scaling, cohort throughput.
bench: $(STAMP)
	$(PY) benchmarks/run.py

# The default nested model search on the 43 radMLBench tables (benchmarks/radmlbench.md), then
# single vs early vs late fusion on the eight multi-modal ones (benchmarks/fusion.md).
bench-models: $(STAMP)
	$(PY) benchmarks/radmlbench.py
	$(PY) benchmarks/fusion.py

# Re-resolve every dependency (needs network): writes requirements.lock for Python 3.11.
lock:
	$(PYTHON) -m venv .lockenv && .lockenv/bin/pip install --quiet uv
	.lockenv/bin/uv pip compile pyproject.toml --extra test --python-version 3.11 \
	    --no-header --annotation-style line -o requirements.lock
	rm -rf .lockenv

clean:
	rm -rf $(VENV) .pytest_cache build src/*.egg-info src/radiome/_compiled_*
