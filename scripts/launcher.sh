#!/usr/bin/env bash
# Builds the sandbox launcher (executor/sandbox/launcher/*.c) when a source,
# or this script, is newer than the binary; the supervisor refuses to run
# code without it. The same files also make the zygote, a Python extension
# for the interpreter of runtimes/python.toml (zygote.c); without it, Python
# runs start their interpreter each time.
# Linked statically against musl: every sandbox execs it. The dynamic loader
# cost about a third of a millisecond of CPU per sandbox on a small VM, and
# glibc's start-up probes the CPU's caches with cpuid, which a hypervisor
# traps: about as much again.
set -euo pipefail
script="$(cd "$(dirname "$0")" && pwd)/$(basename "$0")"
cd "$(dirname "$0")/../executor/sandbox/launcher"
binary=playground-launcher
zygote=playground-zygote.so
interpreter=/usr/bin/python3

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
        -isystem "$headers" -o "$binary.new" $(ls ./*.c | grep -v zygote.c)
    mv "$binary.new" "$binary"
}

# glibc's, as the interpreter it loads into; main() is left out.
build_zygote() {
    if ! command -v "$interpreter-config" >/dev/null; then
        echo "launcher: $interpreter-config is missing: install python3-dev" \
            "(make install does)" >&2
        exit 1
    fi
    local includes
    includes=$("$interpreter-config" --includes | sed 's/-I/-isystem /g')
    # shellcheck disable=SC2086
    gcc -O2 -std=gnu11 -Wall -Wextra -Werror -shared -fPIC \
        -fstack-protector-strong -D_FORTIFY_SOURCE=2 -DPLAYGROUND_ZYGOTE \
        $includes -o "$zygote.new" ./*.c
    mv "$zygote.new" "$zygote"
}

for target in "$binary" "$zygote"; do
    for source in *.c *.h "$script"; do
        if [ ! -e "$target" ] || [ "$source" -nt "$target" ]; then
            if [ "$target" = "$binary" ]; then build; else build_zygote; fi
            break
        fi
    done
done
