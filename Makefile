# Two commands for a newcomer: `make demo` and `make test`. Each creates .venv when missing,
# installs torch==2.13.0 FIRST (an unpinned torch pulls several GB of CUDA wheels), then the
# package with the extras it needs. Stamps make a second run install nothing.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
TORCH := torch==2.13.0
DATA ?= ../shared/data

.PHONY: demo test lint docs docs-check bench peers clean

$(VENV)/.torch:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet $(TORCH)
	touch $@

# torchattacks (a test/benchmark peer of sklpriv.robust) declares torchvision, which does
# not load beside the CPU torch and would pull a CUDA torch: install it without deps
$(VENV)/.installed-%: pyproject.toml $(VENV)/.torch
	$(PIP) install --quiet -e ".[$*]"
	if [ "$*" = dev ] || [ "$*" = bench ]; then \
		$(PIP) install --quiet requests && $(PIP) install --quiet --no-deps "torchattacks>=3.5"; \
	fi
	touch $@

demo: $(VENV)/.installed-plot
	$(PY) -m sklpriv demo --out sklpriv-demo

test: $(VENV)/.installed-dev
	$(PY) -m pytest -q

lint: $(VENV)/.installed-dev
	$(PY) -m ruff check .
	$(PY) -m ruff format --check sklpriv tests benchmarks examples

# warnings are errors; docs-check skips running the gallery (CI's docs build)
docs: $(VENV)/.installed-docs
	MPLBACKEND=Agg $(PY) -m sphinx -W --keep-going -b html docs docs/_build/html

docs-check: $(VENV)/.installed-docs
	MPLBACKEND=Agg $(PY) -m sphinx -W --keep-going -b html -D plot_gallery=0 docs docs/_build/html

bench: $(VENV)/.installed-bench
	$(PY) -m sklpriv bench --data $(DATA)

# peers that cannot share sklpriv's venv: ctgan pins pandas < 3 (bench_diffusion runs
# its CTGAN and TVAE through .venv-ctgan/bin/python)
PEERS := .venv-ctgan
$(PEERS)/.installed:
	$(PYTHON) -m venv $(PEERS)
	$(PEERS)/bin/pip install --quiet $(TORCH) && $(PEERS)/bin/pip install --quiet "ctgan>=0.10"
	touch $@

peers: $(PEERS)/.installed

clean:
	rm -rf $(VENV) $(PEERS) sklpriv-demo docs/_build
