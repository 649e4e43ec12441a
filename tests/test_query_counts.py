"""Every list of the REST API and of QAPI reads a fixed number of queries, however long it is.

Each test calls a list once with one row and once with several (with
different buyers, carts, statuses and attachments, so that any per-row read
would show) and expects the same exact count both times: a query per row
(N+1) fails. The first call of a token is made before counting, so that the
token's one-time bookkeeping is not counted.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from claimdesk.accounts.models import ApiTokenKind, User
from claimdesk.accounts.tokens import api_token_create, platform_token_create
from claimdesk.claims.cancel import claim_request_cancel, claim_seller_cancel
from claimdesk.claims.non_receipt import claim_refund_non_receipt, claim_report_non_receipt
from claimdesk.claims.returns import claim_request_return
from claimdesk.messaging.models import NoteCategory
from claimdesk.messaging.services import note_send
from claimdesk.messaging.webhook_fanout import webhook_emit
from claimdesk.messaging.webhooks import webhook_endpoint_create
from claimdesk.orders.models import Order
from tests.factories import BuyerFactory, order_in, place_cart, return_address

pytestmark = pytest.mark.django_db

Counted = Callable[[int], AbstractContextManager[Any]]
REST = "/api/v1"
QAPI = "/GMKT.INC.Front.QAPIService/ebayjapan.qapi"
#: The rows of the longer call.
N = 4


@pytest.fixture(autouse=True)
def _setup(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.CLAIMDESK = {**settings.CLAIMDESK, "WEBHOOKS_ALLOW_PRIVATE": True}
    # The rate limits' counters live in the cache: in memory here, so that only the
    # database work of the lists is counted (not whether a minute's counter was new).
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}


class Rest:
    """A client of the REST API with one bearer token."""

    def __init__(self, raw: str) -> None:
        self.client = Client()
        self.headers = {"Authorization": f"Bearer {raw}"}

    def get(self, path: str) -> Any:
        response = self.client.get(REST + path, headers=self.headers)
        assert response.status_code == 200, response.content
        return response.json()


class Qapi:
    """A Qoo10 client with one seller key."""

    def __init__(self, raw: str) -> None:
        self.client = Client()
        self.key = raw

    def call(self, method: str, **params: str) -> Any:
        response = self.client.post(
            f"{QAPI}/{method}",
            {"returnType": "application/json", **params},
            headers={"GiosisCertificationKey": self.key, "QAPIVersion": "1.0"},
        )
        body = response.json()
        assert body["ResultCode"] == 0, body
        return body["ResultObject"]


def rest_for(user: User) -> Rest:
    api = Rest(api_token_create(actor=user, name="counted", kind=ApiTokenKind.REST)[1])
    api.get("/me")
    return api


def qapi_for(user: User) -> Qapi:
    api = Qapi(api_token_create(actor=user, name="counted", kind=ApiTokenKind.QAPI)[1])
    api.call("ItemsLookup.GetAllGoodsInfo")
    return api


def same_count(
    counted: Counted, expected: int, read: Callable[[], int], grow: Callable[[], None]
) -> None:
    """`read` (returning its number of rows) costs `expected` queries with one row and with N."""
    with counted(expected):
        assert read() == 1
    grow()
    with counted(expected):
        assert read() == N


def add_more(add: Callable[[int], None]) -> None:
    """Call `add` for rows 1 to N - 1 (row 0 is there already)."""
    for n in range(1, N):
        add(n)


@pytest.fixture
def counted(django_assert_num_queries: Counted) -> Iterator[Counted]:
    yield django_assert_num_queries


def _today() -> str:
    return timezone.localdate().strftime("%Y%m%d")


# --- REST ---------------------------------------------------------------------------------------


def test_rest_orders(counted: Counted, seller: User, buyer: User) -> None:
    """GET /orders: orders of several carts and buyers, one a cart of two."""
    api = rest_for(seller)
    order_in("new", seller=seller, buyer=buyer)

    def grow() -> None:
        order_in("confirmed", seller=seller, buyer=BuyerFactory())
        place_cart(shop=seller.shop, buyer=BuyerFactory(), prices=[700, 900])  # type: ignore[arg-type]

    same_count(counted, 2, lambda: len(api.get("/orders")["items"]), grow)


def test_rest_claims(counted: Counted, seller: User, buyer: User) -> None:
    """GET /claims: cancel and return requests and a refunded cancel, of several buyers."""
    return_address(seller.shop)  # type: ignore[arg-type]
    api = rest_for(seller)
    first = order_in("confirmed", seller=seller, buyer=buyer)
    claim_request_cancel(actor=buyer, order=first, reason="EDIT_ORDER")

    def grow() -> None:
        other = BuyerFactory()
        delivered = order_in("delivered", seller=seller, buyer=other)
        claim_request_return(actor=other, order=delivered, reason="DEFECTIVE")
        new = order_in("new", seller=seller, buyer=BuyerFactory())
        claim_seller_cancel(
            actor=seller, order=new, reason="OUT_OF_STOCK", confirm_without_notice=True
        )
        shipped = order_in("shipped", seller=seller, buyer=other, method="bank_transfer")
        claim_report_non_receipt(actor=other, order=shipped)

    same_count(counted, 2, lambda: len(api.get("/claims")["items"]), grow)


def test_rest_notes(counted: Counted, seller: User, buyer: User) -> None:
    """GET /orders/{no}/notes: notes both ways, some with attachments."""
    api = rest_for(seller)
    order = order_in("new", seller=seller, buyer=buyer)

    def send(actor: User, n: int, files: int = 0) -> None:
        note_send(
            actor=actor,
            order=order,
            category=NoteCategory.CANCEL_REFUND,
            title=f"note {n}",
            body="在庫切れのためキャンセルします。",
            attachments=[
                SimpleUploadedFile(f"{n}-{i}.pdf", b"%PDF-1.4\n%%EOF\n", "application/pdf")
                for i in range(files)
            ],
        )

    send(seller, 0)

    def grow() -> None:
        send(buyer, 1, files=1)
        send(seller, 2, files=2)
        send(buyer, 3)

    same_count(counted, 5, lambda: len(api.get(f"/orders/{order.order_no}/notes")), grow)


def test_rest_webhooks_and_deliveries(counted: Counted, seller: User) -> None:
    """GET /webhooks and GET /webhooks/{id}/deliveries."""
    api = rest_for(seller)

    def add(n: int) -> None:
        webhook_endpoint_create(
            actor=seller, url=f"http://127.0.0.1:9/hook/{n}", events=["claim.created"]
        )

    add(0)
    same_count(
        counted,
        2,
        lambda: len(api.get("/webhooks")),
        lambda: add_more(add),
    )
    endpoint = api.get("/webhooks")[0]["id"]
    shop_id = seller.shop_id or 0

    def emit() -> None:
        webhook_emit(shop_id=shop_id, event_type="claim.created", data={"x": 1})

    def deliveries() -> int:
        return len(api.get(f"/webhooks/{endpoint}/deliveries"))

    emit()
    same_count(counted, 3, deliveries, lambda: add_more(lambda _n: emit()))


def test_rest_platform_webhooks_and_order(counted: Counted, operator: User, seller: User) -> None:
    """GET /platform/webhooks, and an order's claims, refunds and history on GET /platform/orders."""
    _token, raw = platform_token_create(actor=operator, name="storefront")
    api = Rest(raw)
    response = api.client.post(
        REST + "/platform/webhooks",
        json.dumps({"url": "http://127.0.0.1:9/erp/0", "events": ["claim.created"]}),
        content_type="application/json",
        headers=api.headers,
    )
    assert response.status_code == 201, response.content

    def add(n: int) -> None:
        created = api.client.post(
            REST + "/platform/webhooks",
            json.dumps({"url": f"http://127.0.0.1:9/erp/{n}", "events": ["claim.created"]}),
            content_type="application/json",
            headers=api.headers,
        )
        assert created.status_code == 201

    same_count(
        counted,
        2,
        lambda: len(api.get("/platform/webhooks")),
        lambda: add_more(add),
    )

    buyer = BuyerFactory()
    order = order_in("shipped", seller=seller, buyer=buyer, prices=[3000], method="bank_transfer")
    Order.objects.filter(pk=order.pk).update(external_id="ext-1")
    first = claim_report_non_receipt(actor=buyer, order=order)
    claim_refund_non_receipt(actor=seller, claim=first, amount_minor=100)

    def refunded_claims() -> int:
        body = api.get("/platform/orders/ext-1")
        assert len(body["refunds"]) == len(body["claims"])
        return len(body["claims"])

    def grow() -> None:
        for _ in range(1, N):
            claim = claim_report_non_receipt(actor=buyer, order=order)
            claim_refund_non_receipt(actor=seller, claim=claim, amount_minor=100)

    same_count(counted, 5, refunded_claims, grow)


# --- QAPI ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["GetShippingInfo_v2", "GetShippingInfo_v3"])
def test_qapi_shipping_info(counted: Counted, seller: User, buyer: User, method: str) -> None:
    """ShippingBasic.GetShippingInfo: new orders of several carts and buyers."""
    api = qapi_for(seller)
    order_in("new", seller=seller, buyer=buyer)

    def grow() -> None:
        order_in("new", seller=seller, buyer=BuyerFactory(), method="bank_transfer")
        place_cart(shop=seller.shop, buyer=BuyerFactory(), prices=[700, 900])  # type: ignore[arg-type]

    def read() -> int:
        return len(api.call(f"ShippingBasic.{method}", ShippingStatus="2"))

    same_count(counted, 3, read, grow)


def test_qapi_claim_info(counted: Counted, seller: User, buyer: User) -> None:
    """ShippingBasic.GetClaimInfo_V3: claims of several kinds, one partly refunded."""
    return_address(seller.shop)  # type: ignore[arg-type]
    api = qapi_for(seller)
    first = order_in("confirmed", seller=seller, buyer=buyer)
    claim_request_cancel(actor=buyer, order=first, reason="EDIT_ORDER")

    def grow() -> None:
        other = BuyerFactory()
        delivered = order_in("delivered", seller=seller, buyer=other)
        claim_request_return(actor=other, order=delivered, reason="DEFECTIVE", exchange=True)
        shipped = order_in("shipped", seller=seller, buyer=other, method="bank_transfer")
        report = claim_report_non_receipt(actor=other, order=shipped)
        claim_refund_non_receipt(actor=seller, claim=report, amount_minor=300)
        new = order_in("new", seller=seller, buyer=BuyerFactory())
        claim_seller_cancel(
            actor=seller, order=new, reason="OUT_OF_STOCK", confirm_without_notice=True
        )

    def read() -> int:
        today = _today()
        return len(
            api.call("ShippingBasic.GetClaimInfo_V3", search_Sdate=today, search_Edate=today)
        )

    same_count(counted, 2, read, grow)


def test_qapi_all_goods_info(counted: Counted, seller: User, buyer: User) -> None:
    """ItemsLookup.GetAllGoodsInfo: the shop's items."""
    api = qapi_for(seller)
    order_in("new", seller=seller, buyer=buyer)

    def grow() -> None:
        place_cart(shop=seller.shop, buyer=BuyerFactory(), prices=[700, 800, 900])  # type: ignore[arg-type]

    def read() -> int:
        return len(api.call("ItemsLookup.GetAllGoodsInfo")["Items"])

    same_count(counted, 3, read, grow)
