# The README's two commands: `make run` (the main job) and `make test` (the tests).
# Both do all set-up on a fresh machine: a .venv with a pinned torch installed first (on a
# machine without a GPU, `pip install torch==2.13.0` takes the CPU wheel), the package, the
# system packages that hold offline data and the browser the report test opens (as root), and
# the datasets. Tests install nothing.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
TORCH  ?= torch==2.13.0
PIP    := $(BIN)/python -m pip --disable-pip-version-check -q

.PHONY: run test test-slow setup data system-deps bench clean

$(VENV)/.ready: pyproject.toml Makefile
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(PIP) install "$(TORCH)"
	$(PIP) install -e '.[test]'
	touch $@

system-deps:
	@if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  pkgs=""; \
	  [ -d /usr/share/datasets/fashion-mnist ] || pkgs="$$pkgs dataset-fashion-mnist"; \
	  command -v npm >/dev/null 2>&1 || pkgs="$$pkgs npm"; \
	  command -v chromium >/dev/null 2>&1 || pkgs="$$pkgs chromium"; \
	  if [ -n "$$pkgs" ]; then echo "apt-get install$$pkgs"; apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$pkgs >/dev/null; fi; \
	fi

setup: $(VENV)/.ready system-deps

data: setup
	$(BIN)/neuroplastic data fetch all

run: data
	$(BIN)/neuroplastic run

test: data
	$(BIN)/python -m pytest -q

test-slow: data
	$(BIN)/python -m pytest -q -m slow

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache

bench: data
	bash benchmarks/engine.sh
	bash benchmarks/rules.sh
