# The workbench's entry points. `make demo` and `make test` are the README's two commands.

VENV ?= .venv
PYTHON ?= python3
PY := $(VENV)/bin/python
# Tests run against the real services; override these to point elsewhere.
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/workbench
TEST_BROKER_URL ?= redis://127.0.0.1:6379/15

.PHONY: demo test repeat lint typecheck worker bench clean

# Create the virtualenv and install what the workbench needs to run (again when it changes).
$(VENV)/.installed: requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

# Add the tests' reference libraries, the benchmarks' and the tooling (for test, lint...).
$(VENV)/.installed-dev: $(VENV)/.installed requirements-dev.txt
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

# Bring the workbench up at http://127.0.0.1:8000 with the seeds loaded. With no
# DATABASE_URL or CELERY_BROKER_URL set: SQLite and tasks run in-process.
demo: $(VENV)/.installed
	$(PY) manage.py migrate --noinput
	$(PY) manage.py load_seeds
	$(PY) manage.py runserver 127.0.0.1:8000

# The whole suite: PostgreSQL, Redis, live Celery workers and Chromium (see .ci/run).
test: $(VENV)/.installed-dev
	DATABASE_URL=$(TEST_DATABASE_URL) CELERY_BROKER_URL=$(TEST_BROKER_URL) \
		$(PY) -m pytest -rfE --output test-results --screenshot only-on-failure $(PYTEST_ARGS)

# Proof of determinism: the browser tests REPEAT times in a row (default 10), stopping at
# the first failure. `make repeat REPEAT=5 REPEAT_ARGS=` runs the whole suite five times.
REPEAT ?= 10
REPEAT_ARGS ?= -m browser
repeat: $(VENV)/.installed-dev
	for run in $$(seq $(REPEAT)); do \
		echo "== run $$run of $(REPEAT)"; \
		$(MAKE) --no-print-directory test PYTEST_ARGS="-q $(REPEAT_ARGS) $(PYTEST_ARGS)" || exit 1; \
	done

# Lint, format check, and migrations that match the models.
lint: $(VENV)/.installed-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(PY) manage.py makemigrations --check --dry-run

# Static types (strict on the Django-free packages, see pyproject.toml).
typecheck: $(VENV)/.installed-dev
	$(VENV)/bin/mypy annotations workbench

# A Celery worker for the real setup (needs CELERY_BROKER_URL), with the beat schedule
# (the sweep of jobs whose worker died) in the same process.
worker: $(VENV)/.installed
	$(VENV)/bin/celery -A workbench worker -B --loglevel=INFO

# Every benchmark in bench/; each prints its figures (see bench/README.md).
bench: $(VENV)/.installed-dev
	for script in bench/[!_]*.py; do $(PY) $$script || exit 1; done

clean:
	rm -rf test-results .pytest_cache .mypy_cache .ruff_cache
