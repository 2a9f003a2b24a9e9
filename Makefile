# safecampus: `make run` (demo on SQLite) and `make test` (the whole suite).
PORT ?= 8000
PYTEST_ARGS ?= -n 2
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip -q --disable-pip-version-check

.PHONY: run test lint format migrations-check messages bench clean

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PIP) install -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed pyproject.toml
	$(PIP) install -e ".[test]"
	touch $@

# gunicorn's gthread workers keep a client's connection open between requests (the
# sync worker closes it after each): 1.25-1.6x the requests a second on two cores.
run: $(VENV)/.installed
	$(PY) manage.py migrate --noinput -v0
	$(PY) manage.py collectstatic --noinput -v0
	$(PY) manage.py demo load
	@echo ""
	@echo "safecampus is running at http://127.0.0.1:$(PORT)/  (Ctrl-C stops it)"
	@SITE_URL=http://127.0.0.1:$(PORT) $(PY) manage.py worker & worker=$$!; \
	trap 'kill $$worker 2>/dev/null' EXIT INT TERM; \
	SITE_URL=http://127.0.0.1:$(PORT) HTTPS=0 $(VENV)/bin/gunicorn safecampus.wsgi \
		--bind 127.0.0.1:$(PORT) --workers 2 --worker-class gthread --access-logfile -

test: $(VENV)/.installed-test
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(PY) manage.py makemigrations --check --dry-run -v1
	$(VENV)/bin/lint-imports --no-logo --no-cache
	$(VENV)/bin/pytest $(PYTEST_ARGS)

lint: $(VENV)/.installed-test
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports --no-logo --no-cache

format: $(VENV)/.installed-test
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

migrations-check: $(VENV)/.installed
	$(PY) manage.py makemigrations --check --dry-run

# Needs GNU gettext (msgfmt); the compiled .mo files are committed.
messages: $(VENV)/.installed
	$(PY) manage.py makemessages -l zh_Hans -l en --no-obsolete -i ".venv/*" -i "var/*" -i "bench/*" -i "*/migrations/*"
	$(PY) manage.py compilemessages -v0

bench: $(VENV)/.installed-test
	$(PY) bench/orgs_subtree.py
	$(PY) bench/notify_overdue.py
	$(PY) bench/notify_fanout.py
	$(PY) bench/worker_faults.py
	$(PY) bench/incidents_chain.py
	$(PY) bench/hazards_scale.py $(if $(filter postgres%,$(DATABASE_URL)),,--small)

clean:
	rm -rf $(VENV) var/static
