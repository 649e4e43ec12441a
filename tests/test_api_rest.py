"""The REST API (/api/v1): tokens and scopes, the shipping and claims actions, problems, tenancy."""

from __future__ import annotations

import datetime as dt
import json
import time
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from claimdesk.accounts.models import ApiIdempotencyKey, ApiToken, ApiTokenKind, User
from claimdesk.accounts.tokens import api_token_create, api_token_revoke, idempotency_keys_purge
from claimdesk.claims.cancel import claim_request_cancel
from claimdesk.claims.models import Claim, ClaimStatus
from claimdesk.claims.returns import claim_request_return
from claimdesk.messaging.models import (
    WebhookAttempt,
    WebhookDelivery,
    WebhookDeliveryStatus,
    WebhookEndpoint,
)
from claimdesk.messaging.webhook_fanout import webhook_emit
from claimdesk.messaging.webhooks import webhook_endpoint_create
from claimdesk.orders.models import ShippingStatus
from claimdesk.payments.models import Refund, RefundStatus
from tests.factories import SellerFactory, order_in, return_address

pytestmark = pytest.mark.django_db

BASE = "/api/v1"


class Api:
    """A test client that sends one token."""

    def __init__(self, raw: str) -> None:
        self.client = Client()
        self.headers = {"Authorization": f"Bearer {raw}"}

    def get(self, path: str, **params: Any) -> Any:
        return self.client.get(BASE + path, params, headers=self.headers)

    def post(self, path: str, body: dict[str, Any] | None = None, key: str | None = None) -> Any:
        headers = dict(self.headers)
        if key is not None:
            headers["Idempotency-Key"] = key
        return self.client.post(
            BASE + path, json.dumps(body or {}), content_type="application/json", headers=headers
        )


def api_for(user: User, *, write: bool = True, kind: str = ApiTokenKind.REST) -> Api:
    _, raw = api_token_create(actor=user, name="test", can_write=write, kind=kind)
    return Api(raw)


def tomorrow() -> str:
    return (timezone.localdate() + dt.timedelta(days=1)).isoformat()


def test_openapi_document_and_docs_are_served(client: Client) -> None:
    """The OpenAPI 3 document lists the routes, problem+json errors and the Idempotency-Key header."""
    doc = client.get(f"{BASE}/openapi.json").json()
    assert doc["openapi"].startswith("3.")
    ship = doc["paths"][f"{BASE}/orders/{{order_no}}/ship"]["post"]
    assert "application/problem+json" in ship["responses"]["409"]["content"]
    assert any(p["name"] == "Idempotency-Key" for p in ship["parameters"])
    assert client.get(f"{BASE}/docs").status_code == 200


def test_no_or_bad_token_is_a_401_problem(client: Client, seller: User) -> None:
    """Without a valid token every route answers 401 problem+json."""
    response = client.get(f"{BASE}/orders")
    assert response.status_code == 401
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == "unauthenticated"
    bad = client.get(f"{BASE}/orders", headers={"Authorization": "Bearer nope"})
    assert bad.status_code == 401


def test_revoked_token_stops_working(seller: User) -> None:
    """A revoked token is refused at once."""
    token, raw = api_token_create(actor=seller, name="x")
    api = Api(raw)
    assert api.get("/me").status_code == 200
    api_token_revoke(actor=seller, token_id=token.pk)
    assert api.get("/me").status_code == 401


def test_token_is_stored_hashed(seller: User) -> None:
    """Only a hash of the token is stored; the raw key is shown once."""
    token, raw = api_token_create(actor=seller, name="x")
    assert raw not in token.key_hash and raw.startswith(token.prefix)


def test_qapi_key_is_not_a_rest_token(seller: User) -> None:
    """A QAPI seller key does not open the REST API."""
    api = api_for(seller, kind=ApiTokenKind.QAPI)
    assert api.get("/me").status_code == 401


def test_read_token_cannot_write(seller: User, buyer: User) -> None:
    """A read-only token gets 403 insufficient_scope on a state-changing call."""
    order = order_in("new", seller=seller, buyer=buyer)
    api = api_for(seller, write=False)
    response = api.post(f"/orders/{order.order_no}/confirm", {"est_ship_date": tomorrow()})
    assert response.status_code == 403
    assert response.json()["code"] == "insufficient_scope"
    order.refresh_from_db()
    assert order.shipping_status == ShippingStatus.REQUESTED


def test_orders_list_filters_and_cursor(seller: User, buyer: User) -> None:
    """The list filters like the shipping page and pages with a cursor."""
    new = [order_in("new", seller=seller, buyer=buyer) for _ in range(3)]
    confirmed = order_in("confirmed", seller=seller, buyer=buyer)
    api = api_for(seller)
    first = api.get("/orders", limit=2).json()
    assert len(first["items"]) == 2 and first["next_cursor"]
    second = api.get("/orders", limit=2, cursor=first["next_cursor"]).json()
    seen = [o["order_no"] for o in first["items"] + second["items"]]
    assert sorted(seen) == sorted([o.order_no for o in [*new, confirmed]])
    assert second["next_cursor"] is None
    assert [o["order_no"] for o in api.get("/orders", status=3).json()["items"]] == [
        confirmed.order_no
    ]
    assert len(api.get("/orders", box="new").json()["items"]) == 3
    by_cart = api.get("/orders", cart_no=new[0].cart.cart_no).json()["items"]
    assert [o["order_no"] for o in by_cart] == [new[0].order_no]
    today = timezone.localdate()
    assert len(api.get("/orders", date_from=str(today), date_to=str(today)).json()["items"]) == 4


def test_period_over_90_days_is_422(seller: User) -> None:
    """A period of more than 90 days is refused with a clear code."""
    api = api_for(seller)
    response = api.get("/orders", date_from="2024-01-01", date_to="2024-06-01")
    assert response.status_code == 422
    assert response.json()["code"] == "period_too_long"
    claims = api.get("/claims", date_from="2024-01-01", date_to="2024-06-01")
    assert claims.json()["code"] == "period_too_long"
    assert api.get("/orders", cursor="garbage").json()["code"] == "cursor_invalid"


def test_confirm_delay_ship_through_the_services(seller: User, buyer: User) -> None:
    """Confirm, delay and ship change the order exactly as the portal does, with history."""
    order = order_in("new", seller=seller, buyer=buyer)
    api = api_for(seller)
    confirmed = api.post(f"/orders/{order.order_no}/confirm", {"est_ship_date": tomorrow()})
    assert confirmed.status_code == 200, confirmed.content
    assert confirmed.json()["shipping_status"] == 3
    delayed = api.post(
        f"/orders/{order.order_no}/delay",
        {"est_ship_date": tomorrow(), "delay_type": 4, "memo": "待ち"},
    )
    assert delayed.json()["delayed"] is True
    shipped = api.post(f"/orders/{order.order_no}/ship", {"carrier": "ヤマト", "tracking_no": "1"})
    assert shipped.json()["shipping_status"] == 4
    detail = api.get(f"/orders/{order.order_no}").json()
    kinds = [h["kind"] for h in detail["history"]]
    assert "order.confirmed" in kinds and "order.shipped" in kinds
    again = api.post(f"/orders/{order.order_no}/confirm", {"est_ship_date": tomorrow()})
    assert again.status_code == 409
    assert again.json()["code"] == "wrong_shipping_status"


def test_error_message_is_in_the_token_owners_language(buyer: User) -> None:
    """The human message follows the owner's language; the code stays the same."""
    ja = SellerFactory(language="ja")
    en = SellerFactory(language="en", shop=ja.shop)
    order = order_in("shipped", seller=ja, buyer=buyer)
    body = {"est_ship_date": tomorrow()}
    ja_problem = api_for(ja).post(f"/orders/{order.order_no}/confirm", body).json()
    en_problem = api_for(en).post(f"/orders/{order.order_no}/confirm", body).json()
    assert ja_problem["code"] == en_problem["code"] == "wrong_shipping_status"
    assert "cannot be" in en_problem["detail"]


def test_bad_input_is_422_problem(seller: User, buyer: User) -> None:
    """A malformed body or a too long memo is a 422 problem that changes nothing."""
    order = order_in("new", seller=seller, buyer=buyer)
    api = api_for(seller)
    missing = api.post(f"/orders/{order.order_no}/ship", {"carrier": "x"})
    assert missing.status_code == 422 and missing.json()["code"] == "invalid_input"
    long_memo = api.post(
        f"/orders/{order.order_no}/delay",
        {"est_ship_date": tomorrow(), "delay_type": 4, "memo": "x" * 1001},
    )
    assert long_memo.status_code == 422 and long_memo.json()["code"] == "invalid_input"
    assert long_memo.json()["errors"][0]["loc"][-1] == "memo"
    bad_date = api.post(f"/orders/{order.order_no}/confirm", {"est_ship_date": "31/02"})
    assert bad_date.status_code == 422
    assert bad_date.json()["errors"][0]["loc"][-1] == "est_ship_date"


def test_bulk_ship_reports_each_row(seller: User, buyer: User) -> None:
    """Bulk ship ships good rows and reports bad ones; more than 500 rows is refused."""
    good = order_in("confirmed", seller=seller, buyer=buyer)
    api = api_for(seller)
    body = {
        "rows": [
            {"order_no": str(good.order_no), "carrier": "佐川", "tracking_no": "9"},
            {"order_no": "12345", "carrier": "佐川", "tracking_no": "9"},
        ]
    }
    results = api.post("/orders/ship-bulk", body).json()["results"]
    assert [r["ok"] for r in results] == [True, False]
    assert results[1]["code"] == "order_not_found"
    rows = [{"order_no": str(i), "carrier": "c", "tracking_no": "t"} for i in range(501)]
    too_many = api.post("/orders/ship-bulk", {"rows": rows})
    assert too_many.status_code == 422 and too_many.json()["code"] == "bulk_too_many_rows"


def test_claim_actions_and_refund(seller: User, buyer: User, run_tasks: Any) -> None:
    """Approving a cancel request refunds; the claim detail shows history and refund."""
    order = order_in("confirmed", seller=seller, buyer=buyer)
    claim_request_cancel(actor=buyer, order=order, reason="EDIT_ORDER")
    api = api_for(seller)
    listed = api.get("/claims", status=1).json()["items"]
    assert [c["order_no"] for c in listed] == [order.order_no]
    approved = api.post(f"/claims/{order.order_no}/approve-cancel", {"seller_memo": "OK"})
    assert approved.status_code == 200, approved.content
    assert approved.json()["status"] == ClaimStatus.CANCELLING
    run_tasks()
    detail = api.get(f"/claims/{order.order_no}").json()
    assert detail["status"] == ClaimStatus.CANCEL_COMPLETED
    assert detail["refund"]["status"] == RefundStatus.SUCCEEDED
    assert any(h["kind"] == "claim.approve_cancel" for h in detail["history"])
    assert api.get(f"/claims/{order.order_no}/refund").json()["status"] == "succeeded"


def test_return_flow_and_refund_retry_is_forbidden_for_sellers(
    seller: User, buyer: User, run_tasks: Any
) -> None:
    """Accept and complete a return; a seller asking to retry a refund gets 403."""
    return_address(seller.shop)  # type: ignore[arg-type]
    order = order_in("delivered", seller=seller, buyer=buyer)
    claim_request_return(actor=buyer, order=order, reason="DEFECTIVE")
    api = api_for(seller)
    accepted = api.post(f"/claims/{order.order_no}/accept-return", {"pickup_method": "buyer_sends"})
    assert accepted.json()["status"] == ClaimStatus.RETURNING
    unconfirmed = api.post(
        f"/claims/{order.order_no}/complete-return", {"goods_received": True, "confirmed": False}
    )
    assert unconfirmed.status_code == 422
    assert unconfirmed.json()["code"] == "confirmation_required"
    done = api.post(
        f"/claims/{order.order_no}/complete-return", {"goods_received": True, "confirmed": True}
    )
    assert done.status_code == 200, done.content
    retry = api.post(f"/claims/{order.order_no}/refund/retry")
    assert retry.status_code == 403
    assert retry.json()["code"] == "role_not_allowed"


def test_seller_cancel_needs_confirmation_without_notice(seller: User, buyer: User) -> None:
    """Cancelling without a prior note asks for confirmation (409), then cancels."""
    order = order_in("new", seller=seller, buyer=buyer)
    api = api_for(seller)
    first = api.post(f"/orders/{order.order_no}/cancel", {"reason": "OUT_OF_STOCK"})
    assert first.status_code == 409 and first.json()["code"] == "notice_not_sent"
    assert first.json()["data"]["needs_confirmation"] is True
    second = api.post(
        f"/orders/{order.order_no}/cancel",
        {"reason": "OUT_OF_STOCK", "confirm_without_notice": True},
    )
    assert second.status_code == 200
    # a card refund: the cancel completes when the worker has given the money back
    assert Claim.objects.get(order=order).status == ClaimStatus.CANCELLING


def test_notes_list_and_send(seller: User, buyer: User) -> None:
    """A note sent through the API appears in the thread."""
    order = order_in("new", seller=seller, buyer=buyer)
    api = api_for(seller)
    sent = api.post(
        f"/orders/{order.order_no}/notes",
        {"category": "shipping", "title": "お知らせ", "body": "明日発送します"},
    )
    assert sent.status_code == 201, sent.content
    thread = api.get(f"/orders/{order.order_no}/notes").json()
    assert [n["title"] for n in thread] == ["お知らせ"]


def test_another_shops_objects_are_404(seller: User, other_seller: User, buyer: User) -> None:
    """Every route answers 404 for another shop's order, exactly as for a missing one."""
    order = order_in("confirmed", seller=other_seller, buyer=buyer)
    claim_request_cancel(actor=buyer, order=order, reason="EDIT_ORDER")
    api = api_for(seller)
    no = order.order_no
    gets = [f"/orders/{no}", f"/claims/{no}", f"/orders/{no}/notes", f"/claims/{no}/refund"]
    for path in gets:
        response = api.get(path)
        assert response.status_code == 404, path
        assert response["Content-Type"] == "application/problem+json"
    posts = {
        f"/orders/{no}/confirm": {"est_ship_date": tomorrow()},
        f"/orders/{no}/delay": {"est_ship_date": tomorrow(), "delay_type": 1},
        f"/orders/{no}/ship": {"carrier": "c", "tracking_no": "t"},
        f"/orders/{no}/cancel": {"reason": "OUT_OF_STOCK", "confirm_without_notice": True},
        f"/orders/{no}/start-return": {"reason": "DEFECTIVE"},
        f"/claims/{no}/approve-cancel": {},
        f"/claims/{no}/decline-cancel": {"carrier": "c", "tracking_no": "t"},
        f"/claims/{no}/accept-return": {"pickup_method": "buyer_sends"},
        f"/claims/{no}/complete-return": {"goods_received": True, "confirmed": True},
        f"/claims/{no}/convert-exchange": {},
        f"/claims/{no}/approve-exchange": {},
        f"/claims/{no}/redeliver": {
            "redelivery_date": tomorrow(),
            "carrier": "c",
            "tracking_no": "t",
        },
        f"/claims/{no}/refund-non-receipt": {},
        f"/claims/{no}/refund/retry": {},
        f"/orders/{no}/notes": {"category": "other", "title": "t", "body": "b"},
    }
    for path, body in posts.items():
        response = api.post(path, body)
        assert response.status_code == 404, (path, response.content)
    assert api.get("/orders").json()["items"] == []
    assert api.get("/claims").json()["items"] == []
    bulk = api.post(
        "/orders/ship-bulk", {"rows": [{"order_no": str(no), "carrier": "c", "tracking_no": "t"}]}
    )
    assert bulk.json()["results"][0]["code"] == "order_not_found"
    order.refresh_from_db()
    assert order.shipping_status == ShippingStatus.CONFIRMED
    assert Claim.objects.get(order=order).status == ClaimStatus.CANCEL_REQUESTED


def test_idempotency_key_replays_and_refuses_another_body(seller: User, buyer: User) -> None:
    """The same key and body replay the first answer; another body with that key is refused."""
    order = order_in("confirmed", seller=seller, buyer=buyer)
    api = api_for(seller)
    body = {"carrier": "ヤマト", "tracking_no": "111"}
    first = api.post(f"/orders/{order.order_no}/ship", body, key="k-1")
    again = api.post(f"/orders/{order.order_no}/ship", body, key="k-1")
    assert first.status_code == again.status_code == 200
    assert again["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert order.events.filter(kind="order.shipped").count() == 1
    other = api.post(f"/orders/{order.order_no}/ship", {**body, "tracking_no": "2"}, key="k-1")
    assert other.status_code == 422 and other.json()["code"] == "idempotency_key_reused"
    # A refusal is replayed too: the second call with a new key is a new request.
    refused = api.post(f"/orders/{order.order_no}/ship", body, key="k-2")
    assert refused.status_code == 409
    assert api.post(f"/orders/{order.order_no}/ship", body, key="k-2").status_code == 409
    assert ApiIdempotencyKey.objects.count() == 2


def test_rate_limit_answers_429_with_retry_after(seller: User, settings: Any) -> None:
    """Past the per-token limit the API answers 429 with Retry-After."""
    settings.CLAIMDESK = {**settings.CLAIMDESK, "API_RATE_LIMIT_PER_MINUTE": 3}
    from django.core.cache import cache

    cache.clear()
    api = api_for(seller)
    codes = [api.get("/me").status_code for _ in range(5)]
    assert codes[:3] == [200, 200, 200]
    limited = api.get("/me")
    assert limited.status_code == 429
    assert int(limited["Retry-After"]) >= 1
    assert limited.json()["code"] == "rate_limited"
    other = api_for(SellerFactory())
    assert other.get("/me").status_code == 200
    cache.clear()


def test_webhook_endpoints_through_the_api(seller: User, settings: Any) -> None:
    """Endpoints can be added, listed and removed; the secret is shown once."""
    settings.CLAIMDESK = {**settings.CLAIMDESK, "WEBHOOKS_ALLOW_PRIVATE": True}
    api = api_for(seller)
    created = api.post("/webhooks", {"url": "http://127.0.0.1:9/hook", "events": ["claim.created"]})
    assert created.status_code == 201, created.content
    assert created.json()["secret"].startswith("whsec_")
    listed = api.get("/webhooks").json()
    assert "secret" not in listed[0]
    hook_id = created.json()["id"]
    response = api.client.delete(f"{BASE}/webhooks/{hook_id}", headers=api.headers)
    assert response.status_code == 204
    assert Refund.objects.count() == 0


#: Every REST route with an object id in its path, and the test that checks it for another shop.
ISOLATION_TESTED = {
    "/api/v1/orders/{order_no}": "test_another_shops_objects_are_404",
    "/api/v1/orders/{order_no}/confirm": "test_another_shops_objects_are_404",
    "/api/v1/orders/{order_no}/delay": "test_another_shops_objects_are_404",
    "/api/v1/orders/{order_no}/ship": "test_another_shops_objects_are_404",
    "/api/v1/orders/{order_no}/cancel": "test_another_shops_objects_are_404",
    "/api/v1/orders/{order_no}/start-return": "test_another_shops_objects_are_404",
    "/api/v1/orders/{order_no}/notes": "test_another_shops_objects_are_404",
    "/api/v1/orders/{order_no}/notes/with-attachments": "test_notes_with_attachments",
    "/api/v1/claims/{order_no}": "test_another_shops_objects_are_404",
    "/api/v1/claims/{order_no}/approve-cancel": "test_another_shops_objects_are_404",
    "/api/v1/claims/{order_no}/decline-cancel": "test_another_shops_objects_are_404",
    "/api/v1/claims/{order_no}/accept-return": "test_another_shops_objects_are_404",
    "/api/v1/claims/{order_no}/complete-return": "test_another_shops_objects_are_404",
    "/api/v1/claims/{order_no}/convert-exchange": "test_another_shops_objects_are_404",
    "/api/v1/claims/{order_no}/approve-exchange": "test_another_shops_objects_are_404",
    "/api/v1/claims/{order_no}/redeliver": "test_another_shops_objects_are_404",
    "/api/v1/claims/{order_no}/refund-non-receipt": "test_another_shops_objects_are_404",
    "/api/v1/claims/{order_no}/refund": "test_another_shops_objects_are_404",
    "/api/v1/claims/{order_no}/refund/retry": "test_another_shops_objects_are_404",
    "/api/v1/webhooks/{endpoint_id}": "test_another_shops_webhooks_are_404",
    "/api/v1/webhooks/{endpoint_id}/deliveries": "test_another_shops_webhooks_are_404",
    "/api/v1/webhooks/deliveries/{delivery_id}/redeliver": "test_another_shops_webhooks_are_404",
    "/api/v1/platform/orders/{external_id}": "test_a_shop_token_is_refused_on_every_platform_route",
    "/api/v1/platform/webhooks/{endpoint_id}": "test_platform_webhooks_hear_every_shops_cancellations",
}


def test_every_object_route_has_an_isolation_test(client: Client) -> None:
    """A new route with an id in its path must be added to an isolation test (and here)."""
    paths = client.get(f"{BASE}/openapi.json").json()["paths"]
    assert {p for p in paths if "{" in p} == set(ISOLATION_TESTED)


@pytest.fixture
def their_webhook(other_seller: User, settings: Any) -> tuple[WebhookEndpoint, WebhookDelivery]:
    """Another shop's endpoint with one failed delivery in its log."""
    settings.CLAIMDESK = {**settings.CLAIMDESK, "WEBHOOKS_ALLOW_PRIVATE": True}
    endpoint = webhook_endpoint_create(
        actor=other_seller, url="http://127.0.0.1:9/hook", events=["claim.created"]
    )
    webhook_emit(shop_id=other_seller.shop_id or 0, event_type="claim.created", data={"x": 1})
    delivery = WebhookDelivery.objects.get(endpoint=endpoint)
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        status=WebhookDeliveryStatus.FAILED, attempts=8
    )
    delivery.refresh_from_db()
    return endpoint, delivery


def _unchanged(endpoint: WebhookEndpoint, delivery: WebhookDelivery) -> None:
    assert WebhookEndpoint.objects.filter(pk=endpoint.pk).exists()
    fresh = WebhookDelivery.objects.get(pk=delivery.pk)
    assert (fresh.status, fresh.attempts) == (WebhookDeliveryStatus.FAILED, 8)
    assert not WebhookAttempt.objects.filter(delivery=delivery).exists()


def test_another_shops_webhooks_are_404(
    seller: User, their_webhook: tuple[WebhookEndpoint, WebhookDelivery]
) -> None:
    """Deleting, listing or redelivering another shop's webhook answers 404 and changes nothing."""
    endpoint, delivery = their_webhook
    api = api_for(seller)
    assert api.get("/webhooks").json() == []
    for method, path in (
        ("delete", f"/webhooks/{endpoint.pk}"),
        ("get", f"/webhooks/{endpoint.pk}/deliveries"),
        ("post", f"/webhooks/deliveries/{delivery.pk}/redeliver"),
        ("delete", "/webhooks/99999999"),
        ("post", f"/webhooks/deliveries/{10**30}/redeliver"),
    ):
        response = getattr(api.client, method)(BASE + path, headers=api.headers)
        assert response.status_code == 404, (method, path, response.status_code)
        assert response["Content-Type"] == "application/problem+json"
    _unchanged(endpoint, delivery)


def test_seller_settings_refuse_another_shops_ids(
    seller: User,
    other_seller: User,
    client: Client,
    their_webhook: tuple[WebhookEndpoint, WebhookDelivery],
) -> None:
    """The settings pages answer 404 for another shop's endpoint, delivery or token, and for junk."""
    endpoint, delivery = their_webhook
    their_token, _raw = api_token_create(actor=other_seller, name="theirs")
    client.force_login(seller)
    for data in (
        {"action": "delete", "endpoint": str(endpoint.pk)},
        {"action": "redeliver", "delivery": str(delivery.pk)},
        {"action": "delete", "endpoint": "abc"},
        {"action": "redeliver", "delivery": "9" * 30},
    ):
        response = client.post("/seller/settings/webhooks/", data)
        assert response.status_code == 404, (data, response.status_code)
    for token in (str(their_token.pk), "abc", "", "9" * 30, "-1"):
        response = client.post("/seller/settings/api-tokens/", {"action": "revoke", "token": token})
        assert response.status_code == 404, (token, response.status_code)
    _unchanged(endpoint, delivery)
    assert ApiToken.objects.get(pk=their_token.pk).revoked_at is None


def test_an_abandoned_idempotency_key_may_be_retaken(
    seller: User, buyer: User, settings: Any
) -> None:
    """A key whose call never finished is 409 at first, and may be used again once stale."""
    settings.CLAIMDESK = {**settings.CLAIMDESK, "API_IDEMPOTENCY_STALE_SECONDS": 60}
    order = order_in("confirmed", seller=seller, buyer=buyer)
    api = api_for(seller)
    token = ApiToken.objects.get(name="test")
    body = {"carrier": "ヤマト", "tracking_no": "S-1"}
    path = f"/orders/{order.order_no}/ship"
    first = api.post(path, body, key="dead")
    assert first.status_code == 200
    # Make the record look like a call that died half-way (no answer stored).
    ApiIdempotencyKey.objects.filter(token=token, key="dead").update(
        status_code=None, response_body="", completed_at=None
    )
    assert api.post(path, body, key="dead").status_code == 409
    ApiIdempotencyKey.objects.filter(token=token, key="dead").update(
        created_at=timezone.now() - dt.timedelta(seconds=61)
    )
    retaken = api.post(path, body, key="dead")
    assert retaken.status_code == 409  # runs again: the order is already shipped
    assert retaken.json()["code"] == "wrong_shipping_status"
    record = ApiIdempotencyKey.objects.get(token=token, key="dead")
    assert record.status_code == retaken.status_code
    replay = api.post(path, body, key="dead")
    assert replay["Idempotent-Replayed"] == "true"
    assert replay.status_code == retaken.status_code
    assert order.events.filter(kind="order.shipped").count() == 1


def test_old_idempotency_keys_are_purged(seller: User, buyer: User) -> None:
    """Records older than 24 hours go in the sweep; younger ones stay for replay."""
    from claimdesk.ops.sweep import sweep

    order = order_in("confirmed", seller=seller, buyer=buyer)
    api = api_for(seller)
    api.post(f"/orders/{order.order_no}/ship", {"carrier": "c", "tracking_no": "1"}, key="old")
    api.post(f"/orders/{order.order_no}/ship", {"carrier": "c", "tracking_no": "1"}, key="new")
    ApiIdempotencyKey.objects.filter(key="old").update(
        created_at=timezone.now() - dt.timedelta(hours=25)
    )
    assert idempotency_keys_purge() == 1
    assert list(ApiIdempotencyKey.objects.values_list("key", flat=True)) == ["new"]
    assert sweep(now=timezone.now() + dt.timedelta(hours=25))["idempotency_keys_purged"] == 1
    assert not ApiIdempotencyKey.objects.exists()


def test_rate_limit_is_counted_in_the_shared_cache(seller: User, settings: Any) -> None:
    """The count lives in the configured shared cache (a database table by default)."""
    from django.core.cache import cache, caches

    assert settings.CACHES["default"]["BACKEND"] in (
        "django.core.cache.backends.db.DatabaseCache",
        "django.core.cache.backends.redis.RedisCache",
    )
    settings.CLAIMDESK = {**settings.CLAIMDESK, "API_RATE_LIMIT_PER_MINUTE": 2}
    cache.clear()
    api = api_for(seller)
    assert [api.get("/me").status_code for _ in range(3)] == [200, 200, 429]
    # Another process sees the same count: a fresh cache handle reads the same store.
    token = ApiToken.objects.get(name="test")
    fresh = caches.create_connection("default")
    window = int(time.time() // 60)
    counted = [fresh.get(f"claimdesk:api-rate:{token.pk}:{w}") or 0 for w in (window - 1, window)]
    assert sum(counted) >= 2
    cache.clear()


PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06"
    b"\x00\x00\x00\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01"
    b"\x00\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82"
)


def test_notes_with_attachments(
    seller: User, other_seller: User, buyer: User, settings: Any
) -> None:
    """multipart/form-data notes carry files, checked as in the portal; another shop's is 404."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    from claimdesk.messaging.models import Note

    order = order_in("new", seller=seller, buyer=buyer)
    theirs = order_in("new", seller=other_seller, buyer=buyer)
    api = api_for(seller)

    def send(order_no: int, files: list[tuple[str, bytes]], key: str | None = None) -> Any:
        headers = dict(api.headers)
        if key is not None:
            headers["Idempotency-Key"] = key
        data: dict[str, Any] = {"category": "shipping", "title": "写真", "body": "添付します"}
        data["attachments"] = [SimpleUploadedFile(n, c) for n, c in files]
        return api.client.post(
            f"{BASE}/orders/{order_no}/notes/with-attachments", data, headers=headers
        )

    sent = send(order.order_no, [("label.png", PNG)], key="note-1")
    assert sent.status_code == 201, sent.content
    attachments = sent.json()["attachments"]
    assert [(a["name"], a["content_type"]) for a in attachments] == [("label.png", "image/png")]
    again = send(order.order_no, [("label.png", PNG)], key="note-1")
    assert again.status_code == 201 and again["Idempotent-Replayed"] == "true"
    assert send(order.order_no, [("label.png", PNG + b"x")], key="note-1").status_code == 422
    assert Note.objects.filter(order=order).count() == 1
    # No files is a plain note; a file that is not an image or PDF is refused like in the portal.
    assert send(order.order_no, []).status_code == 201
    fake = send(order.order_no, [("evil.png", b"MZ\x90\x00 not a picture")])
    assert fake.status_code == 422 and fake.json()["code"] == "attachment_type"
    settings.CLAIMDESK = {**settings.CLAIMDESK, "NOTE_ATTACHMENT_MAX_BYTES": 10}
    big = send(order.order_no, [("label.png", PNG)])
    assert big.status_code == 422 and big.json()["code"] == "attachments_too_large"
    assert Note.objects.filter(order=order).count() == 2
    other = send(theirs.order_no, [("label.png", PNG)])
    assert other.status_code == 404
    assert not Note.objects.filter(order=theirs).exists()
