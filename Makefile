# Developer and CI tooling for the kam_management Odoo 18.0 addon.
#
#   make lint      ruff (check + format --check) and pylint-odoo (OCA mandatory checks)
#   make format    apply ruff's fixes and formatting
#   make test      lint, then the addon's tests under Odoo's own runner, then under pytest-odoo
#   make demo-db   fresh database kam_demo (DEMO_DB) with demo data, login admin / admin
#   make demo      demo-db, then serve it on http://localhost:8069 (DEMO_HTTP_PORT)
#   make bench     bench/run_bench.py against database kam_bench (BENCH_DB)
#
# Odoo is located at run time through `python3 -c "import odoo"`; nothing here
# depends on where it is installed.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
.NOTPARALLEL:

PYTHON ?= python3
MODULE ?= kam_management
# Folder of the addon (tests, lint); the addons path is derived from its parent.
MODULE_DIR ?= $(MODULE)
TEST_DB ?= kam_test
DEMO_DB ?= kam_demo
BENCH_DB ?= kam_bench
DEMO_HTTP_PORT ?= 8069
# Extra addons folders (comma or space separated), put in front of the addons path.
EXTRA_ADDONS_PATH ?=
BUILD_DIR ?= .build
TEST_LOG ?= $(BUILD_DIR)/odoo-test.log

# Tool versions (checked with Python 3.11, pytest 9, Odoo 18.0).
PYTEST_ODOO_VERSION ?= 2.3.0
PYLINT_ODOO_VERSION ?= 10.0.12
RUFF_VERSION ?= 0.17.6
# websocket-client: Odoo's HttpCase drives headless Chromium through it (browser_js, tours).
WEBSOCKET_CLIENT_VERSION ?= 1.9.2
TEST_REQUIREMENTS ?= pytest-odoo==$(PYTEST_ODOO_VERSION) websocket-client==$(WEBSOCKET_CLIENT_VERSION)
LINT_REQUIREMENTS ?= ruff==$(RUFF_VERSION) pylint-odoo==$(PYLINT_ODOO_VERSION)

RUFF_PATHS ?= $(MODULE_DIR) $(wildcard bench)
PYLINT_PATHS ?= $(MODULE_DIR)

# Evaluated once, on first use, so that `make lint` works without Odoo.
#   addons path = EXTRA_ADDONS_PATH + folder holding MODULE_DIR + <odoo>/addons + <odoo>/../addons
ADDONS_PATH ?= $(eval ADDONS_PATH := $(shell $(PYTHON) -c 'import os, sys, odoo; \
	d = os.path.dirname(odoo.__file__); \
	c = [os.path.abspath(p) for a in sys.argv[1:] for p in a.split(",") if p] \
	  + [os.path.join(d, "addons"), os.path.normpath(os.path.join(d, os.pardir, "addons"))]; \
	print(",".join(dict.fromkeys(p for p in c if os.path.isdir(p))))' \
	$(EXTRA_ADDONS_PATH) $(abspath $(MODULE_DIR)/..) 2>/dev/null))$(ADDONS_PATH)
# A free TCP port for the HTTP server of the test run (HttpCase needs one).
TEST_HTTP_PORT ?= $(eval TEST_HTTP_PORT := $(shell $(PYTHON) -c 'import socket; \
	s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'))$(TEST_HTTP_PORT)

TEST_CONF := $(BUILD_DIR)/odoo-test.conf
DEMO_CONF := $(BUILD_DIR)/odoo-demo.conf

# $(call ensure_pip,<requirements>): pip install them unless exactly these versions are present.
define ensure_pip
	@$(PYTHON) -c 'import sys, importlib.metadata as m; \
	sys.exit(any(m.version(n) != v for n, v in (r.split("==") for r in sys.argv[1:])))' $(1) 2>/dev/null \
	|| $(PYTHON) -m pip install --quiet --disable-pip-version-check $(1)
endef

# $(call odoo_conf,<file>,<db>,<http port>): Odoo config file for one database.  Using our own
# file keeps a personal ~/.odoorc out of the runs; data_dir keeps filestores under $(BUILD_DIR).
define odoo_conf
	@mkdir -p $(BUILD_DIR)
	@printf '%s\n' '[options]' \
	  'addons_path = $(ADDONS_PATH)' \
	  'data_dir = $(abspath $(BUILD_DIR))/data' \
	  'db_name = $(2)' \
	  'dbfilter = ^$(2)$$' \
	  'http_port = $(3)' \
	  'without_demo = False' \
	  'list_db = False' > $(1)
endef

# $(call fresh_db,<config file>,<db>): drop the database (and its filestore) if it exists, then
# create it empty the way Odoo does (UTF8, C collation, template0, pg_trgm).
define fresh_db
	@if [ "$$(psql -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$(2)'")" = 1 ]; then \
	  echo "Dropping database $(2)"; $(PYTHON) -m odoo db -c $(1) drop $(2); fi
	@echo "Creating database $(2)"
	@createdb --encoding=UTF8 --lc-collate=C --template=template0 $(2)
	@psql -q -d $(2) -c 'CREATE EXTENSION IF NOT EXISTS pg_trgm'
endef

.PHONY: help lint lint-deps format test test-deps test-odoo test-pytest demo demo-db bench check-odoo clean

help:
	@sed -n 's/^#   make /  make /p' $(firstword $(MAKEFILE_LIST))

check-odoo:
	@$(PYTHON) -c 'import odoo' 2>/dev/null || { echo "Odoo 18.0 is not importable: install Odoo 18.0 Community so that \`python3 -c 'import odoo'\` works, then run again." >&2; exit 1; }
	@$(PYTHON) -c 'import odoo.release as r, sys; sys.exit(r.version_info[:2] != (18, 0))' \
	  || { echo "Odoo 18.0 is required, found $$($(PYTHON) -c 'import odoo.release as r; print(r.version)')." >&2; exit 1; }

## ---------------------------------------------------------------- lint
lint-deps:
	$(call ensure_pip,$(LINT_REQUIREMENTS))

lint: lint-deps
	@status=0; \
	echo "== ruff check $(RUFF_PATHS)"; $(PYTHON) -m ruff check --no-fix --output-format=concise $(RUFF_PATHS) || status=1; \
	echo "== ruff format --check $(RUFF_PATHS)"; $(PYTHON) -m ruff format --check --output-format=concise $(RUFF_PATHS) || status=1; \
	echo "== pylint (pylint-odoo, OCA mandatory checks) $(PYLINT_PATHS)"; \
	$(PYTHON) -m pylint --rcfile=.pylintrc $(PYLINT_PATHS) || status=1; \
	if [ $$status -ne 0 ]; then echo "make lint: FAILED (make format applies ruff's fixes and formatting)" >&2; \
	else echo "make lint: OK"; fi; \
	exit $$status

# Rewrites files: ruff's safe fixes, then ruff format.  pylint findings are left to you.
format: lint-deps
	$(PYTHON) -m ruff check --fix $(RUFF_PATHS) || true
	$(PYTHON) -m ruff format $(RUFF_PATHS)

## ---------------------------------------------------------------- tests
test-deps:
	$(call ensure_pip,$(TEST_REQUIREMENTS))

test: lint test-odoo test-pytest

# Odoo's own runner.  Its exit code alone is not trusted: the run fails when
#  - odoo exits non-zero, or
#  - the log has an ERROR or CRITICAL line (FAIL:/ERROR: of a test, a failed install, ...), or
#  - the closing line of odoo/tests/result.py ("<n> failed, <n> error(s) of <n> tests when
#    loading database ...") is missing, reports a failure or an error, or counts no test, or
#  - a browser test was skipped because Chromium or websocket-client is missing.
test-odoo: check-odoo test-deps
	$(call odoo_conf,$(TEST_CONF),$(TEST_DB),$(TEST_HTTP_PORT))
	$(call fresh_db,$(TEST_CONF),$(TEST_DB))
	@rc=0; \
	$(PYTHON) -m odoo -c $(TEST_CONF) -d $(TEST_DB) --addons-path=$(ADDONS_PATH) \
	  -i $(MODULE) --test-enable --test-tags /$(MODULE) --stop-after-init \
	  --http-port=$(TEST_HTTP_PORT) --log-level=test 2>&1 | tee $(TEST_LOG) || rc=$$?; \
	bad=$$(grep -E '^[0-9-]{10} [0-9:,]{12} [0-9]+ (ERROR|CRITICAL) ' $(TEST_LOG) || true); \
	summary=$$(grep -oE '[0-9]+ failed, [0-9]+ error\(s\) of [0-9]+ tests' $(TEST_LOG) | tail -n 1 || true); \
	read -r failed _ errors _ _ total _ <<< "$${summary:-x x x x x ? x}"; \
	nobrowser=$$(grep -E ': skipped .* : .*([Cc]hrome|websocket-client)' $(TEST_LOG) || true); \
	echo "== Odoo test run: exit code $$rc; summary: $${summary:-none}"; \
	if [ $$rc -ne 0 ] || [ -n "$$bad" ] || [ -n "$$nobrowser" ] || [ -z "$$summary" ] \
	   || [ "$$failed" != 0 ] || [ "$$errors" != 0 ] || [ "$$total" = 0 ]; then \
	  if [ -n "$$bad" ]; then echo "== ERROR/CRITICAL lines in $(TEST_LOG):"; printf '%s\n' "$$bad"; fi; \
	  if [ -n "$$nobrowser" ]; then echo "== Browser tests were skipped:"; printf '%s\n' "$$nobrowser"; fi; \
	  if [ -z "$$summary" ]; then echo "== Odoo printed no test summary (install failed or no test ran)."; fi; \
	  if [ "$$total" = 0 ]; then echo "== No Odoo test ran for $(MODULE)."; fi; \
	  echo "make test: Odoo test run FAILED (full log: $(TEST_LOG))" >&2; exit 1; \
	fi

# The same test files under pytest-odoo, against the database installed by test-odoo.
# --odoo-http starts Odoo's HTTP server inside pytest so HttpCase tests (url_open, browser_js,
# start_tour) run too; without it pytest-odoo skips every HttpCase.
test-pytest: check-odoo test-deps
	@echo "== pytest-odoo on $(MODULE_DIR)/tests (database $(TEST_DB))"
	@$(PYTHON) -m pytest -p no:cacheprovider --rootdir=$(CURDIR) \
	  --odoo-config=$(TEST_CONF) --odoo-database=$(TEST_DB) --odoo-addons-path=$(ADDONS_PATH) \
	  --odoo-http $(MODULE_DIR)/tests

## ---------------------------------------------------------------- demo
# A fresh database with Odoo's and the addon's demo data.  Base data gives the admin user the
# password "admin"; it is set again explicitly so the demo login is always admin / admin.
demo-db: check-odoo
	$(call odoo_conf,$(DEMO_CONF),$(DEMO_DB),$(DEMO_HTTP_PORT))
	$(call fresh_db,$(DEMO_CONF),$(DEMO_DB))
	$(PYTHON) -m odoo -c $(DEMO_CONF) -d $(DEMO_DB) --addons-path=$(ADDONS_PATH) \
	  -i $(MODULE) --stop-after-init --no-http
	@echo "env.ref('base.user_admin').password = 'admin'; env.cr.commit()" \
	  | $(PYTHON) -m odoo shell -c $(DEMO_CONF) -d $(DEMO_DB) --no-http --log-level=warn
	@echo "Database $(DEMO_DB) is ready: login admin, password admin."

demo: demo-db
	@echo "Serving $(DEMO_DB) on http://localhost:$(DEMO_HTTP_PORT) (Ctrl+C to stop)"
	$(PYTHON) -m odoo -c $(DEMO_CONF) -d $(DEMO_DB) --addons-path=$(ADDONS_PATH) \
	  --http-port=$(DEMO_HTTP_PORT)

## ---------------------------------------------------------------- bench
# bench/run_bench.py reads BENCH_DB and ODOO_ADDONS_PATH from the environment; BENCH_ARGS is
# passed through (e.g. make bench BENCH_ARGS="--customers 10000 --invoices 100000 --reuse").
BENCH_ARGS ?=
bench: check-odoo
	BENCH_DB=$(BENCH_DB) ODOO_ADDONS_PATH=$(ADDONS_PATH) $(PYTHON) bench/run_bench.py $(BENCH_ARGS)

clean:
	rm -rf $(BUILD_DIR) .pytest_cache .ruff_cache
