# The two commands: `make run` (try the product) and `make test` (pass the suite).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
HOST ?= 127.0.0.1
PORT ?= 8000

# Tests run with production-like settings (DEBUG off) and a throwaway key; HTTPS redirects are off
# because the test client speaks plain HTTP.
TEST_ENV := DEBUG=false SECRET_KEY=tests-only-insecure-key SECURE_SSL_REDIRECT=false
DEPLOY_ENV := DEBUG=false SECRET_KEY=deploy-check-$$(od -An -N32 -tx1 /dev/urandom | tr -d ' \n') ALLOWED_HOSTS=shop.example.com \
  SITE_URL=https://shop.example.com STRIPE_SECRET_KEY=sk_test_deploy_check STRIPE_WEBHOOK_SECRET=whsec_deploy_check

.PHONY: run test install lint check-deploy test-unit test-browser browser pgbouncer clean

# Order-only: the local .env is written once, and never makes the install run again.
$(STAMP): pyproject.toml | .env
	$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { echo "Python 3.11+ is required"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

install: $(STAMP)

# A local .env, so `manage.py` works in this checkout: DEBUG on (the checkout simulator needs it)
# and a random secret key. The test targets set their own settings, which the .env never overrides.
.env:
	printf 'DEBUG=true\nSECRET_KEY=%s\n' "$$(od -An -N32 -tx1 /dev/urandom | tr -d ' \n')" > $@

# The demo writes customer e-mails to files instead of printing each one in the terminal among
# daphne's log (the seed data alone sends a few): .cache/mail/, one file per mail. Set EMAIL_URL
# (e.g. `make run EMAIL_URL=consolemail://`) to choose otherwise; manage.py's default stays the
# console backend.
run: export EMAIL_URL ?= filemail:///$(CURDIR)/.cache/mail
run: export PICKUP_ADDRESS ?= Print Shop, 12 Demo Street, Springfield
run: export PICKUP_HOURS ?= Mon-Fri 9:00-17:00
# The server and the task worker build every link in a mail on SITE_URL: the demo's own address.
run: export SITE_URL ?= http://$(HOST):$(PORT)
# The demo runs as production does, DEBUG off, so visitors see the shop's own 404/403/500 pages
# (docs/decisions/0066); the checkout simulator stays on by its own setting, and plain http on
# 127.0.0.1 needs no HTTPS redirect, secure cookies or HSTS. `make run DEBUG=true` for Django's
# debug pages.
run: export DEBUG ?= false
run: export CHECKOUT_SIMULATOR ?= true
run: export SHOPIFY_SIMULATOR ?= true
run: export SECURE_SSL_REDIRECT ?= false
run: export SESSION_COOKIE_SECURE ?= false
run: export CSRF_COOKIE_SECURE ?= false
run: export SECURE_HSTS_SECONDS ?= 0
# Log lines for a person reading the terminal (production writes JSON lines: LOG_FORMAT=json).
run: export LOG_FORMAT ?= plain
run: $(STAMP) .env
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py collectstatic --noinput --verbosity 0
	$(BIN)/python manage.py seed_demo
	@echo "Serving on http://$(HOST):$(PORT)/ as customer@example.com, operator@example.com (/ops/orders)"
	@echo "or support@example.com (/admin/), password demo. Customer e-mails: $$EMAIL_URL"
	@# The task worker (customer e-mail, password resets) runs beside daphne. Ctrl-C reaches both
	@# (one process group) and the worker finishes its task; the trap gives it a second, then
	@# stops it (also when daphne exits on its own).
	$(BIN)/python manage.py task_worker --no-reload --queue-name default,artwork & worker=$$!; \
	  trap 'kill -0 $$worker 2>/dev/null && sleep 1; kill $$worker 2>/dev/null; wait $$worker' \
	    EXIT INT TERM; \
	  $(BIN)/python -m production.plumbing.bounded_daphne -b $(HOST) -p $(PORT) config.asgi:application

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(TEST_ENV) DATABASE_URL=sqlite://:memory: $(BIN)/python manage.py makemigrations --check --dry-run

check-deploy: $(STAMP)
	$(DEPLOY_ENV) $(BIN)/python manage.py check --deploy --fail-level WARNING

# Debian's chromium drives the browser tests; installed when missing and we may (root + apt).
# axe-core (accessibility checks of every page) comes from npm into .cache/npm (gitignored).
browser:
	@command -v chromium >/dev/null || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
	  (apt-get update -qq && apt-get install -y -qq chromium >/dev/null) ; } || \
	  echo "chromium not available: browser tests will be skipped"
	@test -f .cache/npm/node_modules/axe-core/axe.min.js || \
	  { command -v npm >/dev/null && npm install --no-save --no-audit --no-fund --silent \
	    --prefix .cache/npm axe-core@4 ; } || \
	  echo "npm not available: the page-layout browser tests will be skipped"

# On PostgreSQL the fault suite reaches it through a PgBouncer of its own, in transaction pooling
# mode as a shop on several hosts runs (deploy/pgbouncer.ini): Debian's pgbouncer, installed when
# missing and we may (root + apt), as for chromium.
pgbouncer:
	@case "$$DATABASE_URL" in postgres*) \
	  command -v pgbouncer >/dev/null || test -x /usr/sbin/pgbouncer || \
	  { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
	    (apt-get update -qq && apt-get install -y -qq pgbouncer >/dev/null) ; } || \
	  echo "pgbouncer not available: the fault suite reaches PostgreSQL directly" ;; esac

test-unit: $(STAMP) pgbouncer
	$(TEST_ENV) $(BIN)/pytest -m "not browser" $(ARGS)

# Playwright's sync loop must not share a process with the asyncio tests (-p no:asyncio).
test-browser: $(STAMP) browser
	$(TEST_ENV) DJANGO_ALLOW_ASYNC_UNSAFE=true $(BIN)/pytest -m browser -p no:asyncio $(ARGS); \
	  status=$$?; [ $$status -eq 5 ] && exit 0 || exit $$status

test: lint check-deploy test-unit test-browser

clean:
	rm -rf $(VENV) staticfiles .pytest_cache .ruff_cache
