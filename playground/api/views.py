"""HTTP endpoints of Piston's v2 API."""

import asyncio
import functools
import json
import logging
from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from executor import config
from executor.backends import get_backend
from executor.errors import JobError
from executor.requests import build_job
from executor.results import StageResult
from playground import audit
from playground.api.results import collect
from playground.registry import registry

log = logging.getLogger(__name__)

View = Callable[..., Any]


def error(status: int, message: str) -> JsonResponse:
    return JsonResponse({"message": message}, status=status)


def allow(method: str) -> Callable[[View], View]:
    """Answer other methods with a JSON 405 that names the allowed one."""

    allowed = {method, "HEAD"} if method == "GET" else {method}

    def decorate(view: View) -> View:
        def refuse(request: HttpRequest) -> JsonResponse:
            response = error(405, f"{request.method} is not allowed here; use {method}")
            response["Allow"] = method
            return response

        if asyncio.iscoroutinefunction(view):

            @functools.wraps(view)
            async def checked_async(request: HttpRequest) -> Any:
                if request.method not in allowed:
                    return refuse(request)
                return await view(request)

            return checked_async

        @functools.wraps(view)
        def checked(request: HttpRequest) -> Any:
            return refuse(request) if request.method not in allowed else view(request)

        return checked

    return decorate


def runtime_list() -> list[dict[str, Any]]:
    listed = []
    for rt in registry().installed:
        entry = {"language": rt.language, "version": rt.version, "aliases": rt.aliases}
        if rt.runtime:
            entry["runtime"] = rt.runtime
        listed.append(entry)
    return listed


@allow("GET")
def runtimes(request: HttpRequest) -> JsonResponse:
    return JsonResponse(runtime_list(), safe=False)


def _body(request: HttpRequest) -> Any:
    try:
        return json.loads(request.body.decode("utf-8"))
    except UnicodeDecodeError:
        raise JobError("the request body is not valid UTF-8") from None
    except (ValueError, RecursionError) as exc:  # JSONDecodeError is a ValueError
        raise JobError(f"the request body is not valid JSON: {exc}") from None


@csrf_exempt
@allow("POST")
async def execute(request: HttpRequest) -> JsonResponse:
    settings = config.get()
    try:
        job, runtime = build_job(
            _body(request), registry(), settings, settings.defaults["http_output_bytes"]
        )
    except JobError as exc:
        return error(400, str(exc))
    started = timezone.now()
    run = await get_backend().submit(job)
    stages: dict[str, Any] = {}
    results: dict[str, StageResult] = {}
    finished = False
    try:
        await collect(run, stages, results)
        finished = True
    finally:
        if not finished:  # the client went away and cancelled this view
            await run.stop()
        client = audit.client_of(request.META.get("REMOTE_ADDR"))
        text = "".join(s["output"] for s in stages.values())
        await audit.record(job, client, "http", started, results, text)
    return JsonResponse(
        {"language": runtime.language, "version": runtime.version, **stages}
    )


def bad_request(
    request: HttpRequest, exception: Exception | None = None
) -> JsonResponse:
    return error(400, f"bad request: {exception or 'the request was refused'}")


def server_error(request: HttpRequest) -> JsonResponse:
    return error(500, "the playground failed to handle this request (our fault); "
                 "it has been logged")  # fmt: skip


def not_found(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return error(404, f"no API endpoint at {request.path}; see /api/v2/runtimes")
