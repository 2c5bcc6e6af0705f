"""Piston's package endpoints: list runtimes, and (with the administrator
key) install or remove one through Debian's package manager."""

import asyncio
import hmac
import json
import logging
import os
import re
from typing import Any

from django.http import HttpRequest, JsonResponse

from executor.runtimes import Runtime
from playground.api.throttle import bearer_token
from playground.registry import registry

log = logging.getLogger(__name__)

APT_TIMEOUT_SECONDS = 900


def listing() -> list[dict[str, Any]]:
    return [
        {"language": rt.language, "language_version": rt.version or "",
         "installed": rt.available, "packages": rt.packages}
        for rt in registry().all
    ]  # fmt: skip


def is_administrator(request: HttpRequest) -> bool:
    key = os.environ.get("PLAYGROUND_ADMIN_KEY", "")
    given = bearer_token(request.headers.get("Authorization", "")) or ""
    return bool(key) and hmac.compare_digest(given.encode(), key.encode())


async def change(request: HttpRequest, install: bool) -> JsonResponse:
    """Install (POST) or remove (DELETE) the runtime named in the body."""
    if not is_administrator(request):
        return JsonResponse({"message": "installing or removing runtimes needs the "
                             "administrator key: send 'Authorization: Bearer KEY' "
                             "with the PLAYGROUND_ADMIN_KEY of this site"},
                            status=403)  # fmt: skip
    try:
        body = json.loads(request.body or b"{}")
        language = body["language"]
        if not isinstance(language, str):
            raise TypeError(language)
    except (ValueError, KeyError, TypeError, RecursionError):
        return JsonResponse({"message": "the body must be JSON with a 'language' "
                             "(and optionally a 'version')"}, status=400)  # fmt: skip
    runtime = next((rt for rt in registry().all if language in rt.names()), None)
    if runtime is None:
        return JsonResponse({"message": f"no runtime file declares {language!r}"},
                            status=404)  # fmt: skip
    chosen = runtime.packages if install else _only_theirs(runtime)
    if not install and (dragged := await _also_removed(chosen)):
        return JsonResponse({"message": f"removing {' '.join(chosen)} would also "
                             f"remove {' '.join(dragged)}, which other software "
                             "on this host needs; nothing was removed. Remove "
                             "them by hand if that is really meant"},
                            status=409)  # fmt: skip
    ok, detail = await _apt(install, chosen)
    registry.cache_clear()
    if not ok:
        return JsonResponse({"message": f"apt-get failed: {detail}"}, status=500)
    updated = next(rt for rt in registry().all if rt.language == runtime.language)
    return JsonResponse({"language": updated.language,
                         "version": updated.version or "",
                         "installed": updated.available})  # fmt: skip


def _only_theirs(runtime: Runtime) -> list[str]:
    """The runtime's packages that no other runtime declares: removing Kotlin
    must not take the JDK from Java, nor Rust the C compiler from C."""
    others = {p for rt in registry().all if rt is not runtime for p in rt.packages}
    return [p for p in runtime.packages if p not in others]


async def _also_removed(packages: list[str]) -> list[str]:
    """What apt would remove besides `packages`: their dependents. Removing a
    runtime must never take, say, the Python the site itself runs on."""
    if not packages:
        return []
    process = await asyncio.create_subprocess_exec(
        "apt-get", "-s", "-q", "remove", *packages,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
        env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
    )  # fmt: skip
    out, _ = await asyncio.wait_for(process.communicate(), APT_TIMEOUT_SECONDS)
    removed = re.findall(r"^Remv (\S+)", out.decode(errors="replace"), re.M)
    return sorted(set(removed) - set(packages))


async def _apt(install: bool, packages: list[str]) -> tuple[bool, str]:
    verb = "install" if install else "remove"
    log.info("administrator asked to %s %s", verb, " ".join(packages))
    process = await asyncio.create_subprocess_exec(
        "apt-get", "-o", "DPkg::Lock::Timeout=120", "-y", "-q", verb, *packages,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
    )  # fmt: skip
    out, _ = await asyncio.wait_for(process.communicate(), APT_TIMEOUT_SECONDS)
    tail = out.decode(errors="replace").strip().splitlines()[-1:] or [""]
    return process.returncode == 0, tail[0]
