"""The "Sign in with <provider>" button of the login pages (shown only when one is set up)."""

from __future__ import annotations

from typing import Any

from django import template
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode

from claimdesk.portals.oidc.config import display_name, enabled_for

register = template.Library()


@register.inclusion_tag("portals/_oidc_sign_in.html", takes_context=True)
def oidc_sign_in(context: dict[str, Any], portal: str) -> dict[str, Any]:
    """Render the button that signs into `portal` through the identity provider."""
    if not enabled_for(portal):
        return {"start_url": ""}
    url = reverse(f"oidc:{portal}_start")
    request = context.get("request")
    next_url = request.GET.get("next", "") if request is not None else ""
    if (
        next_url
        and request is not None
        and url_has_allowed_host_and_scheme(
            next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        )
    ):
        url = f"{url}?{urlencode({'next': next_url})}"
    return {"start_url": url, "provider_name": display_name()}
