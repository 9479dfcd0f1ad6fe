# The two commands: `make run` and `make test`. Each installs what is missing first.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000
PYTEST_ARGS ?=

.PHONY: run test test-postgres test-browser lint typecheck check deps dot ssh npm chromium bench client clean

$(VENV)/.installed: pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $@

deps: $(VENV)/.installed

# Graphviz's `dot` draws the pipeline; without it the dashboard falls back to a tree.
dot:
	@command -v dot >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "Installing Graphviz (dot)…"; \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq graphviz >/dev/null 2>&1 || \
	    { apt-get update -qq >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq graphviz >/dev/null 2>&1; } || \
	    echo "Could not install Graphviz; the dashboard will show the hierarchy as a tree."; \
	  else \
	    echo "Graphviz (dot) is not installed; install it (apt-get/brew/dnf install graphviz) to see the diagram."; \
	  fi; }

# Debian's Chromium, driven by Playwright in the browser tests (no browser download).
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null 2>&1 || \
	  { apt-get update -qq >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null 2>&1; }; }

# OpenSSH's server and client: the tests run a real git server over ssh on loopback.
ssh:
	@command -v sshd >/dev/null 2>&1 || [ -x /usr/sbin/sshd ] || { \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openssh-server openssh-client >/dev/null 2>&1 || \
	  { apt-get update -qq >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openssh-server openssh-client >/dev/null 2>&1; }; }

# npm: the interoperability tests install jsforce and Node 22 from the npm registry with it.
npm:
	@command -v npm >/dev/null 2>&1 || { \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq npm >/dev/null 2>&1 || \
	  { apt-get update -qq >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq npm >/dev/null 2>&1; } || \
	  echo "Could not install npm; the jsforce interoperability tests will skip."; }

# The demo, with its simulated Salesforce org (DEMO_SIMULATED_ORG: only ever with DEBUG).
DEMO := DEBUG=$${DEBUG:-1} DEMO_SIMULATED_ORG=$${DEMO_SIMULATED_ORG:-1}
run: deps dot
	$(DEMO) $(PY) manage.py migrate --noinput
	$(DEMO) $(PY) manage.py seed_demo --if-empty
	$(DEMO) $(PY) manage.py serve --port $(PORT)

# ruff, then the import contract of pyproject.toml (the layering of docs/architecture.md).
lint: deps
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports

typecheck: deps
	$(VENV)/bin/mypy releasemgr instances branching

check: deps
	SECRET_KEY=check STATIC_MANIFEST=0 ENCRYPTION_KEYS=x5Xh0JqfYfJ2zY1ywZ9bqC3mT7uWl0xk3n2u6l4q2mA= \
	  $(PY) manage.py makemigrations --check --dry-run

test: deps dot ssh npm lint typecheck check
	$(VENV)/bin/pytest -m "not browser" $(PYTEST_ARGS)

# The same suite on PostgreSQL (DATABASE_URL defaults to the local server).
test-postgres: deps dot ssh npm
	DATABASE_URL=$${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/releasemgr} \
	  $(VENV)/bin/pytest -m "not browser" $(PYTEST_ARGS)

test-browser: deps dot chromium
	$(VENV)/bin/pytest -m browser $(PYTEST_ARGS)

# The pipeline client's wheel (standard library only) into dist/, without the network.
client: deps
	$(PY) -m pip wheel --quiet --no-deps --no-build-isolation ./client -w dist
	rm -rf client/build client/releasemgr_client.egg-info

bench: deps dot
	$(PY) benchmarks/dashboard.py

clean:
	rm -rf $(VENV) staticfiles dist .pytest_cache .mypy_cache .ruff_cache
