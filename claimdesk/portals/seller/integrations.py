"""Seller settings for integrations: API tokens (REST and QAPI) and webhook endpoints."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from claimdesk.accounts.models import ApiTokenKind
from claimdesk.accounts.selectors import shop_api_tokens
from claimdesk.accounts.tokens import api_token_create, api_token_revoke
from claimdesk.core.validation import posted_id
from claimdesk.messaging.models import WebhookEvent
from claimdesk.messaging.selectors import shop_webhook_deliveries, shop_webhook_endpoints
from claimdesk.messaging.webhooks import (
    access_delivery_for_seller,
    access_endpoint_for_seller,
    webhook_endpoint_create,
    webhook_endpoint_delete,
    webhook_redeliver,
)

from .views import _shop_id, _user, seller_required


@seller_required
@require_http_methods(["GET", "POST"])
def api_tokens(request: HttpRequest) -> HttpResponseBase:
    """Create (shown once) and revoke the shop's REST tokens and QAPI seller keys."""
    user = _user(request)
    created = None
    if request.method == "POST":
        if request.POST.get("action") == "revoke":
            api_token_revoke(actor=user, token_id=posted_id(request.POST.get("token")))
            messages.success(request, _("The token was revoked; it no longer works."))
            return redirect("seller:api_tokens")
        token, raw = api_token_create(
            actor=user,
            name=request.POST.get("name", ""),
            can_write=request.POST.get("scope") == "write",
            kind=request.POST.get("kind", ApiTokenKind.REST),
        )
        created = {"token": token, "raw": raw}
    tokens = shop_api_tokens(_shop_id(request))
    return render(
        request,
        "seller/api_tokens.html",
        {"tokens": tokens, "created": created, "kinds": ApiTokenKind.choices},
    )


@seller_required
@require_http_methods(["GET", "POST"])
def webhooks(request: HttpRequest) -> HttpResponseBase:
    """The shop's webhook endpoints, their delivery log and manual redelivery."""
    user = _user(request)
    created = None
    if request.method == "POST":
        action = request.POST.get("action", "add")
        if action == "delete":
            endpoint = access_endpoint_for_seller(user, request.POST.get("endpoint"))
            webhook_endpoint_delete(actor=user, endpoint=endpoint)
            messages.success(request, _("The endpoint was removed."))
            return redirect("seller:webhooks")
        if action == "redeliver":
            delivery = access_delivery_for_seller(user, request.POST.get("delivery"))
            webhook_redeliver(actor=user, delivery=delivery)
            messages.success(request, _("The delivery will be sent again in a moment."))
            return redirect("seller:webhooks")
        created = webhook_endpoint_create(
            actor=user,
            url=request.POST.get("url", ""),
            events=request.POST.getlist("events"),
            secret=request.POST.get("secret", ""),
        )
    shop_id = _shop_id(request)
    endpoints = shop_webhook_endpoints(shop_id)
    deliveries = shop_webhook_deliveries(shop_id)
    return render(
        request,
        "seller/webhooks.html",
        {
            "endpoints": endpoints,
            "deliveries": deliveries,
            "created": created,
            "events": WebhookEvent.choices,
        },
    )
