# The two commands a new machine needs (as root on Debian):
#   make run    install what is missing, then serve http://127.0.0.1:8000
#   make test   install what is missing, then run the whole test suite
PY := .venv/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test check lock install install-test editor runtimes bench

install:
	bash scripts/bootstrap.sh

install-test:
	bash scripts/bootstrap.sh --with-browser

run: install
	$(PY) manage.py check --fail-level ERROR
	$(PY) manage.py migrate --noinput -v0
	$(PY) -m playground.serve -b $(HOST) -p $(PORT) playground.asgi:application

test: install-test runtimes
	bash scripts/check.sh
	bash scripts/services.sh
	$(PY) -m pytest
	bash scripts/test-postgres.sh

# The build gates alone: lint, format, types, bandit, pip-audit, editor bundle.
check: install-test
	bash scripts/check.sh

# Re-pin every Python package, with hashes, from requirements.txt.
lock:
	$(PY) -m pip install -q pip-tools
	PIP_CONFIG_FILE=/dev/null $(PY) -m piptools compile -q --generate-hashes \
	    --allow-unsafe --strip-extras --no-emit-index-url --no-emit-find-links \
	    --output-file requirements.lock requirements.txt

# Install the packages every runtime file in runtimes/ declares (as root).
runtimes:
	bash scripts/runtimes.sh

# Rebuild the committed editor bundle from frontend/ (needs Node.js and npm).
editor:
	cd frontend && npm ci && npm run build

# The sandbox's cost against the bare process: seven rows, under five minutes.
bench: install
	$(PY) bench/run.py
