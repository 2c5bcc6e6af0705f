#!/usr/bin/env bash
# Installs what the playground needs and is missing: Debian packages (the
# runtimes' toolchains, libcap for python-prctl, libseccomp, and for the tests
# Chromium and npm) and a virtual environment with the Python packages of
# requirements.lock, each checked against its hash.
# Safe to run again: each step checks before it installs.
set -euo pipefail
cd "$(dirname "$0")/.."

want_browser=${1:-}
packages=(python3 python3-venv python3-dev gcc g++ libc6-dev musl-tools make libcap-dev
          libseccomp2 libseccomp-dev bash coreutils procps nodejs)
if [ "$want_browser" = "--with-browser" ]; then
    packages+=(chromium fonts-dejavu-core)
    # The distributed tests: Redis, PostgreSQL, and the Compose client that
    # validates docker-compose.yml (no Docker engine needed).
    packages+=(redis-server postgresql docker-compose)
    command -v npm >/dev/null || packages+=(npm)  # rebuilds the editor bundle
fi

missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' \
        || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" -ne 0 ]; then
        echo "bootstrap: missing Debian packages: ${missing[*]}" >&2
        echo "bootstrap: run as root, or install them with apt-get" >&2
        exit 1
    fi
    echo "bootstrap: installing ${missing[*]}"
    apt-get -o DPkg::Lock::Timeout=600 update -qq
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq \
        --no-install-recommends \
        "${missing[@]}"
fi

stamp=.venv/.requirements.sha256
sum=$(sha256sum requirements.lock | cut -d' ' -f1)
if [ ! -x .venv/bin/python ] || [ "$(cat "$stamp" 2>/dev/null)" != "$sum" ]; then
    /usr/bin/python3 -m venv .venv
    .venv/bin/pip install -q --require-hashes -r requirements.lock
    echo "$sum" > "$stamp"
fi

# The browser tests inject axe-core (pinned in tests/browser/axe/) into the
# pages they check for accessibility; nothing is fetched while they run.
if [ "$want_browser" = "--with-browser" ]; then
    axe_stamp=tests/browser/axe/node_modules/.lock.sha256
    axe_sum=$(sha256sum tests/browser/axe/package-lock.json | cut -d' ' -f1)
    if [ "$(cat "$axe_stamp" 2>/dev/null)" != "$axe_sum" ]; then
        (cd tests/browser/axe && npm ci --silent --no-audit --no-fund)
        echo "$axe_sum" > "$axe_stamp"
    fi
fi

# The sandbox launcher, a small C binary (executor/sandbox/launcher/).
bash scripts/launcher.sh
