"""The Content-Security-Policy, opened to the identity provider for signing out there.

Signing out posts a form whose answer redirects to the provider's end-session
endpoint; browsers hold that redirect to the page's `form-action`. When a
provider is set up, its origins (the issuer's, and an end-session endpoint
set by hand) join `form-action`; nothing else is opened.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.middleware.csp import ContentSecurityPolicyMiddleware

from .config import configured


def provider_origins() -> list[str]:
    """Return the origins a sign-out may be redirected to ([] without a provider)."""
    if not configured():
        return []
    conf: dict[str, Any] = dict(getattr(settings, "CLAIMDESK_OIDC", {}))
    origins = []
    for url in (conf.get("ISSUER"), conf.get("END_SESSION_ENDPOINT")):
        parts = urlsplit(str(url or ""))
        if parts.scheme in ("http", "https") and parts.netloc:
            origin = f"{parts.scheme}://{parts.netloc}"
            if origin not in origins:
                origins.append(origin)
    return origins


class PortalCSPMiddleware(ContentSecurityPolicyMiddleware):
    """Django's CSP middleware, with the identity provider allowed as a form target."""

    def process_response(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        origins = provider_origins()
        if origins and not hasattr(response, "_csp_config"):
            config: dict[str, Any] = dict(settings.SECURE_CSP)
            config["form-action"] = [*config.get("form-action", []), *origins]
            response._csp_config = config  # type: ignore[attr-defined]
        return super().process_response(request, response)
