"""HTTP endpoints of Piston's v2 API."""

import asyncio
import functools
import json
import logging
from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from executor import config
from executor.backends import get_backend
from executor.errors import JobError
from executor.job import Job
from executor.requests import build_job
from executor.results import StageResult
from playground import audit, inflight
from playground.api import packages, throttle
from playground.api.results import RunRefused, collect
from playground.inloop import json_api
from playground.registry import registry

log = logging.getLogger(__name__)

View = Callable[..., Any]

SHUT_DOWN = ("the server shut down while the program ran, and stopped it; "
             "run it again")  # fmt: skip


def error(status: int, message: str) -> JsonResponse:
    return JsonResponse({"message": message}, status=status)


def allow(method: str) -> Callable[[View], View]:
    """Answer other methods with a JSON 405 that names the allowed one."""

    allowed = {method, "HEAD"} if method == "GET" else {method}

    def decorate(view: View) -> View:
        def refuse(request: HttpRequest) -> JsonResponse:
            response = error(405, f"{request.method} is not allowed here; use {method}")
            response["Allow"] = ", ".join(sorted(allowed))
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


@json_api
@csrf_exempt  # another method gets the JSON 405, not Django's CSRF page
@allow("GET")
def runtimes(request: HttpRequest) -> JsonResponse:
    return JsonResponse(runtime_list(), safe=False)


def _body(body: bytes) -> Any:
    try:
        return json.loads(body.decode("utf-8"))
    except UnicodeDecodeError:
        raise JobError("the request body is not valid UTF-8") from None
    except (ValueError, RecursionError) as exc:  # JSONDecodeError is a ValueError
        raise JobError(f"the request body is not valid JSON: {exc}") from None


def refused(status: int, exc: Exception, retry_after: int = 0) -> JsonResponse:
    response = error(status, str(exc))
    if retry_after:
        response["Retry-After"] = str(retry_after)
    return response


@json_api
@csrf_exempt
@allow("POST")
async def execute(request: HttpRequest) -> JsonResponse:
    # Served by playground/api/fastpath.py when it comes through daphne; the
    # requests it leaves to Django (and the test client's) arrive here.
    authorization = request.headers.get("Authorization", "")
    address = request.META.get("REMOTE_ADDR")
    return await answer(authorization, address, lambda: request.body)


async def answer(
    authorization: str, address: str | None, body: Callable[[], bytes]
) -> JsonResponse:
    """What POST /api/v2/execute answers, whichever way it was reached. The
    body is read only once the client is known, as a bad key outranks it."""
    settings = config.get()
    try:
        client = await throttle.identify(authorization, address)
        job, runtime = build_job(
            _body(body()), registry(), settings, settings.defaults["http_output_bytes"]
        )
        throttle.acquire(client)
    except throttle.Refused as exc:
        response = refused(429 if exc.retry_after else 401, exc, exc.retry_after)
        if response.status_code == 401:
            response["WWW-Authenticate"] = 'Bearer realm="playground"'
        return response
    except JobError as exc:
        return error(400, str(exc))
    try:
        stages = await _run(job, client.name)
    except RunRefused as exc:
        return refused(503, exc, retry_after=1)
    finally:
        throttle.release(client)
    if "compile" in stages and "run" not in stages:
        # As Piston does: clients that only read `run` see the compiler's
        # errors. The program itself did not run.
        stages["run"] = stages["compile"]
    return JsonResponse(
        {"language": runtime.language, "version": runtime.version, **stages}
    )


async def _run(job: Job, client: str) -> dict[str, Any]:
    """Run a job to its end; a client that leaves stops it, and so does the
    server's shutdown. Either way the run leaves its audit record."""
    started = timezone.now()
    flight = inflight.Flight(await get_backend().submit(job))
    stages: dict[str, Any] = {}
    results: dict[str, StageResult] = {}
    async with inflight.flying(flight):
        try:
            await inflight.follow(flight, collect(flight.run, stages, results))
        finally:
            text = "".join(s["output"] for s in stages.values())
            await audit.record(job, client, "http", started, results, text,
                               flight.stopped_by)  # fmt: skip
    if flight.stopped_by == inflight.SHUTDOWN:
        raise RunRefused(SHUT_DOWN)
    return stages


@json_api
@csrf_exempt
async def packages_view(request: HttpRequest) -> JsonResponse:
    """GET lists runtimes; POST installs and DELETE removes one (admin only)."""
    if request.method in ("GET", "HEAD"):
        return JsonResponse(packages.listing(), safe=False)
    if request.method in ("POST", "DELETE"):
        return await packages.change(request, install=request.method == "POST")
    response = error(405, f"{request.method} is not allowed here; use GET, POST "
                     "or DELETE")  # fmt: skip
    response["Allow"] = "GET, POST, DELETE"
    return response


def bad_request(
    request: HttpRequest, exception: Exception | None = None
) -> JsonResponse:
    return error(400, f"bad request: {exception or 'the request was refused'}")


def server_error(request: HttpRequest) -> JsonResponse:
    return error(500, "the playground failed to handle this request (our fault); "
                 "it has been logged")  # fmt: skip


def not_found(request: HttpRequest, exception: Exception | None = None) -> Any:
    if not request.path.startswith("/api/"):  # a person's page, not a client's
        return render(request, "playground/not_found.html",
                      {"what": f"page {request.path}"}, status=404)  # fmt: skip
    return error(404, f"no API endpoint at {request.path}; see /api/v2/runtimes")
