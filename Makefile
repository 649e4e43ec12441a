# claimdesk development tasks. `make help` lists them.

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
MAKEFLAGS += --no-print-directory

VENV ?= .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
UV := $(BIN)/uv
# Touched after each successful sync: the venv is re-synced only when the lock is newer.
STAMP := $(VENV)/.synced-dev
LOCKS := requirements/base.txt requirements/dev.txt
DEMO_ADDR ?= 127.0.0.1:8000

# uv must never try to download an interpreter: only PyPI is reachable.
export UV_PYTHON_DOWNLOADS := never
# The uv cache and the venv often sit on different file systems; copy quietly.
export UV_LINK_MODE := copy

# Print the first interpreter that runs and is Python >= 3.12; exit 1 if none.
# A pyenv shim for a version that is not selected exists but exits non-zero,
# so each candidate is run, not merely looked up.
define FIND_PYTHON
ok() { "$$1" -c 'import sys; sys.exit(sys.version_info < (3, 12))' >/dev/null 2>&1; }; \
if [ -n "$(PYTHON)" ]; then \
  if ok "$(PYTHON)"; then command -v "$(PYTHON)"; exit 0; fi; \
  echo "error: PYTHON=$(PYTHON) does not run as Python >= 3.12" >&2; exit 1; \
fi; \
for c in python3.13 python3.12 $(HOME)/.pyenv/versions/3.1[23]*/bin/python3; do \
  if ok "$$c"; then command -v "$$c"; exit 0; fi; \
done; \
if command -v uv >/dev/null 2>&1 && c="$$(uv python find '>=3.12' 2>/dev/null)" && ok "$$c"; then \
  echo "$$c"; exit 0; \
fi; \
{ echo "error: claimdesk needs Python >= 3.12 (Django 6.1) and none was found."; \
  echo "  Tried: \$$PYTHON, python3.13, python3.12, $(HOME)/.pyenv/versions/3.1[23]*/bin/python3, uv python find."; \
  echo "  Install one, or name it: make PYTHON=/path/to/python3.12 ..."; } >&2; \
exit 1
endef

.PHONY: help python install demo test test-core lint fmt lock lock-upgrade clean screenshots

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  make %-13s %s\n", $$1, $$2}'

python: ## Print the Python >= 3.12 that would create the venv
	@$(FIND_PYTHON)

$(PY):
	@py="$$($(FIND_PYTHON))"; \
	echo "Creating $(VENV) with $$py ($$("$$py" -V))"; \
	"$$py" -m venv $(VENV)
	@$(PY) -c 'import sys; sys.exit(sys.version_info < (3, 12))' || { \
	  echo "error: $(VENV) uses $$($(PY) -V); claimdesk needs >= 3.12. Remove it: rm -rf $(VENV)" >&2; \
	  exit 1; }

$(UV): | $(PY)
	@$(PY) -m pip --version >/dev/null 2>&1 || $(PY) -m ensurepip --upgrade >/dev/null
	$(PY) -m pip install --quiet --disable-pip-version-check \
	  "$$(grep -E '^uv==' requirements/dev.txt || echo uv)"

$(STAMP): $(LOCKS) | $(UV)
	@$(PY) -c 'import sys; sys.exit(sys.version_info < (3, 12))' || { \
	  echo "error: $(VENV) uses $$($(PY) -V); claimdesk needs >= 3.12. Remove it: rm -rf $(VENV)" >&2; \
	  exit 1; }
	$(UV) pip sync --quiet --python $(PY) requirements/dev.txt
	@touch $@

install: $(STAMP) ## Create .venv and install the locked dependencies (re-syncs only when the lock changed)

# The worker runs in its own session (setsid): when the server stops, for
# whatever reason, the EXIT trap ends the worker and anything it spawned, and
# Ctrl-C in the terminal reaches only the server. DEBUG is off unless asked for:
# the demo asks (tracebacks and static files served by runserver).
demo: install ## Migrate, load demo data, run the worker and the server on http://127.0.0.1:8000/
	@mkdir -p var/mail
	$(PY) manage.py migrate --no-input
	$(PY) manage.py createcachetable
	$(PY) manage.py load_demo
	@echo
	@echo "Mail sent by the demo is written to var/mail/ (one file per message)."
	@echo "Starting the task worker and the server on http://$(DEMO_ADDR)/ (Ctrl-C stops both)."
	@echo
	@export PYTHONUNBUFFERED=1 DJANGO_DEBUG=1; \
	setsid $(PY) manage.py worker & worker=$$!; \
	trap 'kill -TERM -- -$$worker 2>/dev/null || kill -TERM $$worker 2>/dev/null || true; wait $$worker 2>/dev/null || true' EXIT; \
	trap 'exit 130' INT TERM; \
	$(PY) manage.py runserver $(DEMO_ADDR) --noreload

lint: install ## ruff, ruff format --check, import contracts, mypy
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/mypy claimdesk config

test: lint ## Lint, then the whole test suite against DATABASE_URL (SQLite by default)
	$(BIN)/pytest

test-core: install ## Tests that need neither Chromium nor PostgreSQL, on SQLite
	env -u DATABASE_URL $(BIN)/pytest -m "not browser and not postgres"

screenshots: install ## Save screenshots of the main pages to docs/screenshots/ (needs chromium, fonts-noto-cjk)
	$(BIN)/pytest -m screenshots -p no:cacheprovider tests/browser/test_screenshots.py

fmt: install ## Format and auto-fix
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

lock: | $(UV) ## Recompile requirements/*.txt from requirements/*.in, keeping current pins
	$(UV) pip compile --quiet --python-version 3.12 --custom-compile-command "make lock" \
	  $(LOCK_FLAGS) -o requirements/base.txt requirements/base.in
	$(UV) pip compile --quiet --python-version 3.12 --custom-compile-command "make lock" \
	  $(LOCK_FLAGS) -o requirements/dev.txt requirements/dev.in

lock-upgrade: ## Recompile the lock files, moving every pin to its newest allowed release
	@$(MAKE) lock LOCK_FLAGS=--upgrade

clean: ## Remove caches (keeps .venv and var/)
	rm -rf .mypy_cache .ruff_cache .pytest_cache .hypothesis
	find . -name __pycache__ -not -path './$(VENV)/*' -prune -exec rm -rf {} +
