"""Teachers sign in with Django's accounts. An administrator creates them,
unless PLAYGROUND_SIGNUP=1 lets people sign up themselves."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import login
from django.contrib.auth.forms import UserCreationForm
from django.contrib.auth.views import LoginView
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods


@require_http_methods(["GET", "POST"])
def signup(request: HttpRequest) -> HttpResponse:
    if not settings.PLAYGROUND_SIGNUP:
        raise Http404("sign-up is off; ask the administrator for an account")
    form = UserCreationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = form.save()
        login(request, user)
        return redirect("collections")
    return render(request, "playground/signup.html", {"form": form})


class SignIn(LoginView):
    template_name = "playground/login.html"

    def get_context_data(self, **kwargs: object) -> dict[str, object]:
        return {**super().get_context_data(**kwargs),
                "signup_enabled": settings.PLAYGROUND_SIGNUP}  # fmt: skip
