# newapi: two commands on a fresh machine.
#   make run   - set up .venv, build the extensions (and the web console when npm is present),
#                migrate an SQLite database, serve on :3000
#   make test  - same set-up, start PostgreSQL, MariaDB and Redis if needed, run the whole suite
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
STAMP := $(VENV)/.installed

.PHONY: run test test-fast lint typecheck bench bench-all bench-event bench-scaling bench-streams bench-soak bench-deps bench-micro bench-load bench-tools services clean web web-check chromium

$(STAMP): pyproject.toml setup.py $(wildcard newapi/_speedups/*.pyx) $(wildcard newapi/_speedups/*.pxd) $(wildcard newapi/_speedups/*.pxi)
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q -e '.[dev]'
	touch $(STAMP)

web:
	@if [ -f web/package.json ] && command -v npm >/dev/null 2>&1; then $(MAKE) -C web build; fi

# The console's checks (types, lint, unit tests, API types in step with /api/openapi.json, the login
# page's JavaScript budget) and Debian's Chromium for its end-to-end tests (never a browser download).
web-check: $(STAMP) web
	@if [ -f web/package.json ] && command -v npm >/dev/null 2>&1; then $(MAKE) -C web check; fi

chromium:
	@if [ ! -x /usr/bin/chromium ] && command -v apt-get >/dev/null 2>&1; then \
		SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
		$$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq chromium; \
	fi

run: $(STAMP) web
	$(VENV)/bin/newapi migrate
	$(VENV)/bin/newapi serve --port $${PORT:-3000}

services:
	./scripts/ensure-services.sh

test: $(STAMP) web web-check chromium services
	$(VENV)/bin/ruff check newapi tests bench
	$(VENV)/bin/ruff format --check newapi tests bench
	$(VENV)/bin/mypy
	$(VENV)/bin/pytest -q -p no:cacheprovider
	# The same relay and kernels once more on the pure-Python twins of the accelerators.
	NEWAPI_NO_EXTENSIONS=1 $(VENV)/bin/pytest -q -p no:cacheprovider -m "not e2e and not integration" \
		tests/speedups tests/relay tests/tokens

test-fast: $(STAMP)
	$(VENV)/bin/pytest -q -x -m "not e2e"

lint: $(STAMP)
	$(VENV)/bin/ruff check newapi tests bench
	$(VENV)/bin/ruff format --check newapi tests bench

typecheck: $(STAMP)
	$(VENV)/bin/mypy

# py-spy from PyPI through the `bench` extra (for profiling a worker by hand: bench/README.md).
bench-tools: $(VENV)/.bench-tools

$(VENV)/.bench-tools: $(STAMP)
	$(PIP) install -q -e '.[dev,bench]'
	touch $@

bench-micro: $(STAMP)
	$(VENV)/bin/pytest -q -p no:cacheprovider bench/micro --benchmark-only --benchmark-columns=mean,ops,rounds

bench-load: $(STAMP) services
	$(PY) -m bench.load
	$(PY) -m bench.load.ledger
	$(PY) -m bench.load.ledger_inprocess
	$(PY) -m bench.load.ledger_instructions

# The load runs' Debian tools (nginx for the floor, wrk for closed-loop load), as `chromium` installs its own.
bench-deps:
	@if { ! command -v nginx >/dev/null && [ ! -x /usr/sbin/nginx ]; } || ! command -v wrk >/dev/null; then \
		if command -v apt-get >/dev/null 2>&1; then \
			SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
			$$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq nginx-light wrk; \
		fi; \
	fi

# Issue 19's table: newapi as `make run` starts it beside the nginx floor, one run (about 3.5 minutes).
bench: $(STAMP) bench-deps
	$(PY) -m bench.load.table

# Issue 19's µs per SSE event, longer than `make bench` takes it: 8 alternated rounds of 20- and
# 200-piece streams through the gateway, then instruction counts under callgrind (10-15 minutes).
bench-event: $(STAMP) bench-deps
	$(PY) -m bench.load.per_event --rounds 8
	$(PY) -m bench.load.request_profile --per-event

# Issue 19's 2w/1w, longer than `make bench` takes it: 6 alternated rounds (about 1.5 minutes).
bench-scaling: $(STAMP) bench-deps
	$(PY) -m bench.load.scaling --rounds 6

# 10,000 open streams held by one worker (about a minute; not part of `make test`).
bench-streams: $(STAMP)
	$(PY) -m bench.load.streams

# Ten minutes of steady load on make run's two workers: RSS slope per worker (not part of `make test`).
bench-soak: $(STAMP)
	$(PY) -m bench.load.soak

bench-all: bench bench-micro bench-load

clean:
	rm -rf build $(VENV) newapi/_speedups/*.c newapi/_speedups/*.so
