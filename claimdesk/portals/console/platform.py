"""The console's marketplace page: platform tokens, the marketplace's webhooks, order import."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from claimdesk.accounts.models import User
from claimdesk.accounts.selectors import platform_api_tokens
from claimdesk.accounts.tokens import platform_token_create, platform_token_revoke
from claimdesk.core.errors import InvalidInput
from claimdesk.core.i18n import lazy_text
from claimdesk.core.sheets import xlsx_stream
from claimdesk.intake.sheets import COLUMNS, orders_import, template_rows
from claimdesk.messaging.models import WebhookEvent
from claimdesk.messaging.selectors import platform_webhook_endpoints
from claimdesk.messaging.webhooks import (
    access_endpoint_for_platform,
    webhook_endpoint_create,
    webhook_endpoint_delete,
)
from claimdesk.portals.common import role_required

operator_required = role_required("operator", "console:login")


def _operator(request: HttpRequest) -> User:
    user = request.user
    if not isinstance(user, User) or not user.is_operator:
        raise Http404
    return user


def _page(request: HttpRequest, **extra: Any) -> HttpResponseBase:
    context = {
        "tokens": platform_api_tokens(),
        "webhooks": platform_webhook_endpoints(),
        "events": WebhookEvent.choices,
        "columns": COLUMNS,
        **extra,
    }
    return render(request, "console/platform.html", context)


@operator_required
def platform(request: HttpRequest) -> HttpResponseBase:
    """The marketplace's connection: its tokens, its webhooks and the order import."""
    _operator(request)
    return _page(request)


def _id(request: HttpRequest, name: str) -> int:
    text = request.POST.get(name, "").strip()
    if not (text.isascii() and text.isdigit()) or len(text) > 18:
        raise InvalidInput("id_invalid", lazy_text("Choose an entry from the list."))
    return int(text)


@operator_required
@require_POST
def platform_action(request: HttpRequest) -> HttpResponseBase:
    """Create or revoke a platform token; add or remove a marketplace webhook."""
    user = _operator(request)
    action = request.POST.get("action", "")
    if action == "token_create":
        token, raw = platform_token_create(actor=user, name=request.POST.get("name", ""))
        return _page(request, new_token=token, raw_token=raw)
    if action == "token_revoke":
        platform_token_revoke(actor=user, token_id=_id(request, "token"))
        messages.success(request, _("The token was revoked; it no longer works."))
    elif action == "webhook_create":
        endpoint = webhook_endpoint_create(
            actor=user,
            url=request.POST.get("url", ""),
            events=request.POST.getlist("events"),
        )
        return _page(request, new_webhook=endpoint)
    elif action == "webhook_delete":
        endpoint = access_endpoint_for_platform(user, _id(request, "endpoint"))
        webhook_endpoint_delete(actor=user, endpoint=endpoint)
        messages.success(request, _("The endpoint was removed."))
    else:
        raise InvalidInput("action_invalid", lazy_text("Unknown action. Reload the page."))
    return redirect("console:platform")


@operator_required
@require_POST
def platform_import(request: HttpRequest) -> HttpResponseBase:
    """Import an orders sheet (.csv or .xlsx); a dry run checks it and keeps nothing."""
    user = _operator(request)
    upload = request.FILES.get("file")
    if upload is None:
        raise InvalidInput("file_missing", lazy_text("Choose a .csv or .xlsx file of orders."))
    dry_run = request.POST.get("dry_run") == "1"
    results = orders_import(actor=user, upload=upload, filename=upload.name or "", dry_run=dry_run)
    counts = {
        s: sum(1 for r in results if r.result.status == s)
        for s in ("created", "updated", "unchanged", "refused")
    }
    return _page(
        request,
        import_results=results,
        import_counts=counts,
        dry_run=dry_run,
        file_name=upload.name,
    )


@operator_required
def platform_template(request: HttpRequest) -> HttpResponseBase:
    """Download the order sheet's template: the column names and one example cart."""
    _operator(request)
    header, rows = template_rows()
    response = StreamingHttpResponse(
        xlsx_stream(header, rows),
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    response["Content-Disposition"] = 'attachment; filename="claimdesk-orders-template.xlsx"'
    return response
