# Two commands for a newcomer: `make demo` and `make test`. Each creates .venv when missing,
# installs torch==2.13.0 FIRST (an unpinned torch pulls several GB of CUDA wheels), then the
# package with the extras it needs. Stamps make a second run install nothing.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
TORCH := torch==2.13.0
DATA ?= ../shared/data

.PHONY: demo test lint docs docs-check bench peers peers-timebridge clean

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

# two worker processes (pytest-xdist), one test file each at a time: the tests run torch on
# one thread (tests/conftest.py), so a 2-core machine runs the suite in about half the time;
# module fixtures stay in one worker. TEST_WORKERS=0 runs it in this process.
TEST_WORKERS ?= 2
test: $(VENV)/.installed-dev
	$(PY) -m pytest -q -n $(TEST_WORKERS) --dist loadfile

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

# the authors' TimeBridge code (bench_timebridge_reference.py runs it from a checkout given
# with --reference): its GRU metrics need TensorFlow 2.13-2.15 (TF1 graph mode, numpy < 2)
TB_PEER := .venv-timebridge
TB_DEPS := "tensorflow-cpu==2.15.1" "numpy<2" einops ema-pytorch==0.2.1 pandas scipy \
	scikit-learn pyyaml tqdm numba matplotlib seaborn statsmodels
$(TB_PEER)/.installed:
	$(PYTHON) -m venv $(TB_PEER)
	$(TB_PEER)/bin/pip install --quiet $(TORCH) && $(TB_PEER)/bin/pip install --quiet $(TB_DEPS)
	touch $@

peers: $(PEERS)/.installed
peers-timebridge: $(TB_PEER)/.installed

clean:
	rm -rf $(VENV) $(PEERS) $(TB_PEER) sklpriv-demo docs/_build
