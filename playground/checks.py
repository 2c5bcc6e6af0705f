"""Host requirements as Django system checks (`python manage.py check`).

playground.E001  a PLAYGROUND_* setting does not parse
playground.E002  user namespaces cannot be created
playground.E003  no usable cgroup hierarchy
playground.E004  seccomp filters cannot be loaded
playground.E005  a runtime file in runtimes/ does not validate
playground.E006  PLAYGROUND_REDIS_URL is set but Redis does not answer
playground.E007  the sandbox launcher is not built or is older than its sources
playground.W001  PLAYGROUND_CGROUP=none: no limits for a run as a whole
playground.W002  PLAYGROUND_EMBED_ORIGINS holds something that is no origin
playground.W003  the zygote is not built or is older than its sources
"""

import os

# subprocess runs the host probes in a fresh interpreter, never a shell.
import subprocess  # nosec B404
import sys
from pathlib import Path
from typing import Any

import redis
from django.conf import settings as django_settings
from django.core.checks import CheckMessage, Error, Warning, register

from executor import config, relay
from executor.errors import ConfigError, SandboxError
from executor.runtimes import Registry
from executor.sandbox import cgroups, launch, zygote
from playground.middleware import bad_origins

# Each probe runs in a throwaway child so that it changes nothing here.
USERNS_PROBE = (
    "from executor.sandbox import libc; libc.unshare(libc.CLONE_NEWUSER | "
    "libc.CLONE_NEWNS | libc.CLONE_NEWPID | libc.CLONE_NEWNET)"
)
SECCOMP_PROBE = (
    "import prctl; from executor.sandbox import seccomp; "
    "prctl.set_no_new_privs(True); seccomp.apply(seccomp.program())"
)


def _probe(code: str) -> str | None:
    """None if `code` runs cleanly in a fresh interpreter, else its error."""
    # A fixed interpreter and a probe of ours: no shell, no outside input.
    done = subprocess.run([sys.executable, "-c", code], capture_output=True,  # nosec
                          text=True, timeout=30, check=False,
                          cwd=config.PROJECT_DIR)  # fmt: skip
    if done.returncode == 0:
        return None
    return (done.stderr.strip().splitlines() or ["failed"])[-1]


def _namespaces() -> list[Error]:
    failure = _probe(USERNS_PROBE)
    if failure is None:
        return []
    return [Error(f"cannot create user, mount, pid and network namespaces: {failure}",
                  hint="run as root, or enable unprivileged user namespaces "
                  "(sysctl kernel.unprivileged_userns_clone=1 or "
                  "user.max_user_namespaces > 0)", id="playground.E002")]  # fmt: skip


def _cgroups(settings: config.Config) -> list[CheckMessage]:
    if settings.cgroup_version == "none":
        return [Warning("PLAYGROUND_CGROUP=none: runs have no cgroup, so memory "
                        "and CPU time are limited per process, not per run, and "
                        "memory bombs end as failed allocations rather than ML",
                        hint="delegate a cgroup subtree (scripts/delegate-cgroups.sh)"
                        " and set PLAYGROUND_CGROUP_PARENT",
                        id="playground.W001")]  # fmt: skip
    try:
        hierarchy = cgroups.discover(
            settings.cgroup_version, f"playground-check-{os.getpid()}",
            settings.cgroup_parent,
        )  # fmt: skip
    except (SandboxError, OSError) as exc:
        return [
            Error(
                str(exc),
                hint="the sandbox needs cgroups to limit memory, "
                "processes and CPU for a whole run",
                id="playground.E003",
            )
        ]
    cgroups.release(hierarchy)
    return []


def _seccomp() -> list[Error]:
    failure = _probe(SECCOMP_PROBE)
    if failure is None:
        return []
    return [Error(f"cannot load a seccomp filter: {failure}",
                  hint="use a kernel built with CONFIG_SECCOMP_FILTER and install "
                  "libseccomp2", id="playground.E004")]  # fmt: skip


def _built(binary: Path, what: str) -> str:
    """What is wrong with a build of the launcher's sources, or ""."""
    sources = list(binary.parent.glob("*.[ch]"))
    if not binary.exists():
        return f"{what} {binary} is not built"
    if any(s.stat().st_mtime > binary.stat().st_mtime for s in sources):
        return f"{what} {binary} is older than its sources"
    return ""


def _launcher() -> list[Error]:
    problem = _built(launch.LAUNCHER, "the sandbox launcher")
    if not problem:
        return []
    return [Error(problem, hint="run `make install` (scripts/launcher.sh builds it)",
                  id="playground.E007")]  # fmt: skip


def _zygote(settings: config.Config) -> list[CheckMessage]:
    problem = _built(zygote.EXTENSION, "the zygote")
    if not settings.zygote or not problem or os.geteuid() != 0:
        return []  # without root there is no zygote to build for
    hint = ("Python runs start their interpreter each time until `make install` "
            "builds it (scripts/launcher.sh; python3-dev)")  # fmt: skip
    return [Warning(problem, hint=hint, id="playground.W003")]


def _runtime_files(settings: config.Config) -> list[Error]:
    try:
        Registry.load(settings.runtimes_dir, detect=False)
    except ConfigError as exc:
        hint = "fix that field of the file; docs/runtimes.md describes each"
        return [Error(f"runtime file {exc}", hint=hint, id="playground.E005")]
    return []


@register("playground")
def host_requirements(app_configs: Any, **kwargs: Any) -> list[CheckMessage]:
    try:
        settings = config.get()
    except ConfigError as exc:
        return [
            Error(str(exc), hint="fix the environment variable", id="playground.E001")
        ]
    checks = _namespaces() + _cgroups(settings) + _seccomp() + _launcher()
    return checks + _zygote(settings) + _runtime_files(settings)


@register("playground")
def distributed_services(app_configs: Any, **kwargs: Any) -> list[CheckMessage]:
    """With Redis configured, every run needs it: say so before a run fails."""
    try:
        settings = relay.settings_from(os.environ)
    except ConfigError as exc:
        return [
            Error(str(exc), hint="fix the environment variable", id="playground.E001")
        ]
    if settings is None:
        return []
    try:
        with redis.Redis.from_url(settings.url, socket_connect_timeout=2) as client:
            client.ping()
    except redis.RedisError as exc:
        return [Error(f"Redis at PLAYGROUND_REDIS_URL does not answer: {exc}",
                      hint="start Redis (or fix the URL); unset PLAYGROUND_REDIS_URL"
                      " to run embedded", id="playground.E006")]  # fmt: skip
    return []


@register("playground")
def embed_origins(app_configs: Any, **kwargs: Any) -> list[CheckMessage]:
    bad = bad_origins(django_settings.PLAYGROUND_EMBED_ORIGINS)
    if not bad:
        return []
    return [Warning(f"PLAYGROUND_EMBED_ORIGINS: {', '.join(map(repr, bad))} "
                  "cannot go into frame-ancestors, so embeds leave it out",
                  hint="list origins such as https://docs.example.org, separated "
                  "by spaces or commas, or * for any site",
                  id="playground.W002")]  # fmt: skip
