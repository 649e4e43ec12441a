"""Sign-in and sign-out through the marketplace's identity provider, for each portal.

The start view sends the browser to the provider (authorization code with PKCE and
a nonce); the provider sends it back to the portal's callback, which checks the
answer and signs the person into that portal only. Every refusal is a page in the
person's language saying why and what to do; nothing is created.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any
from urllib.parse import urlencode

import requests
from django.contrib.auth import logout
from django.core.exceptions import SuspiciousOperation
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import translation
from django.views.generic import View
from mozilla_django_oidc.utils import import_from_settings
from mozilla_django_oidc.views import OIDCAuthenticationCallbackView, OIDCAuthenticationRequestView

from claimdesk.core.errors import DomainError, Forbidden, InvalidInput
from claimdesk.core.i18n import lazy_text as _

from .backend import PORTAL_ATTRIBUTE, token_invalid
from .config import (
    PORTALS,
    Portal,
    Provider,
    ProviderUnavailable,
    configured,
    display_name,
    enabled_for,
    library_settings,
    provider,
)

logger = logging.getLogger(__name__)
#: The session key that marks a sign-in through the provider (its ID token, for logout).
ID_TOKEN_KEY = "oidc_id_token"  # noqa: S105 (a session key)


def _unreachable() -> DomainError:
    return DomainError(
        "signin_provider_unreachable",
        _(
            "%(provider)s cannot be reached right now, so you were not signed in. Try again in a few minutes, or log in with your login and password."
        )
        % {"provider": display_name()},
    )


def _stale() -> InvalidInput:
    return InvalidInput(
        "signin_stale",
        _("This sign-in has expired or was already used. Start it again from the sign-in page."),
    )


def _refused_by_provider(error: str) -> Forbidden:
    return Forbidden(
        "signin_cancelled",
        _(
            "The sign-in at %(provider)s was cancelled or refused (%(error)s). Start it again, or log in with your login and password."
        )
        % {"provider": display_name(), "error": error[:100]},
    )


RETRYABLE = frozenset(
    {
        "signin_stale",
        "signin_token_expired",
        "signin_token_invalid",
        "signin_cancelled",
        "signin_provider_unreachable",
    }
)


def _status(error: DomainError) -> int:
    if error.code == "signin_provider_unreachable":
        return 502
    return 400 if error.kind == "input" else 403


def refusal_page(request: HttpRequest, portal: Portal, error: DomainError) -> HttpResponse:
    """Render the sign-in refusal in the person's language; nothing was signed in."""
    reference = uuid.uuid4().hex[:10].upper()
    logger.warning("sign-in refused %s code=%s portal=%s", reference, error.code, portal.key)
    context = {
        "error": error,
        "reference": reference,
        "login_url": reverse(portal.login_url_name),
        "start_url": reverse(f"oidc:{portal.key}_start"),
        "provider_name": display_name(),
        # Starting again can help unless the account itself is the reason.
        "retry": error.code in RETRYABLE,
    }
    return render(request, "portals/signin_refused.html", context, status=_status(error))


class _PortalSettings:
    """mozilla-django-oidc's settings for this view's portal instead of Django's settings."""

    portal = ""
    library: dict[str, Any]

    def get_settings(self, attr: str, *args: Any) -> Any:
        if attr in self.library:
            return self.library[attr]
        return import_from_settings(attr, *args)

    def load(self) -> Provider:
        resolved = provider()
        self.library = library_settings(resolved, PORTALS[self.portal])
        return resolved


class SignInStartView(_PortalSettings, OIDCAuthenticationRequestView):
    """Send the browser to the provider to sign into this view's portal."""

    def __init__(self, **kwargs: Any) -> None:
        # The library reads its settings on construction; here they are read per request.
        View.__init__(self, **kwargs)
        self.library = {}

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not enabled_for(self.portal):
            raise Http404
        try:
            resolved = self.load()
        except ProviderUnavailable as exc:
            logger.warning("identity provider unavailable: %s", exc)
            return refusal_page(request, PORTALS[self.portal], _unreachable())
        self.OIDC_OP_AUTH_ENDPOINT = resolved.authorization_endpoint
        self.OIDC_RP_CLIENT_ID = resolved.client_id
        response: HttpResponseBase = super().dispatch(request, *args, **kwargs)
        return response

    def get_extra_params(self, request: HttpRequest) -> dict[str, str]:
        # The provider's pages in the language the person reads claimdesk in.
        return {"ui_locales": translation.to_locale(translation.get_language()).replace("_", "-")}


class SignInCallbackView(_PortalSettings, OIDCAuthenticationCallbackView):
    """Take the provider's answer and sign the person into this view's portal, or refuse."""

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not enabled_for(self.portal):
            raise Http404
        portal = PORTALS[self.portal]
        setattr(request, PORTAL_ATTRIBUTE, portal.key)
        try:
            self.load()
            response: HttpResponseBase = super().dispatch(request, *args, **kwargs)
            return response
        except DomainError as error:
            refusal = error
        except ProviderUnavailable as exc:
            logger.warning("identity provider unavailable: %s", exc)
            refusal = _unreachable()
        except SuspiciousOperation as exc:
            # A state this browser never started (or already used), or a nonce that differs.
            logger.warning("sign-in callback refused: %s", exc)
            refusal = _stale() if "state" in str(exc) else token_invalid()
        except requests.HTTPError as exc:
            logger.warning("token or userinfo request refused: %s", exc)
            refusal = token_invalid()
        except requests.RequestException as exc:
            logger.warning("identity provider unreachable: %s", exc)
            refusal = _unreachable()
        request.session.pop(ID_TOKEN_KEY, None)
        return refusal_page(request, portal, refusal)

    def login_failure(self) -> HttpResponse:
        request = self.request
        refusal: DomainError
        if request.GET.get("error"):
            refusal = _refused_by_provider(request.GET["error"])
        elif "oidc_states" not in request.session:
            refusal = _stale()
        else:
            refusal = token_invalid()
        request.session.pop(ID_TOKEN_KEY, None)
        return refusal_page(request, PORTALS[self.portal], refusal)


def sign_out(request: HttpRequest, login_url_name: str) -> HttpResponseRedirect:
    """Sign out here and, after a sign-in through the provider, there too.

    The browser goes to the provider's end-session endpoint (RP-initiated logout)
    when it has one, and comes back to the portal's sign-in page.
    """
    id_token = request.session.get(ID_TOKEN_KEY)
    logout(request)
    login_url = reverse(login_url_name)
    if not id_token or not configured():
        return redirect(login_url)
    try:
        resolved = provider()
    except ProviderUnavailable as exc:
        logger.warning("identity provider unavailable at sign-out: %s", exc)
        return redirect(login_url)
    if not resolved.end_session_endpoint:
        return redirect(login_url)
    query = urlencode(
        {
            "id_token_hint": id_token,
            "client_id": resolved.client_id,
            "post_logout_redirect_uri": request.build_absolute_uri(login_url),
            "ui_locales": translation.to_locale(translation.get_language()).replace("_", "-"),
        }
    )
    separator = "&" if "?" in resolved.end_session_endpoint else "?"
    return HttpResponseRedirect(f"{resolved.end_session_endpoint}{separator}{query}")
