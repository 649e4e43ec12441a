"""Slow down password guessing: a few failures per login and address, then a pause."""

from __future__ import annotations

import hashlib
from typing import Any

from django.contrib.auth.views import LoginView
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse

MAX_FAILURES = 5
PAUSE_SECONDS = 15 * 60


class LoginThrottle:
    """Count failed sign-ins per (login, client address) in the cache."""

    def __init__(self, request: HttpRequest, username: str):
        address = request.META.get("REMOTE_ADDR", "")
        digest = hashlib.sha256(f"{username.strip().lower()}|{address}".encode()).hexdigest()[:32]
        self.key = f"login-fail:{digest}"

    def blocked(self) -> bool:
        return int(cache.get(self.key, 0)) >= MAX_FAILURES

    def fail(self) -> None:
        try:
            cache.incr(self.key)
        except ValueError:
            cache.set(self.key, 1, PAUSE_SECONDS)

    def reset(self) -> None:
        cache.delete(self.key)


class RoleLoginView(LoginView):
    """Sign-in of one portal: throttled, and only for the portal's role.

    Subclasses set `role`, `template_name`, `home_url_name` and `wrong_role_message`.
    """

    role = ""
    home_url_name = ""
    wrong_role_message: Any = ""
    redirect_authenticated_user = True

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        throttle = LoginThrottle(request, request.POST.get("username", ""))
        if throttle.blocked():
            return render(
                request,
                self.get_template_names(),
                {"form": self.get_form(), "throttled": True},
                status=429,
            )
        response = super().post(request, *args, **kwargs)
        if request.user.is_authenticated:
            throttle.reset()
        else:
            throttle.fail()
        return response

    def form_valid(self, form: Any) -> HttpResponse:
        if getattr(form.get_user(), "role", None) != self.role:
            form.add_error(None, self.wrong_role_message)
            return self.form_invalid(form)
        return super().form_valid(form)

    def get_default_redirect_url(self) -> str:
        return reverse(self.home_url_name)
