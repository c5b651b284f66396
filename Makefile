# The README's two commands: `make run` (set up, then run the embedded default end to end) and
# `make test` (set up, then run the tests). Both create .venv with pip; bedtools comes from apt-get
# when missing and we are root, otherwise we say how to get it.
VENV ?= .venv
PYTHON ?= python3
PY := $(VENV)/bin/python
CORES ?= all
# torch is installed first and pinned: the CPU wheel 2.13.0 satisfies pyproject's range, whereas an
# open `torch` requirement would pull a multi-GB CUDA build.
TORCH ?= torch==2.13.0

.PHONY: setup run test lint bench mutate envs clean-results help

help:
	@echo "make run    set up .venv and run the workflow on the default (simulated) config"
	@echo "make test   set up .venv and run the test suite"
	@echo "make lint   snakemake --lint and snakefmt --check"
	@echo "make bench  run the benchmarks (see benchmarks/README.md)"
	@echo "make mutate mutation testing of the engines (hours; tests/README.md has the scores)"
	@echo "make envs   rewrite the conda environments (envs/*.yaml) from pyproject.toml"

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet "$(TORCH)"
	$(PY) -m pip install --quiet -e ".[test]"
	@# compile memelite's numba kernels (Tomtom) once here, not in every Tomtom job: about a minute
	$(PY) -c "import basset.tomtom as m; m.warm_up()"
	touch $@

bedtools:
	@if ! command -v bedtools >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing bedtools with apt-get"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bedtools; \
	  else \
	    echo "bedtools is missing. Install it with one of:"; \
	    echo "  sudo apt-get install bedtools          (Debian/Ubuntu)"; \
	    echo "  conda install -c bioconda bedtools     (conda/mamba)"; \
	    echo "  brew install bedtools                  (macOS)"; \
	    echo "or run the workflow with --use-conda, which installs it per rule (envs/basset.yaml)."; \
	    exit 1; \
	  fi; \
	fi

.PHONY: bedtools
setup: $(VENV)/.installed bedtools

run: setup
	$(VENV)/bin/snakemake --cores $(CORES)

test: setup
	$(PY) -m pytest

# mutation testing of the engines (not in CI: hours on 2 cores; resumable). MUTANTS='basset.sad.*' runs some.
mutate: setup
	$(PY) tests/mutation/run.py $(MUTANTS)

# the conda environments of the rules follow pyproject.toml's dependencies (envs/README.md)
envs:
	$(PYTHON) envs/update.py

lint: setup
	$(VENV)/bin/snakemake --lint
	$(VENV)/bin/snakefmt --check Snakefile workflow/rules

bench: setup
	@# tangermeme is the reference of bench_satmut only, so it is not a package dependency
	$(PY) -m pip install --quiet tangermeme
	$(PY) benchmarks/bench_merge.py
	$(PY) benchmarks/bench_dataset.py
	$(PY) benchmarks/bench_simulate.py
	$(PY) benchmarks/bench_train.py --quick
	$(PY) benchmarks/bench_tomtom.py
	$(PY) benchmarks/bench_satmut.py
	$(PY) benchmarks/bench_sad.py
