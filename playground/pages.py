"""The editor page."""

from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

from playground.registry import registry


def runtime_list() -> list[dict[str, Any]]:
    """What the page needs of each installed runtime."""
    return [
        {
            "language": rt.language,
            "version": rt.version,
            "aliases": rt.aliases,
            "editor_mode": rt.editor_mode,
            "starter": rt.starter,
        }
        for rt in registry().installed
    ]


def home(request: HttpRequest) -> HttpResponse:
    if request.session.session_key is None:
        request.session.save()  # the audit trail names page visitors by session
    return render(request, "playground/index.html", {"runtimes": runtime_list()})


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """A refused form or share: say so plainly, as JSON to scripts."""
    message = (f"this request was refused by the cross-site request check "
               f"({reason.rstrip('.')}); reload the page and try again")  # fmt: skip
    if request.path.startswith("/api/"):
        return JsonResponse({"message": message}, status=403)
    return render(request, "playground/refused.html", {"message": message},
                  status=403)  # fmt: skip
