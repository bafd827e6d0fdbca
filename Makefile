# One command to run the stack, one to test it, one to measure it (see README.md).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
SYSTEM_PACKAGES := libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz0b fonts-dejavu-core poppler-utils
PYTEST_ARGS ?=

.PHONY: run test chaos bench lint asyncapi nats-auth install system-deps browser-deps postgres-deps demo-usage clean

install: $(STAMP)

$(STAMP): pyproject.toml requirements.lock
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11+ is required")'
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c requirements.lock -e '.[dev]'
	@touch $(STAMP)

# WeasyPrint needs Pango/HarfBuzz and a font; installed with apt when missing (root or sudo).
system-deps:
	@missing=$$(for p in $(SYSTEM_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "installing system packages: $$missing"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; \
	fi

# Browser tests drive Debian's Chromium (never a browser download).
browser-deps:
	@test -x /usr/bin/chromium || { SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; }

# make run's embedded database: PostgreSQL's server binaries, from Debian's package when missing
# (not needed when DATABASE_URL points at a server).
postgres-deps:
	@if [ -z "$$DATABASE_URL" ] && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && ! command -v initdb >/dev/null; then \
	  echo "installing PostgreSQL (server binaries for the private database under var/pg/)"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq postgresql >/dev/null; \
	fi

run: system-deps postgres-deps install
	$(PY) -m scripts.run_local

# While `make run` runs: publish a demo call every few seconds for the demo tenant.
demo-usage: install
	$(PY) -m scripts.demo usage

test: system-deps browser-deps install
	$(PY) -m pytest $(PYTEST_ARGS)

# The fault-injection run alone (it is part of `make test` too): outages of PostgreSQL, Stripe and
# NATS, lost webhooks and killed services, then every money invariant checked.
chaos: system-deps install
	$(PY) -m pytest tests/chaos -m chaos -s $(PYTEST_ARGS)

bench: system-deps install
	$(PY) -m bench

# The linter, the formatter's check and the type checker (tests/unit/test_lint.py runs the same in make test).
lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

asyncapi: install
	@$(PY) -m contracts.asyncapi

# After adding a request, an event, a consumer or a portal type to contracts/: the generated NATS
# users of the Kubernetes manifests and the permission table in docs/operations.md.
nats-auth: install
	$(PY) -m runtime.nats_auth k8s > deploy/k8s/base/nats/auth.yaml
	$(PY) -m runtime.nats_auth docs docs/operations.md

clean:
	rm -rf $(VENV) var .pytest_cache
