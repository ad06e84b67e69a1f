# hailong — the two commands a newcomer needs: `make run` and `make test`.
# Everything else (venv, pinned dependencies, browser) is set up on the way.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat requirements-uv.lock requirements-dev.lock pyproject.toml clients/python/pyproject.toml | cksum | cut -d' ' -f1)
HOST   ?= 127.0.0.1
PORT   ?= 8000

.PHONY: run test test-fast setup lint jslint typecheck browser bench lock i18n clean

# The demo scores TT 01/2018 beside the K score, for the seeding and the server alike (both
# must ask the same questions and keep the same counters); read it with profile=tt-01-2018.
run: export HAILONG_SCORING_PROFILE_ALSO ?= tt-01-2018
run: setup ## migrate a SQLite file, seed the demo, serve on http://127.0.0.1:8000 (PORT=8123: there)
	$(BIN)/hailong db upgrade
	HAILONG_BASE_URL=$${HAILONG_BASE_URL:-http://$(HOST):$(PORT)} $(BIN)/hailong demo
	$(BIN)/hailong serve --host $(HOST) --port $(PORT)

# Python may keep the bytecode of hailong and its tests (pytest's rewritten asserts): where
# the machine sets PYTHONDONTWRITEBYTECODE, every process of every run compiled them again.
unexport PYTHONDONTWRITEBYTECODE

# pytest-xdist: four workers on the two cores the suite is measured on. Its tests wait on
# Chromium, servers and timeouts much of the time: with three, the whole suite kept the two
# cores 114 % busy (of 200 %) and took 1,272 s. Four workers together with most browser
# tests on one database (tests/conftest.py ONE_BACKEND) took 949 s at 141 %; the two
# changes were measured together (2026-12-07; three had taken 991 s against two's 1,247 s
# on 2026-12-06). Six took 572 s against four's 566 s (2026-12-07, a fast hour, 121-128 %
# busy: PostgreSQL and Chromium are the rest). Each worker has its own databases, files and
# ports.
# `make test XDIST=-n0`: one process.
XDIST ?= -n 4

# --durations: CI's log names the slowest tests, where its ~15 minutes go.
test: setup browser lint jslint typecheck ## the whole suite, on SQLite and (if reachable) PostgreSQL
	$(BIN)/pytest $(XDIST) --durations=25

# The quick loop while working: SQLite only, no browser, no subprocess servers, nothing
# that waits for a timeout to pass (`slow`), none of the nine tests that spend seconds of
# CPU each (`heavy`: a tenth of the loop's time). Its workers wait on sockets and threads
# a good part of the time, so more workers than cores fill it: four took 138 s and 134 s
# where three took 140 s and 139 s, alternating on one busy afternoon (2026-12-06).
XDIST_FAST ?= -n 4
test-fast: setup ## unit and API tests on SQLite (no browser, no subprocess servers)
	HAILONG_TEST_BACKENDS=sqlite \
		$(BIN)/pytest -q $(XDIST_FAST) -m "not browser and not servers and not slow and not heavy"

setup: $(STAMP)

# The pinned dependencies go in with uv (pinned itself, by hash, in requirements-uv.lock):
# it fetches and unpacks them in parallel, ~10 s on a fresh clone where pip took 50-70 s.
# Bytecode is compiled at install time, because this machine's PYTHONDONTWRITEBYTECODE=1
# would otherwise have every process compile every library it imports.
UV := $(BIN)/uv pip install --python $(BIN)/python

$(STAMP):
	@$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), "hailong needs Python 3.11"'
	@$(PYTHON) -m venv $(VENV) 2>/dev/null || { \
	  echo "python3 -m venv is missing: installing Debian's python3-venv"; \
	  apt-get install -y -qq python3-venv && $(PYTHON) -m venv $(VENV); }
	$(BIN)/pip install --quiet --disable-pip-version-check --require-hashes -r requirements-uv.lock
	$(UV) --quiet --require-hashes --compile-bytecode -r requirements-dev.lock
	$(UV) --quiet --no-deps -e . -e clients/python
	@rm -f $(VENV)/.installed-*
	@touch $@

# Browser tests drive Debian's Chromium; install it when we can, otherwise they are skipped
# (and CI, which sets HAILONG_TEST_REQUIRE_BROWSER=1, fails instead of skipping).
# Fonts: Vietnamese text and the emoji faces on the survey must render in screenshots.
BROWSER_PACKAGES := chromium fonts-noto-core fonts-noto-color-emoji

browser:
	@if [ -x /usr/bin/chromium ] && fc-list 2>/dev/null | grep -qi "Noto Color Emoji"; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "Installing $(BROWSER_PACKAGES) for the browser tests"; \
	  apt-get install -y -qq $(BROWSER_PACKAGES) >/dev/null 2>&1 || \
	  { apt-get update -qq && apt-get install -y -qq $(BROWSER_PACKAGES) >/dev/null; }; \
	else echo "Chromium is not installed and cannot be installed here: browser tests will be skipped"; fi

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# ESLint for the kiosk's ES modules and service worker, pinned by tools/jslint/package-lock.json
# (`npm ci` when the lock changed or on a clean clone; Node 18+ and npm needed).
JSLINT := tools/jslint
JSLINT_STAMP := $(JSLINT)/node_modules/.installed-$(shell cat $(JSLINT)/package-lock.json 2>/dev/null | cksum | cut -d' ' -f1)

jslint: $(JSLINT_STAMP) ## lint the kiosk's JavaScript (ESLint, recommended rules)
	$(JSLINT)/node_modules/.bin/eslint --max-warnings 0 -c $(JSLINT)/eslint.config.js static/kiosk static/kiosk-sw.js

$(JSLINT_STAMP): $(JSLINT)/package.json $(JSLINT)/package-lock.json
	cd $(JSLINT) && npm ci --no-audit --no-fund --loglevel=error
	@rm -f $(JSLINT)/node_modules/.installed-*
	@touch $@

typecheck: setup
	$(BIN)/mypy

# Every benchmark, one after the other, then bench/results/REPORT.md (bench/README.md).
# `make bench BENCH_ARGS=--quick` for smaller sizes and shorter runs.
BENCH_ARGS ?=

bench: setup ## run every benchmark and write bench/results/REPORT.md
	$(BIN)/python bench/report.py $(BENCH_ARGS)

lock: setup ## re-pin dependencies after editing pyproject.toml
	$(BIN)/uv pip compile pyproject.toml --python-version 3.11 --generate-hashes -o requirements.lock -q
	$(BIN)/uv pip compile pyproject.toml --extra dev --python-version 3.11 --generate-hashes -o requirements-dev.lock -q

i18n: setup ## re-extract page texts and rebuild the English catalog from scripts/translations_en.py
	$(BIN)/pybabel extract -F babel.cfg -o locale/messages.pot --no-location --omit-header . >/dev/null
	$(BIN)/python scripts/translations_en.py

clean:
	rm -rf $(VENV) artifacts .pytest_cache .mypy_cache .ruff_cache tools/jslint/node_modules tests/harness/oidc/node_modules
