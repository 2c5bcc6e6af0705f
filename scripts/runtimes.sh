#!/usr/bin/env bash
# Installs what every runtime file in runtimes/ declares and is missing: its
# Debian `packages`, and its `npm` packages (only where Debian has none) into
# /usr/local/lib/npm-runtimes, which the sandbox sees under /usr.
# Safe to run again: each step checks before it installs.
set -euo pipefail
cd "$(dirname "$0")/.."

NPM_PREFIX=/usr/local/lib/npm-runtimes

declared() {  # the values of one list field across every runtime file
    /usr/bin/python3 - "$1" <<'PY'
import sys, tomllib, pathlib
names = set()
for path in sorted(pathlib.Path("runtimes").glob("*.toml")):
    names.update(tomllib.loads(path.read_text()).get(sys.argv[1], []))
print("\n".join(sorted(names)))
PY
}

missing=()
for p in $(declared packages); do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' \
        || missing+=("$p")
done
npm_missing=()
for spec in $(declared npm); do
    name=${spec%@*}
    wanted=${spec##*@}
    have=$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["version"])' \
        "$NPM_PREFIX/node_modules/$name/package.json" 2>/dev/null || true)
    [ "$have" = "$wanted" ] || npm_missing+=("$spec")
done
if [ ${#missing[@]} -eq 0 ] && [ ${#npm_missing[@]} -eq 0 ]; then
    exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
    echo "runtimes: missing: ${missing[*]} ${npm_missing[*]}" >&2
    echo "runtimes: run 'make runtimes' as root to install them" >&2
    exit 1
fi
if [ ${#missing[@]} -gt 0 ]; then
    echo "runtimes: installing ${missing[*]}"
    apt-get -o DPkg::Lock::Timeout=600 update -qq
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq \
        --no-install-recommends "${missing[@]}"
fi
if [ ${#npm_missing[@]} -gt 0 ]; then
    command -v npm >/dev/null || {
        DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install \
            -y -qq --no-install-recommends npm
    }
    echo "runtimes: installing from npm ${npm_missing[*]}"
    mkdir -p "$NPM_PREFIX"
    npm install --prefix "$NPM_PREFIX" --no-audit --no-fund --save-exact \
        "${npm_missing[@]}"
fi
