"""Host requirements as Django system checks (`python manage.py check`)."""

import os
from typing import Any

from django.core.checks import Error, register

from executor import config
from executor.errors import ConfigError, SandboxError
from executor.sandbox import cgroups


def _user_namespaces() -> list[Error]:
    if os.geteuid() == 0:
        return []
    path = "/proc/sys/kernel/unprivileged_userns_clone"
    if os.path.exists(path) and open(path).read().strip() == "0":
        return [
            Error(
                "unprivileged user namespaces are disabled",
                hint="run as root, or set kernel.unprivileged_userns_clone=1",
                id="playground.E002",
            )
        ]
    return []


@register("playground")
def host_requirements(app_configs: Any, **kwargs: Any) -> list[Error]:
    errors: list[Error] = []
    try:
        settings = config.get()
    except ConfigError as exc:
        return [
            Error(str(exc), hint="fix the environment variable", id="playground.E001")
        ]
    errors += _user_namespaces()
    try:
        hierarchy = cgroups.discover(
            settings.cgroup_version, "playground-check", settings.cgroup_parent
        )
        cgroups.release(hierarchy)
    except SandboxError as exc:
        errors.append(
            Error(
                exc.detail,
                hint="the sandbox needs cgroups to limit memory, processes and CPU",
                id="playground.E003",
            )
        )
    except OSError as exc:
        errors.append(
            Error(
                f"cannot create cgroups: {exc}",
                hint="run as root or delegate a cgroup subtree",
                id="playground.E003",
            )
        )
    return errors
