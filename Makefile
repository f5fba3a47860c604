# Quick start: `make demo` runs the main job, `make test` runs the tests, `make docs` builds the docs site.
# Each target creates .venv from pyproject.toml if it is missing or stale.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp

.PHONY: demo test lint bench docs verify verify-gallery clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[test,docs]"
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/shallowlaws demo --overwrite $(DEMO_ARGS)

# The talk's claims, gated with negative controls (docs/verify.md); quick size, ≤ 10 min on 2 cores.
# One BLAS/OpenMP thread: threaded BLAS oversubscribes a shared 2-core box (an M=512, N=256 flow took 200 s so).
# The claims are spread over VERIFY_WORKERS local Dask workers (one per core; the results do not depend on it).
VERIFY_WORKERS ?= 2
verify: $(STAMP)
	OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 $(VENV)/bin/shallowlaws verify --size quick --out verify-out --overwrite --workers $(VERIFY_WORKERS) $(VERIFY_ARGS)

# The gallery of docs/verify.md: a `standard` run (≤ 60 min on 2 cores) into docs/verify-gallery/ (report.json,
# claim_<id>.json/.png, summary.png). GALLERY_CLAIMS selects claims (empty: all). Written to a scratch folder first
# and swapped in whole, so an interrupted run leaves the old gallery; a failing gate (exit 1) still replaces it,
# because the gallery shows what the run found. Bad input (exit 2) or a crash keeps the old one.
GALLERY_CLAIMS ?=
verify-gallery: $(STAMP)
	rm -rf docs/verify-gallery.new
	OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 $(VENV)/bin/shallowlaws verify $(GALLERY_CLAIMS) \
		--size standard --out docs/verify-gallery.new --workers $(VERIFY_WORKERS) $(VERIFY_ARGS); rc=$$?; test $$rc -le 1 || exit $$rc
	rm -rf docs/verify-gallery && mv docs/verify-gallery.new docs/verify-gallery

test: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(PY) -m pytest -q $(PYTEST_ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

bench: $(STAMP)
	$(PY) bench/hermite_bench.py
	$(PY) bench/riccati_bench.py
	$(PY) bench/sgd_bench.py

# Documentation site into site/ (offline; warnings are errors). Needs the docs extra, installed with the venv.
docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict --site-dir site

clean:
	rm -rf $(VENV) shallowlaws-out verify-out .pytest_cache site
