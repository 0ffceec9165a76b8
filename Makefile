# `make demo` and `make test` each work on a fresh machine: they create the
# virtual environment and install the project first.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# Measured: glibc returning large buffers to the OS made serializing 4x slower
# (../shared/reference/performance-facts.md); these keep them.
MALLOC_ENV := MALLOC_MMAP_THRESHOLD_=67108864 MALLOC_TRIM_THRESHOLD_=268435456 MALLOC_TOP_PAD_=67108864

.PHONY: install test demo bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

test: install
	$(BIN)/pytest -q

demo: install
	$(MALLOC_ENV) $(BIN)/otel-ai-detect demo

# The figures the README shows: end-to-end throughput and latency, then the
# detectors against detect-secrets and Presidio on the same texts.
bench: install
	$(BIN)/pip install -q -e '.[test,bench]'
	$(MALLOC_ENV) $(BIN)/python benchmarks/throughput.py
	$(BIN)/python benchmarks/compare_peers.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
