"""The editor page."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from playground.registry import registry


def home(request: HttpRequest) -> HttpResponse:
    runtimes = [
        {
            "language": rt.language,
            "version": rt.version,
            "aliases": rt.aliases,
            "editor_mode": rt.editor_mode,
            "starter": rt.starter,
        }
        for rt in registry().installed
    ]
    if request.session.session_key is None:
        request.session.save()  # the audit trail names page visitors by session
    return render(request, "playground/index.html", {"runtimes": runtimes})
