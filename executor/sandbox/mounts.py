"""The sandbox's view of the filesystem, built in the child's mount namespace.

A fresh tmpfs becomes the root. Into it go read-only binds of the host paths
the runtime needs (/usr and a few /etc files), a synthetic /etc/passwd, a
fresh /proc for the new pid namespace, a minimal /dev, and private tmpfs
mounts for /work and /tmp. After pivot_root the host's tree is detached, so
nothing else of the host is reachable, and everything vanishes with the run.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from pathlib import Path

from executor.job import File
from executor.sandbox import libc
from executor.sandbox.namespaces import SANDBOX_GID, SANDBOX_UID

WORK_DIR = "/work"
HOSTNAME = "playground"
# /etc/alternatives is left out: it would list the host's packages. A runtime
# that calls a tool through it names it in its readonly_paths.
BASE_READONLY = ("/usr", "/etc/ld.so.cache", "/etc/localtime")
MERGED_USR_LINKS = ("bin", "sbin", "lib", "lib32", "lib64", "libx32")
DEVICES = ("null", "zero", "full", "random", "urandom")
WORK_INODES = 4096
PRIVATE_DIRS = ("/tmp", WORK_DIR, "/dev/shm")  # nosec B108

ETC_FILES = {
    "passwd": (
        f"runner:x:{SANDBOX_UID}:{SANDBOX_GID}:runner:{WORK_DIR}:/bin/sh\n"
        "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n"
    ),
    "group": f"runner:x:{SANDBOX_GID}:\nnogroup:x:65534:\n",
    "hosts": "127.0.0.1\tlocalhost\n::1\tlocalhost\n",
    "hostname": f"{HOSTNAME}\n",
}

# statvfs flags that a bind remount inside a user namespace must keep.
_KEPT_FLAGS = {
    os.ST_NOSUID: libc.MS_NOSUID,
    os.ST_NODEV: libc.MS_NODEV,
    os.ST_NOEXEC: libc.MS_NOEXEC,
    os.ST_NOATIME: libc.MS_NOATIME,
    os.ST_NODIRATIME: libc.MS_NODIRATIME,
    os.ST_RELATIME: libc.MS_RELATIME,
}


# One step of the view: an operation's name and its arguments. The init
# runs the same plan whether it is the launcher (launcher/view.c) or, for a
# compile stage, this module's own `apply`.
Step = tuple[str, ...]


def _tmpfs(target: str, size_bytes: int, extra: str = "") -> Step:
    return ("tmpfs", target, f"size={size_bytes},mode=0755{extra}")


def _skeleton(root: str, readonly_paths: Iterable[str]) -> list[Step]:
    steps: list[Step] = []
    for name in MERGED_USR_LINKS:
        host = f"/{name}"
        if os.path.islink(host):
            steps.append(("symlink", os.readlink(host), f"{root}/{name}"))
        elif os.path.isdir(host):
            steps.append(("bind-ro", host, f"{root}/{name}"))
    for path in (*BASE_READONLY, *readonly_paths):
        if os.path.lexists(path):
            steps.append(("bind-ro", path, root + path))
    steps.append(("mkdirs", f"{root}/etc"))
    steps += [("file", f"{root}/etc/{name}", text) for name, text in ETC_FILES.items()]
    return steps


def _dev(root: str) -> list[Step]:
    dev = f"{root}/dev"
    steps: list[Step] = [("mkdir", dev), _tmpfs(dev, 64 * 1024)]
    steps += [("bind", f"/dev/{name}", f"{dev}/{name}") for name in DEVICES]
    for index, name in enumerate(("stdin", "stdout", "stderr")):
        steps.append(("symlink", f"/proc/self/fd/{index}", f"{dev}/{name}"))
    steps += [("symlink", "/proc/self/fd", f"{dev}/fd"), ("mkdir", f"{dev}/shm")]
    return steps


def _private_dirs(root: str, workdir_bytes: int) -> list[Step]:
    # The sandbox's own /tmp, inside its new root, not the host's.
    steps: list[Step] = []
    for path in PRIVATE_DIRS:
        steps.append(("mkdirs", root + path))
        steps.append(_tmpfs(root + path, workdir_bytes, _private_options(path)))
        # chown rather than uid=: mountinfo would show that option as a host id.
        steps.append(("chown", root + path))
    return [*steps, ("mkdirs", f"{root}/proc"), ("proc", f"{root}/proc")]


def _private_options(path: str) -> str:
    mode = ",mode=1777" if path != WORK_DIR else ""
    return f",nr_inodes={WORK_INODES}{mode}"


def plan(root: str, readonly_paths: Iterable[str], workdir_bytes: int) -> list[Step]:
    """The view under `root`, step by step, ending inside it in /work."""
    return [
        ("private",),
        _tmpfs(root, 1024 * 1024),
        *_skeleton(root, readonly_paths),
        *_dev(root),
        *_private_dirs(root, workdir_bytes),
        ("read-only", f"{root}/dev"),
        ("enter", root),
        ("read-only", "/"),
        ("chdir", WORK_DIR),
    ]


def zygote_plan(stage: str, readonly_paths: Iterable[str]) -> list[Step]:
    """The zygote's mount namespace (executor/sandbox/zygote.py): the host's,
    but /etc as a sandbox has it and an empty /work, which is where an
    interpreter looks as it starts (sitecustomize, .pth files, the user's
    site directory). `stage` (an empty directory) holds the /etc files kept
    while /etc is covered; the sandboxes' views are made from this one."""
    kept = [p for p in zygote_etc(readonly_paths) if os.path.lexists(p)]
    steps: list[Step] = [("private",), _tmpfs(stage, 64 * 1024)]
    steps += [("bind-ro", path, stage + path) for path in kept]
    steps.append(_tmpfs("/etc", 64 * 1024))
    steps += [("bind-ro", stage + path, path) for path in kept]
    steps += [("file", f"/etc/{name}", text) for name, text in ETC_FILES.items()]
    steps.append(("read-only", "/etc"))
    if os.path.isdir(WORK_DIR):
        steps += [_tmpfs(WORK_DIR, 64 * 1024), ("read-only", WORK_DIR)]
    return [*steps, ("chdir", "/")]


def zygote_etc(readonly_paths: Iterable[str]) -> list[str]:
    """The paths in /etc that a sandbox's view binds, as the zygote's keeps
    them where they exist."""
    return [p for p in (*BASE_READONLY, *readonly_paths) if p.startswith("/etc/")]


def flat(steps: list[Step]) -> list[str]:
    """The plan as the launcher's arguments."""
    return [part for one in steps for part in one]


def write_files(root: str, files: Iterable[File]) -> None:
    """Place the job's files; names were checked, and nothing here is a link."""
    work = root + WORK_DIR
    for file in files:
        path = os.path.join(work, file.name)
        _make_parents(work, os.path.dirname(file.name))
        mode = 0o755 if file.executable else 0o644
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
        fd = os.open(path, flags, mode)
        try:
            os.fchown(fd, SANDBOX_UID, SANDBOX_GID)
            view = memoryview(file.content)
            while view:
                view = view[os.write(fd, view) :]
        finally:
            os.close(fd)


def _make_parents(work: str, relative: str) -> None:
    path = work
    for part in [p for p in relative.split("/") if p]:
        path = os.path.join(path, part)
        if not os.path.isdir(path):
            os.mkdir(path, 0o755)
            os.chown(path, SANDBOX_UID, SANDBOX_GID)


def _bind(source: str, target: str, readonly: bool) -> None:
    if os.path.isdir(source):
        os.makedirs(target, exist_ok=True)
    else:
        os.makedirs(os.path.dirname(target), exist_ok=True)
        open(target, "a").close()
    libc.mount(source, target, None, libc.MS_BIND | libc.MS_REC, None)
    if readonly:
        kept = os.statvfs(target).f_flag
        flags = sum(ms for st, ms in _KEPT_FLAGS.items() if kept & st)
        flags |= libc.MS_REMOUNT | libc.MS_BIND | libc.MS_RDONLY | libc.MS_NOSUID
        libc.mount(None, target, None, flags, None)


def _new_file(path: str, text: str) -> None:
    if not os.path.lexists(path):
        Path(path).write_text(text)


def _enter(root: str) -> None:
    os.mkdir(f"{root}/.host")
    os.chdir(root)
    libc.pivot_root(".", ".host")
    os.chdir("/")
    libc.umount2("/.host", libc.MNT_DETACH)
    os.rmdir("/.host")


_NOSUID_NODEV = libc.MS_NOSUID | libc.MS_NODEV


def _private() -> None:
    libc.mount(None, "/", None, libc.MS_REC | libc.MS_PRIVATE, None)


def _mount_tmpfs(target: str, data: str) -> None:
    libc.mount("tmpfs", target, "tmpfs", _NOSUID_NODEV, data)


def _proc(target: str) -> None:
    libc.mount("proc", target, "proc", _NOSUID_NODEV | libc.MS_NOEXEC, None)


def _read_only(path: str) -> None:
    # The mounts below it (device binds, /dev/shm) keep their own flags.
    flags = libc.MS_REMOUNT | libc.MS_BIND | libc.MS_RDONLY | _NOSUID_NODEV
    libc.mount(None, path, None, flags, None)


def _own(path: str) -> None:
    os.chown(path, SANDBOX_UID, SANDBOX_GID)


_STEPS: dict[str, Callable[..., None]] = {
    "private": _private,
    "tmpfs": _mount_tmpfs,
    "bind": lambda source, target: _bind(source, target, readonly=False),
    "bind-ro": lambda source, target: _bind(source, target, readonly=True),
    "symlink": os.symlink,
    "mkdir": os.mkdir,
    "mkdirs": lambda path: os.makedirs(path, exist_ok=True),
    "file": _new_file,
    "chown": _own,
    "proc": _proc,
    "read-only": _read_only,
    "enter": _enter,
    "chdir": os.chdir,
}


def apply(root: str, readonly_paths: Iterable[str], workdir_bytes: int) -> None:
    """Child side: build the view under `root` and enter it; /work is empty."""
    for name, *args in plan(root, readonly_paths, workdir_bytes):
        _STEPS[name](*args)
