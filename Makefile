# Postino: `make run` serves the embedded default; `make test` runs the suite.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test lint messages bench bench-quick clean

$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[test]"
	touch $(STAMP)

run: $(STAMP)
	./scripts/run-embedded

test: $(STAMP)
	./scripts/ensure-system-packages
	$(VENV)/bin/ruff check .
	$(PY) manage.py compilemessages --ignore=.venv >/dev/null
	$(VENV)/bin/pytest

lint: $(STAMP)
	$(VENV)/bin/ruff check .

messages: $(STAMP)
	$(PY) manage.py makemessages -l it -l en --ignore=.venv --ignore=var
	$(PY) manage.py makemessages -d djangojs -l it -l en --ignore=.venv --ignore=var --ignore=static/vendor
	$(PY) manage.py compilemessages --ignore=.venv

clean:
	rm -rf var .pytest_cache
