#!/usr/bin/env bash
# Runs the database tests (pytest -m database) a second time, against
# PostgreSQL on 127.0.0.1:5432, in a throwaway database this script creates
# and drops. pytest-django makes its test_ database beside it; --reuse-db
# leaves that one to this script too, which drops it even while threads of
# the run still hold connections to it.
set -euo pipefail
cd "$(dirname "$0")/.."

name="playground_ci_$(date +%s)_$$"
psql_admin() { psql -h 127.0.0.1 -U postgres -d postgres -v ON_ERROR_STOP=1 -q "$@"; }
cleanup() {
    psql_admin -c "DROP DATABASE IF EXISTS test_$name WITH (FORCE)" || true
    psql_admin -c "DROP DATABASE IF EXISTS $name WITH (FORCE)" || true
}
trap cleanup EXIT

psql_admin -c "CREATE DATABASE $name"
echo "test-postgres: database tests against PostgreSQL ($name)"
PLAYGROUND_DATABASE_URL="postgres://postgres@127.0.0.1:5432/$name" \
    .venv/bin/python -m pytest -m database --reuse-db "$@"
