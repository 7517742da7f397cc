# Postino: `make run` serves the embedded default; `make test` runs the suite.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test lint messages bench bench-quick clean demo lock topology

# Installs come from the lock files (exact versions, checked by hash); `make lock` upgrades them.
$(STAMP): pyproject.toml requirements-dev.lock
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --require-hashes -r requirements-dev.lock
	$(PY) -m pip install --quiet --no-deps -e .
	touch $(STAMP)

# The one command that upgrades the locks: newest versions pyproject.toml allows, with hashes.
lock: $(STAMP)
	$(PY) -m pip install --quiet uv
	$(VENV)/bin/uv pip compile pyproject.toml --upgrade --generate-hashes --python-version 3.11 \
		--custom-compile-command "make lock" --quiet -o requirements.lock
	$(VENV)/bin/uv pip compile pyproject.toml --extra test --extra bench --upgrade --generate-hashes \
		--python-version 3.11 --custom-compile-command "make lock" --quiet -o requirements-dev.lock

run: $(STAMP)
	./scripts/run-embedded

# Four workers (pytest-xdist): each starts its own servers on free ports and has its own test database.
# The tests mostly wait on servers, browsers and processes, so 4 on 2 cores take 12 min where 2 took 18.
TEST_WORKERS ?= 4

test: $(STAMP)
	./scripts/ensure-system-packages
	$(VENV)/bin/ruff check .
	$(PY) manage.py compilemessages --ignore=.venv >/dev/null
	$(VENV)/bin/pytest -n $(TEST_WORKERS) --durations=25

# The docker-compose.yml topology as plain processes (web, 2 workers, beat, 2 IDLE listeners) on
# this machine's PostgreSQL and Redis, checked end to end (tests/messages_app/sync/test_topology.py).
TOPOLOGY_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/postino_topology
TOPOLOGY_BROKER_URL ?= redis://127.0.0.1:6379/0

topology: $(STAMP)
	DATABASE_URL=$(TOPOLOGY_DATABASE_URL) CELERY_BROKER_URL=$(TOPOLOGY_BROKER_URL) \
		$(VENV)/bin/pytest -p no:xdist tests/messages_app/sync/test_topology.py tests/messages_app/sync/test_idle_leases.py

lint: $(STAMP)
	$(VENV)/bin/ruff check .

messages: $(STAMP)
	$(PY) manage.py makemessages -l it -l en --ignore=.venv --ignore=var --ignore=tests --ignore=bench --ignore=scripts
	$(PY) manage.py makemessages -d djangojs -l it -l en --ignore=.venv --ignore=var --ignore=static/vendor
	$(PY) manage.py compilemessages --ignore=.venv

# A private Dovecot with a few hundred messages in two accounts, user `demo`, served on :8000.
demo: $(STAMP)
	./scripts/ensure-system-packages
	$(PY) manage.py compilemessages --ignore=.venv >/dev/null
	$(PY) scripts/demo.py

clean:
	rm -rf var .pytest_cache

# Benchmark (bench/README.md): a private Dovecot, a fresh PostgreSQL database `postino_bench`
# (PostgreSQL must answer on 127.0.0.1:5432, or set BENCH_PG_ADMIN_URL), mbsync from Debian's isync.
BENCH_STAMP := $(VENV)/.bench-installed

$(BENCH_STAMP): pyproject.toml $(STAMP)
	touch $(BENCH_STAMP)  # requirements-dev.lock has the bench extra too

bench: $(BENCH_STAMP)
	./scripts/ensure-system-packages
	$(PY) -m bench

bench-quick: $(BENCH_STAMP)
	./scripts/ensure-system-packages
	$(PY) -m bench --quick
