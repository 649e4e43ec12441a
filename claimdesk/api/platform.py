"""/platform: the marketplace's own routes (its shops, people, orders, events, webhooks).

Only a platform token opens them. Batches answer one result per row, in the
order sent: a malformed or refused row says why and changes nothing, the other
rows go on. The body of a batch is read row by row (not all-or-nothing), so
the OpenAPI document describes it with the intake's row models, added to its
components by `ClaimdeskAPI`.
"""

from __future__ import annotations

import json
from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema, Status
from pydantic import BaseModel, ValidationError

from claimdesk.accounts.models import ApiToken, User
from claimdesk.claims.selectors import order_claims_in_order_made
from claimdesk.core.errors import InvalidInput
from claimdesk.core.i18n import lazy_text as _
from claimdesk.intake import services as intake
from claimdesk.intake.schemas import MAX_BATCH_ROWS, CartIn, EventIn, PersonIn, ShopIn, StaffIn
from claimdesk.messaging.selectors import platform_webhook_endpoints
from claimdesk.messaging.webhooks import (
    access_endpoint_for_platform,
    webhook_endpoint_create,
    webhook_endpoint_delete,
)
from claimdesk.orders.access import access_order_for_platform
from claimdesk.payments.selectors import order_refunds

from .guard import platform_auth
from .problems import ERRORS
from .schemas import WebhookCreated, WebhookIn, WebhookOut
from .serializers import history_lines, order_dict, webhook_endpoint_dict

router = Router(tags=["platform"])

#: Row models of the batch routes: (body key, model), shown in the OpenAPI document.
BATCH_MODELS: dict[str, tuple[str, type[BaseModel]]] = {
    "shops": ("shops", ShopIn),
    "buyers": ("buyers", PersonIn),
    "staff": ("staff", StaffIn),
    "orders": ("carts", CartIn),
    "events": ("events", EventIn),
}


class RowOut(Schema):
    """What became of one row: `created`, `updated`, `unchanged` or `refused`."""

    index: int
    external_id: str | None
    status: str
    code: str = ""
    detail: str = ""
    data: dict[str, Any] = {}
    errors: list[dict[str, Any]] = []


class BatchOut(Schema):
    results: list[RowOut]
    created: int
    updated: int
    unchanged: int
    refused: int


def _actor(request: HttpRequest) -> User:
    token: ApiToken = request.auth  # type: ignore[attr-defined]
    return token.user


def batch_body(name: str) -> dict[str, Any]:
    """Return the OpenAPI requestBody of batch route `name` (see `ClaimdeskAPI`)."""
    key, model = BATCH_MODELS[name]
    return {
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {
                        "type": "object",
                        "required": [key],
                        "additionalProperties": False,
                        "properties": {
                            key: {
                                "type": "array",
                                "maxItems": MAX_BATCH_ROWS,
                                "items": {"$ref": f"#/components/schemas/{model.__name__}"},
                            }
                        },
                    }
                }
            },
        }
    }


def _rows(request: HttpRequest, key: str) -> list[Any]:
    """Return the raw rows of a batch body; refuse a body that is not one."""
    try:
        body = json.loads(request.body or b"null")
    except (UnicodeDecodeError, ValueError) as exc:
        raise InvalidInput(
            "invalid_json", _("The body is not valid JSON (UTF-8): %(error)s") % {"error": exc}
        ) from exc
    if not isinstance(body, dict) or not isinstance(body.get(key), list) or set(body) != {key}:
        raise InvalidInput(
            "batch_invalid",
            _('Send a JSON object with one list: {"%(key)s": [...]}.') % {"key": key},
        )
    rows: list[Any] = body[key]
    if len(rows) > MAX_BATCH_ROWS:
        raise InvalidInput(
            "batch_too_large",
            _("A batch has at most %(max)s rows; this one has %(n)s. Split it.")
            % {"max": MAX_BATCH_ROWS, "n": len(rows)},
            {"rows": len(rows), "max": MAX_BATCH_ROWS},
        )
    return rows


def _external_id(raw: Any) -> str | None:
    if isinstance(raw, dict):
        value = raw.get("external_id", raw.get("id"))
        return value if isinstance(value, str) else None
    return None


def _run_batch(request: HttpRequest, name: str, apply: Any) -> dict[str, Any]:
    key, model = BATCH_MODELS[name]
    raw_rows = _rows(request, key)
    results: list[dict[str, Any] | None] = [None] * len(raw_rows)
    valid: list[tuple[int, BaseModel]] = []
    for index, raw in enumerate(raw_rows):
        try:
            valid.append((index, model.model_validate(raw)))
        except ValidationError as exc:
            results[index] = {
                "index": index,
                "external_id": _external_id(raw),
                "status": "refused",
                "code": "invalid_row",
                "detail": str(_("This row is malformed; see errors. Nothing of it was saved.")),
                "errors": [
                    {
                        "loc": [str(p) for p in e.get("loc", ())],
                        "msg": str(e.get("msg", "")),
                        "type": str(e.get("type", "")),
                    }
                    for e in exc.errors()
                ],
            }
    for (index, _row), result in zip(
        valid, apply(actor=_actor(request), rows=[row for _i, row in valid]), strict=True
    ):
        results[index] = {
            "index": index,
            "external_id": result.external_id,
            "status": result.status,
            "code": result.code,
            "detail": result.detail,
            "data": result.data,
        }
    done = [r for r in results if r is not None]
    counts = {s: sum(1 for r in done if r["status"] == s) for s in intake.STATUSES}
    return {"results": done, **counts}


@router.post(
    "/platform/shops",
    response={200: BatchOut, **ERRORS},
    auth=platform_auth,
    openapi_extra=batch_body("shops"),
)
def upsert_shops(request: HttpRequest) -> Any:
    """Create or update shops by `external_id` (with their default return address)."""
    return _run_batch(request, "shops", intake.shops_upsert)


@router.post(
    "/platform/buyers",
    response={200: BatchOut, **ERRORS},
    auth=platform_auth,
    openapi_extra=batch_body("buyers"),
)
def upsert_buyers(request: HttpRequest) -> Any:
    """Create or update buyers by `external_id`."""
    return _run_batch(request, "buyers", intake.buyers_upsert)


@router.post(
    "/platform/staff",
    response={200: BatchOut, **ERRORS},
    auth=platform_auth,
    openapi_extra=batch_body("staff"),
)
def upsert_staff(request: HttpRequest) -> Any:
    """Create or update shop staff (role `seller`) and operators by `external_id`."""
    return _run_batch(request, "staff", intake.staff_upsert)


@router.post(
    "/platform/orders",
    response={200: BatchOut, **ERRORS},
    auth=platform_auth,
    openapi_extra=batch_body("orders"),
)
def ingest_orders(request: HttpRequest) -> Any:
    """Create carts and their orders by `external_id` (up to 1,000 carts a batch).

    Sending a cart again changes nothing; a corrected delivery address is taken
    until the order ships; other changes to a received cart are refused per row.
    """
    return _run_batch(request, "orders", intake.carts_ingest)


@router.post(
    "/platform/events",
    response={200: BatchOut, **ERRORS},
    auth=platform_auth,
    openapi_extra=batch_body("events"),
)
def apply_events(request: HttpRequest) -> Any:
    """Apply order events (paid, payment_failed, shipped, delivered, completed) in time order."""
    return _run_batch(request, "events", intake.events_apply)


class PlatformOrderOut(Schema):
    external_id: str | None
    cart_external_id: str | None
    order: dict[str, Any]
    claims: list[dict[str, Any]]
    refunds: list[dict[str, Any]]
    history: list[dict[str, Any]]


@router.get(
    "/platform/orders/{external_id}",
    response={200: PlatformOrderOut, **ERRORS},
    auth=platform_auth,
)
def get_platform_order(request: HttpRequest, external_id: str) -> Any:
    """Return an order as claimdesk sees it, with its claims and refunds."""
    order = access_order_for_platform(external_id)
    claims = [
        {
            "claim_id": c.pk,
            "type": c.type,
            "status": c.status,
            "is_open": c.is_open,
            "reason": c.reason_code,
            "fault": c.fault,
            "requested_at": c.requested_at,
            "completed_at": c.completed_at,
        }
        for c in order_claims_in_order_made(order)
    ]
    refunds = [
        {
            "claim_id": r.claim_id,
            "amount_minor": r.amount_minor,
            "currency": r.currency,
            "status": r.status,
            "destination": r.destination,
            "succeeded_at": r.succeeded_at,
        }
        for r in order_refunds(order.pk)
    ]
    return {
        "external_id": order.external_id,
        "cart_external_id": order.cart.external_id,
        "order": order_dict(order) | {"shop_external_id": order.shop.external_id},
        "claims": claims,
        "refunds": refunds,
        "history": history_lines(order),
    }


@router.get("/platform/webhooks", response={200: list[WebhookOut], **ERRORS}, auth=platform_auth)
def list_platform_webhooks(request: HttpRequest) -> Any:
    """List the marketplace's own webhook endpoints (they hear every shop's events)."""
    return [webhook_endpoint_dict(e) for e in platform_webhook_endpoints()]


@router.post("/platform/webhooks", response={201: WebhookCreated, **ERRORS}, auth=platform_auth)
def create_platform_webhook(request: HttpRequest, body: WebhookIn) -> Any:
    """Subscribe the marketplace to events of every shop; the answer shows the secret once."""
    endpoint = webhook_endpoint_create(
        actor=_actor(request),
        url=body.url,
        events=[str(e) for e in body.events],
        secret=body.secret,
    )
    return Status(201, webhook_endpoint_dict(endpoint) | {"secret": endpoint.secret})


@router.delete(
    "/platform/webhooks/{endpoint_id}", response={204: None, **ERRORS}, auth=platform_auth
)
def delete_platform_webhook(request: HttpRequest, endpoint_id: int) -> Any:
    """Remove one of the marketplace's endpoints."""
    actor = _actor(request)
    webhook_endpoint_delete(actor=actor, endpoint=access_endpoint_for_platform(actor, endpoint_id))
    return Status(204, None)
