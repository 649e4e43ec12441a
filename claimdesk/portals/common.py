"""What every portal shares: role gates, the user's language, refusals shown as messages."""

from __future__ import annotations

import functools
import logging
import uuid
import zoneinfo
from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import NoReverseMatch, reverse
from django.utils import timezone, translation
from django.utils.http import url_has_allowed_host_and_scheme, urlencode

from claimdesk.accounts.models import User
from claimdesk.core.errors import DomainError, InvalidInput
from claimdesk.core.validation import parse_whole

View = Callable[..., HttpResponseBase]
logger = logging.getLogger(__name__)
#: Marks a message's extra_tags as the contact-the-customer-center link.
INQUIRY_LINK_TAG = "inquiry-link:"
#: The session key of the language someone picked before signing in.
CHOSEN_LANGUAGE_KEY = "chosen_language"


def is_htmx(request: HttpRequest) -> bool:
    """Return whether htmx sent the request (it wants a partial)."""
    return bool(getattr(request, "htmx", False))


def role_required(role: str, login_url_name: str) -> Callable[[View], View]:
    """Let only signed-in users of `role` in; others signed in get "not found"."""

    def decorator(view: View) -> View:
        @functools.wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            user = request.user
            if not user.is_authenticated:
                return redirect(f"{reverse(login_url_name)}?next={request.get_full_path()}")
            if getattr(user, "role", None) != role:
                raise Http404
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


class UserPreferencesMiddleware:
    """Activate the signed-in user's language and time zone for the request."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            language = getattr(user, "language", "") or "ja"
            translation.activate(language)
            request.LANGUAGE_CODE = translation.get_language()
            try:
                timezone.activate(zoneinfo.ZoneInfo(getattr(user, "time_zone", "Asia/Tokyo")))
            except zoneinfo.ZoneInfoNotFoundError:
                timezone.activate(zoneinfo.ZoneInfo("Asia/Tokyo"))
        try:
            return self.get_response(request)
        finally:
            # The server thread serves other people next (API and QAPI callers are
            # not signed in through the session): they must not inherit this zone.
            timezone.deactivate()


def keep_chosen_language(sender: object, request: HttpRequest, user: Any, **kwargs: Any) -> None:
    """Save the language picked on the sign-in page as the account's language.

    Connected to `user_logged_in`: the sign-in views stay as they are.
    """
    if request is None or not hasattr(request, "session"):
        return
    language = request.session.pop(CHOSEN_LANGUAGE_KEY, "")
    if language and hasattr(user, "language") and user.language != language:
        user.language = language
        user.save(update_fields=["language"])


def back_url(request: HttpRequest, fallback: str) -> str:
    """Return a safe `next` or Referer URL on this host, else `fallback`."""
    for candidate in (
        request.POST.get("next"),
        request.GET.get("next"),
        request.headers.get("Referer"),
    ):
        if candidate and url_has_allowed_host_and_scheme(
            candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        ):
            return candidate
    return fallback


class DomainErrorMiddleware:
    """Turn a refusal into a message in the user's language, never a 500.

    htmx requests get the refusal partial swapped into the page's message
    area; ordinary requests are redirected back with the message. A "not
    found" refusal is a 404 page with the message.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, DomainError):
            return None
        reference = uuid.uuid4().hex[:10].upper()
        user = getattr(request, "user", None)
        logger.warning(
            "refusal %s code=%s user=%s path=%s",
            reference,
            exception.code,
            getattr(user, "pk", None),
            request.path,
        )
        inquiry_url = _inquiry_url(
            request, exception.code, reference, with_order=exception.kind != "not_found"
        )
        context = {"error": exception, "reference": reference, "inquiry_url": inquiry_url}
        if exception.kind == "not_found":
            return render(request, "portals/not_found.html", context, status=404)
        if getattr(request, "htmx", False):
            response = render(request, "portals/_refusal.html", context, status=200)
            response["HX-Retarget"] = "#messages"
            response["HX-Reswap"] = "innerHTML"
            return response
        messages.error(
            request,
            render_to_string(
                "portals/_refusal_message.html",
                {"message": exception.message, "reference": reference},
            ),
            extra_tags=f"{INQUIRY_LINK_TAG}{inquiry_url}" if inquiry_url else "",
        )
        return HttpResponseRedirect(_after_refusal(request))


def _inquiry_url(request: HttpRequest, code: str, reference: str, *, with_order: bool) -> str:
    """Return the seller's contact-the-customer-center link for a refusal ("" for others)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or not getattr(user, "is_seller", False):
        return ""
    query = {"reference": reference, "code": code}
    match = request.resolver_match
    if (
        with_order
        and match is not None
        and parse_whole(str(match.kwargs.get("order_no", ""))) is not None
    ):
        query["order"] = str(match.kwargs["order_no"])
    return f"{reverse('seller:inquiry_new')}?{urlencode(query)}"


def _after_refusal(request: HttpRequest) -> str:
    """Where a refused non-htmx request goes back to (never the same GET: no loops)."""
    match = request.resolver_match
    if request.method == "GET":
        return request.path
    if match is not None and match.namespace and "order_no" in match.kwargs:
        detail = "claim" if match.url_name and match.url_name.startswith("claim") else "order"
        try:
            return reverse(f"{match.namespace}:{detail}", args=[match.kwargs["order_no"]])
        except NoReverseMatch:
            pass
    return back_url(request, request.path)


def signed_in_user(request: HttpRequest) -> User:
    """Return the signed-in user of a view that a role gate already let through."""
    user = request.user
    if not isinstance(user, User):  # the role gate let an anonymous request through
        raise PermissionError("portal views need a signed-in user")
    return user


def form_refusal(form: forms.Form) -> InvalidInput:
    """Turn the first error of an invalid form into a refusal naming the field."""
    field, errors = next(iter(form.errors.items()))
    label = form.fields[field].label if field in form.fields else field
    return InvalidInput("form_invalid", f"{label}: {errors[0]}", {"field": field})
