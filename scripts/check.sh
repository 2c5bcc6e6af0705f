#!/usr/bin/env bash
# The build gates `make test` runs before the suite: lint and format, strict
# types on the engine, static security analysis, an audit of the locked
# dependencies, and a check that the committed editor bundle is what its
# sources build. Each failure is named; the script fails if any gate fails.
set -uo pipefail
cd "$(dirname "$0")/.."
failed=()

gate() {
    local name=$1; shift
    echo "check: $name"
    "$@" || failed+=("$name")
}

audit_dependencies() {
    local out
    out=$(.venv/bin/pip-audit --strict --progress-spinner off --disable-pip \
          --no-deps -r requirements.lock 2>&1) && { echo "$out"; return 0; }
    echo "$out"
    if grep -qiE "known vulnerabilit|^Name +Version" <<<"$out"; then
        return 1
    fi
    echo "check: the vulnerability data could not be reached;" \
         "the dependency audit did NOT run (the other gates did)"
}

bundle_matches_sources() {
    if ! command -v npm >/dev/null; then
        echo "check: npm is missing; run scripts/bootstrap.sh --with-browser"
        return 1
    fi
    local tmp status
    tmp=$(mktemp -d)
    mkdir -p "$tmp/static/playground" "$tmp/frontend"
    cp -r frontend/package.json frontend/package-lock.json frontend/src "$tmp/frontend/"
    (cd "$tmp/frontend" && npm ci --silent --no-audit --no-fund \
        && npm run --silent build >/dev/null 2>&1) \
        && cmp static/playground/editor.bundle.js "$tmp/static/playground/editor.bundle.js"
    status=$?
    rm -rf "$tmp"
    return $status
}

gate "ruff lint" .venv/bin/ruff check .
gate "ruff format" .venv/bin/ruff format --check .
gate "mypy --strict executor" .venv/bin/mypy
gate "bandit" .venv/bin/bandit -q -r executor playground
gate "pip-audit" audit_dependencies
gate "editor bundle" bundle_matches_sources

if [ ${#failed[@]} -gt 0 ]; then
    printf 'check: FAILED: %s\n' "${failed[@]}"
    exit 1
fi
echo "check: all gates passed"
