#!/usr/bin/env bash
# Builds the sandbox launcher (executor/sandbox/launcher/*.c) when a source,
# or this script, is newer than the binary; the supervisor refuses to run
# code without it.
# Linked statically against musl: every sandbox execs it. The dynamic loader
# cost about a third of a millisecond of CPU per sandbox on a small VM, and
# glibc's start-up probes the CPU's caches with cpuid, which a hypervisor
# traps: about as much again.
set -euo pipefail
script="$(cd "$(dirname "$0")" && pwd)/$(basename "$0")"
cd "$(dirname "$0")/../executor/sandbox/launcher"
binary=playground-launcher

build() {
    if ! command -v musl-gcc >/dev/null; then
        echo "launcher: musl-gcc is missing: install musl-tools (make install does)" >&2
        exit 1
    fi
    # musl brings no kernel headers: give it the system's (libc6-dev brings
    # them), and nothing else of glibc's. musl has no _FORTIFY_SOURCE; the
    # launcher's only input is the supervisor's, and the stack protector stays.
    local headers
    headers=$(mktemp -d)
    trap 'rm -rf "$headers"' RETURN
    ln -s /usr/include/linux /usr/include/asm-generic "$headers/"
    ln -s "/usr/include/$(gcc -print-multiarch)/asm" "$headers/asm"
    musl-gcc -O2 -std=gnu11 -Wall -Wextra -Werror -static -fstack-protector-strong \
        -isystem "$headers" -o "$binary.new" ./*.c
    mv "$binary.new" "$binary"
}

for source in *.c *.h "$script"; do
    if [ ! -x "$binary" ] || [ "$source" -nt "$binary" ]; then
        build
        break
    fi
done
