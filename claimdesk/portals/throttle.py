"""Slow down password guessing: django-axes counts failed sign-ins in the database.

Every sign-in form (the three portals, the console and /admin/login/) goes through
Django's `authenticate()`, which asks `LoginThrottleBackend` first: after
AXES_FAILURE_LIMIT failures for a login from one address the sign-in is refused
for AXES_COOLOFF_TIME, even with the right password. Failures are rows counted
with a row lock and `F() + 1` (axes' database handler), so parallel attempts are
all counted whichever cache the deployment uses. `lockout_response` answers a
refused sign-in with the portal's login page (429) in the user's language.
"""

from __future__ import annotations

from typing import Any

from axes.backends import AxesStandaloneBackend
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.views import LoginView
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse


class LoginThrottleBackend(AxesStandaloneBackend):
    """Refuse a sign-in while its login and address are locked out.

    A call without a request (a management command, a test checking a
    password) is no sign-in over the network: it is left to the next backend
    instead of being refused.
    """

    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> None:
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)


def lockout_response(
    request: HttpRequest, original_response: HttpResponse | None, credentials: Any
) -> HttpResponse:
    """Return the sign-in page that refused the attempt, saying why, with status 429."""
    match = request.resolver_match
    view_class = getattr(match.func, "view_class", None) if match is not None else None
    if view_class is not None and issubclass(view_class, RoleLoginView):
        template: Any = view_class.template_name
    else:
        template = "portals/locked.html"
    # Unbound: validating it would try the password once more and count another failure.
    form = AuthenticationForm(request, initial={"username": request.POST.get("username", "")})
    return render(request, template, {"form": form, "throttled": True}, status=429)


class RoleLoginView(LoginView):
    """Sign-in of one portal: throttled (LoginThrottleBackend), and only for the portal's role.

    Subclasses set `role`, `template_name`, `home_url_name` and `wrong_role_message`.
    """

    role = ""
    home_url_name = ""
    wrong_role_message: Any = ""
    redirect_authenticated_user = True

    def form_valid(self, form: Any) -> HttpResponse:
        if getattr(form.get_user(), "role", None) != self.role:
            form.add_error(None, self.wrong_role_message)
            return self.form_invalid(form)
        return super().form_valid(form)

    def get_default_redirect_url(self) -> str:
        return reverse(self.home_url_name)
