"""The marketplace's platform API (/api/v1/platform): its shops, people, orders and events."""

from __future__ import annotations

import copy
import datetime as dt
import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.management import call_command
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from standardwebhooks import Webhook

from claimdesk.accounts.models import ApiTokenKind, Shop, ShopAddress, User
from claimdesk.accounts.tokens import api_token_create, platform_token_create
from claimdesk.claims.models import Claim, ClaimStatus
from claimdesk.messaging.models import WebhookDelivery
from claimdesk.orders.models import Cart, Order, OrderEvent, ShippingStatus
from claimdesk.payments.ledger import ledger_total
from claimdesk.payments.models import LedgerTransaction
from tests.test_webhooks import Receiver

# Over real HTTP: a live server on loopback, a urllib client (transactional database).
pytestmark = pytest.mark.django_db(transaction=True)


class HttpResponse:
    """What a urllib call answered: status, headers and the body as JSON."""

    def __init__(self, status: int, headers: Any, body: bytes) -> None:
        self.status_code = status
        self.headers = headers
        self.content = body

    def __getitem__(self, name: str) -> str:
        return str(self.headers.get(name))

    def json(self) -> Any:
        return json.loads(self.content)


class HttpApi:
    """A client of the live server that sends one bearer token."""

    def __init__(self, base: str, raw: str) -> None:
        self.base = base + "/api/v1"
        self.headers = {"Authorization": f"Bearer {raw}"}

    def send(
        self, method: str, path: str, data: bytes | None = None, key: str | None = None
    ) -> HttpResponse:
        headers = dict(self.headers, **{"Content-Type": "application/json"})
        if key is not None:
            headers["Idempotency-Key"] = key
        request = urllib.request.Request(  # noqa: S310 - the loopback test server
            self.base + path, data=data, headers=headers, method=method
        )
        try:
            with urllib.request.urlopen(request, timeout=60) as answer:  # noqa: S310
                return HttpResponse(answer.status, answer.headers, answer.read())
        except urllib.error.HTTPError as error:
            return HttpResponse(error.code, error.headers, error.read())

    def post(self, path: str, body: Any = None, key: str | None = None) -> HttpResponse:
        # escaped JSON: a lone surrogate (which UTF-8 cannot carry) arrives as `\ud800`
        return self.send("POST", path, json.dumps(body or {}).encode(), key)

    def get(self, path: str) -> HttpResponse:
        return self.send("GET", path)

    def delete(self, path: str) -> HttpResponse:
        return self.send("DELETE", path)


T0 = dt.datetime(2026, 12, 1, 10, 0, tzinfo=dt.UTC)


@pytest.fixture
def hook_receiver(settings: Any) -> Iterator[Receiver]:
    """A local HTTP server for webhooks (private addresses allowed for the test)."""
    settings.CLAIMDESK = {**settings.CLAIMDESK, "WEBHOOKS_ALLOW_PRIVATE": True}
    server = Receiver()
    yield server
    server.close()


@pytest.fixture
def platform(operator: User, live_server: Any) -> HttpApi:
    _token, raw = platform_token_create(actor=operator, name="storefront")
    return HttpApi(live_server.url, raw)


@pytest.fixture
def shop_http(seller: User, live_server: Any) -> HttpApi:
    """A shop's write token, over HTTP."""
    _token, raw = api_token_create(actor=seller, name="shop", can_write=True)
    return HttpApi(live_server.url, raw)


def shop_row(n: int = 1, **extra: Any) -> dict[str, Any]:
    return {
        "external_id": f"shop-{n}",
        "name": f"Shop {n}",
        "email": f"shop{n}@example.com",
        "language": "zh-hans",
        "return_address": {"name": "Returns", "zip_code": "100-0001", "address": "Tokyo 1-1"},
    } | extra


def buyer_row(n: int = 1, **extra: Any) -> dict[str, Any]:
    return {"external_id": f"buyer-{n}", "display_name": f"Buyer {n}", "language": "ja"} | extra


def cart_row(n: int = 1, *, shop: int = 1, buyer: int = 1, **extra: Any) -> dict[str, Any]:
    return {
        "external_id": f"cart-{n}",
        "shop": f"shop-{shop}",
        "buyer": f"buyer-{buyer}",
        "currency": "JPY",
        "shipping_fee_minor": 500,
        "payment_method": "card",
        "ordered_at": T0.isoformat(),
        "receiver": {"name": "山田 太郎", "zip_code": "150-0001", "address": "東京都渋谷区1-2-3"},
        "orders": [
            {
                "external_id": f"order-{n}-a",
                "item": {"code": f"IT{shop}A", "seller_code": "SKU-A", "name": "Tea cup"},
                "option": {"code": "RED", "text": "Color: red", "price_minor": 100},
                "quantity": 2,
                "unit_price_minor": 1200,
            },
            {
                "external_id": f"order-{n}-b",
                "item": {"code": f"IT{shop}B", "name": "Saucer"},
                "quantity": 1,
                "unit_price_minor": 800,
            },
        ],
    } | extra


@pytest.fixture
def people(platform: HttpApi) -> HttpApi:
    assert (
        platform.post("/platform/shops", {"shops": [shop_row(1), shop_row(2)]}).status_code == 200
    )
    assert (
        platform.post("/platform/buyers", {"buyers": [buyer_row(1), buyer_row(2)]}).status_code
        == 200
    )
    return platform


def statuses(response: Any) -> list[str]:
    assert response.status_code == 200, response.content
    return [r["status"] for r in response.json()["results"]]


def snapshot() -> tuple[int, int, int, int, dict[str, int]]:
    return (
        Cart.objects.count(),
        Order.objects.count(),
        OrderEvent.objects.count(),
        LedgerTransaction.objects.count(),
        ledger_total(),
    )


# --- tokens ------------------------------------------------------------------------


def test_a_shop_token_is_refused_on_every_platform_route(shop_http: HttpApi) -> None:
    """A shop's token gets 403 on each platform route, and a platform token 403 on shop routes."""
    shop_api = shop_http
    for path in ("shops", "buyers", "staff", "orders", "events", "webhooks"):
        response = shop_api.post(f"/platform/{path}", {path: []})
        assert response.status_code == 403, path
        assert response.json()["code"] == "insufficient_scope"
    assert shop_api.get("/platform/orders/x").status_code == 403
    assert shop_api.get("/platform/webhooks").status_code == 403


def test_a_platform_token_opens_no_shop_route(platform: HttpApi) -> None:
    response = platform.get("/orders")
    assert response.status_code == 403
    assert response.json()["code"] == "platform_token"


def test_the_command_creates_a_token_that_works(capsys: Any, live_server: Any) -> None:
    call_command("platform_token", "create", "erp")
    raw = capsys.readouterr().out.strip()
    assert raw.startswith("cdp_")
    api = HttpApi(live_server.url, raw)
    assert statuses(api.post("/platform/buyers", {"buyers": [buyer_row(7)]})) == ["created"]
    assert User.objects.get(external_id="buyer-7").role == "buyer"
    token_id = User.objects.get(username="platform").api_tokens.get(kind=ApiTokenKind.PLATFORM).pk
    call_command("platform_token", "revoke", str(token_id))
    assert api.post("/platform/buyers", {"buyers": []}).status_code == 401


# --- people ------------------------------------------------------------------------


def test_shops_and_people_are_upserted_by_external_id(platform: HttpApi) -> None:
    assert statuses(platform.post("/platform/shops", {"shops": [shop_row(1)]})) == ["created"]
    assert statuses(platform.post("/platform/shops", {"shops": [shop_row(1)]})) == ["unchanged"]
    renamed = shop_row(1, name="Renamed")
    assert statuses(platform.post("/platform/shops", {"shops": [renamed]})) == ["updated"]
    shop = Shop.objects.get(external_id="shop-1")
    assert shop.name == "Renamed"
    assert shop.language == "zh-hans"
    assert ShopAddress.objects.get(shop=shop, is_default_return=True).zip_code == "100-0001"
    staff = {
        "external_id": "staff-1",
        "display_name": "Li",
        "language": "zh-hans",
        "role": "seller",
        "shop": "shop-1",
    }
    stranger = staff | {"external_id": "staff-2", "shop": "nope"}
    response = platform.post("/platform/staff", {"staff": [staff, stranger]})
    assert statuses(response) == ["created", "refused"]
    assert response.json()["results"][1]["code"] == "shop_unknown"
    user = User.objects.get(external_id="staff-1", role="seller")
    assert user.shop == shop
    assert not user.has_usable_password()


# --- orders ------------------------------------------------------------------------


def test_a_batch_creates_carts_and_the_same_batch_again_changes_nothing(
    people: HttpApi, django_assert_max_num_queries: Any
) -> None:
    batch = {"carts": [cart_row(1), cart_row(2, shop=2, buyer=2, payment_method="bank_transfer")]}
    first = people.post("/platform/orders", batch)
    assert statuses(first) == ["created", "created"]
    order = Order.objects.get(external_id="order-1-a")
    assert order.shipping_status == ShippingStatus.REQUESTED  # card: paid at once
    assert order.total_minor == (1200 + 100) * 2
    assert order.option_text == "Color: red"
    assert order.cart.payment_fee_minor >= 0
    unpaid = Order.objects.get(external_id="order-2-a")
    assert unpaid.shipping_status == ShippingStatus.AWAITING_PAYMENT
    assert unpaid.cart.payment_deadline is not None
    assert first.json()["results"][0]["data"]["orders"][0]["order_no"] == order.order_no
    assert sum(ledger_total().values()) == 0
    before = snapshot()
    again = people.post("/platform/orders", batch)
    assert statuses(again) == ["unchanged", "unchanged"]
    assert snapshot() == before


def test_queries_do_not_grow_with_the_batch(people: HttpApi, operator: User) -> None:
    """A batch of 40 carts takes as many statements as a batch of 5 (bulk writes)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from claimdesk.intake.schemas import CartIn
    from claimdesk.intake.services import carts_ingest

    def batch(first: int, n: int) -> int:
        rows = [cart_row(k) for k in range(first, first + n)]
        for row in rows:
            for line in row["orders"]:
                code = f"C{row['external_id']}{line['item']['code']}"[:20]
                line["item"] = dict(line["item"], code=code)
        carts = [CartIn.model_validate(row) for row in rows]
        with CaptureQueriesContext(connection) as queries:
            results = carts_ingest(actor=operator, rows=carts)
        assert {r.status for r in results} == {"created"}
        return len(queries)

    batch(1000, 1)  # the counters exist from here on
    few, many = batch(1, 5), batch(100, 40)
    # On PostgreSQL the larger batch's ledger lines go by COPY, which Django's log does not
    # list (`core.bulk`): one statement fewer there.
    assert many <= few
    assert many < 40


def test_bad_rows_are_refused_one_by_one_and_change_nothing(people: HttpApi) -> None:
    """Unknown shop, negative price, currency mismatch, a string for a number: each row alone."""
    people.post("/platform/orders", {"carts": [cart_row(1)]})
    before = snapshot()
    negative = cart_row(3)
    negative["orders"][0]["unit_price_minor"] = -5
    as_text = cart_row(4)
    as_text["orders"][0]["quantity"] = "2"
    as_bool = cart_row(5, shipping_fee_minor=True)
    dollars = cart_row(6, currency="USD")  # the items IT1A/IT1B are sold in yen
    big_discount = cart_row(7)
    big_discount["orders"][1]["seller_discount_minor"] = 10**6
    rows = [cart_row(2, shop=99), negative, as_text, as_bool, dollars, big_discount, "not a row"]
    response = people.post("/platform/orders", {"carts": rows})
    results = response.json()["results"]
    assert statuses(response) == ["refused"] * len(rows)
    assert [r["code"] for r in results] == [
        "shop_unknown",
        "invalid_row",
        "invalid_row",
        "invalid_row",
        "currency_mismatch",
        "discount_too_large",
        "invalid_row",
    ]
    assert results[2]["errors"][0]["loc"] == ["orders", "0", "quantity"]
    assert all(r["detail"] for r in results)
    assert snapshot() == before
    good = people.post("/platform/orders", {"carts": [cart_row(8), cart_row(9, shop=77)]})
    assert statuses(good) == ["created", "refused"]


@pytest.mark.parametrize(
    "body, code",
    [
        (b"{not json", "invalid_json"),
        (b"\xff\xfe", "invalid_input"),  # the guard refuses what is not UTF-8
        (b'{"carts": {}}', "batch_invalid"),
        (b'{"carts": [], "more": 1}', "batch_invalid"),
        (b"[]", "batch_invalid"),
    ],
)
def test_a_body_that_is_no_batch_is_refused_whole(people: HttpApi, body: bytes, code: str) -> None:
    response = people.send("POST", "/platform/orders", body)
    assert response.status_code == 422
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == code


def test_more_than_1000_rows_are_refused(people: HttpApi) -> None:
    rows = [cart_row(n) for n in range(1001)]
    response = people.post("/platform/orders", {"carts": rows})
    assert response.status_code == 422
    assert response.json()["code"] == "batch_too_large"
    assert Cart.objects.count() == 0


def test_a_shipped_orders_price_cannot_change_but_its_address_can_before(people: HttpApi) -> None:
    people.post("/platform/orders", {"carts": [cart_row(1)]})
    moved = cart_row(1, receiver={"name": "Other", "zip_code": "1", "address": "Osaka"})
    assert statuses(people.post("/platform/orders", {"carts": [moved]})) == ["updated"]
    assert Order.objects.get(external_id="order-1-a").receiver_address == "Osaka"
    people.post(
        "/platform/events",
        {
            "events": [
                {
                    "type": "shipped",
                    "order": "order-1-a",
                    "occurred_at": (T0 + dt.timedelta(hours=5)).isoformat(),
                    "carrier": "Yamato",
                    "tracking_no": "1234",
                }
            ]
        },
    )
    pricier = copy.deepcopy(moved)
    pricier["orders"][0]["unit_price_minor"] = 9999
    response = people.post("/platform/orders", {"carts": [pricier]})
    assert statuses(response) == ["refused"]
    result = response.json()["results"][0]
    assert result["code"] == "order_moved_on"
    assert "orders[order-1-a].unit_price_minor" in result["data"]["fields"]
    assert Order.objects.get(external_id="order-1-a").unit_price_minor == 1200


# --- events ------------------------------------------------------------------------


def ev(kind: str, order: str, hours: float, **extra: Any) -> dict[str, Any]:
    return {
        "type": kind,
        "order": order,
        "occurred_at": (T0 + dt.timedelta(hours=hours)).isoformat(),
    } | extra


def test_events_out_of_order_and_repeated(people: HttpApi) -> None:
    """Events apply in the order they happened; a repeat is a no-op; the timers see their times."""
    people.post("/platform/orders", {"carts": [cart_row(1)]})
    events = [
        ev("delivered", "order-1-a", 30),
        ev("shipped", "order-1-a", 6, carrier="Sagawa", tracking_no="998877"),
    ]
    assert statuses(people.post("/platform/events", {"events": events})) == ["updated", "updated"]
    order = Order.objects.get(external_id="order-1-a")
    assert order.shipping_status == ShippingStatus.DELIVERED
    assert order.tracking_no == "998877"
    assert order.shipped_at == T0 + dt.timedelta(hours=6)
    assert order.delivered_at == T0 + dt.timedelta(hours=30)
    before = snapshot()
    assert statuses(people.post("/platform/events", {"events": events})) == [
        "unchanged",
        "unchanged",
    ]
    assert snapshot() == before
    done = people.post("/platform/events", {"events": [ev("completed", "order-1-a", 50)]})
    assert statuses(done) == ["updated"]
    assert Order.objects.get(external_id="order-1-a").completed_at is not None


def test_events_for_a_cancelled_order_are_refused(people: HttpApi) -> None:
    """Shipped or delivered after a cancel: refused per row with the reason, nothing changes."""
    people.post("/platform/orders", {"carts": [cart_row(1, payment_method="bank_transfer")]})
    people.post("/platform/events", {"events": [ev("payment_failed", "order-1-b", 1)]})
    assert Order.objects.get(external_id="order-1-b").is_cancelled
    before = snapshot()
    response = people.post(
        "/platform/events",
        {
            "events": [
                ev("delivered", "order-1-b", 9),
                ev("shipped", "order-1-b", 8, carrier="Yamato", tracking_no="1"),
            ]
        },
    )
    assert statuses(response) == ["refused", "refused"]
    assert {r["code"] for r in response.json()["results"]} == {"order_cancelled"}
    assert snapshot() == before


def test_payment_events_pay_or_cancel_the_cart(people: HttpApi, run_tasks: Any) -> None:
    transfer = cart_row(1, payment_method="bank_transfer")
    konbini = cart_row(2, shop=2, payment_method="convenience_store")
    people.post("/platform/orders", {"carts": [transfer, konbini]})
    response = people.post(
        "/platform/events",
        {
            "events": [
                {
                    "type": "paid",
                    "cart": "cart-1",
                    "occurred_at": (T0 + dt.timedelta(hours=3)).isoformat(),
                },
                ev("payment_failed", "order-2-a", 4),
            ]
        },
    )
    assert statuses(response) == ["updated", "updated"]
    paid = Order.objects.filter(cart__external_id="cart-1")
    assert {o.shipping_status for o in paid} == {ShippingStatus.REQUESTED}
    cancelled = Order.objects.filter(cart__external_id="cart-2")
    assert all(o.is_cancelled for o in cancelled)
    assert {c.status for c in Claim.objects.filter(order__in=cancelled)} == {
        ClaimStatus.UNPAID_CANCELLED
    }
    late = people.post("/platform/events", {"events": [ev("paid", "order-2-b", 9)]})
    assert statuses(late) == ["refused"]
    assert late.json()["results"][0]["code"] == "cart_cancelled"
    assert sum(ledger_total().values()) == 0


def test_the_platform_order_shows_claims_and_history(people: HttpApi) -> None:
    people.post("/platform/orders", {"carts": [cart_row(1)]})
    response = people.get("/platform/orders/order-1-a")
    assert response.status_code == 200
    body = response.json()
    assert body["cart_external_id"] == "cart-1"
    assert body["order"]["shop_external_id"] == "shop-1"
    assert body["history"][0]["kind"] == "order.placed"
    assert people.get("/platform/orders/nope").status_code == 404


# --- webhooks ----------------------------------------------------------------------


def test_platform_webhooks_hear_every_shops_cancellations(
    people: HttpApi, shop_http: HttpApi, hook_receiver: Receiver, run_tasks: Any
) -> None:
    receiver = hook_receiver
    """The marketplace subscribes once and hears each shop's cancels, signed, with its own ids."""
    created = people.post(
        "/platform/webhooks", {"url": receiver.url, "events": ["order.cancelled", "claim.created"]}
    )
    assert created.status_code == 201, created.content
    secret = created.json()["secret"]
    people.post("/platform/orders", {"carts": [cart_row(1, payment_method="bank_transfer")]})
    people.post("/platform/events", {"events": [ev("payment_failed", "order-1-a", 2)]})
    run_tasks()
    bodies = [json.loads(r["body"]) for r in receiver.requests]
    cancelled = [b for b in bodies if b["type"] == "order.cancelled"]
    assert sorted(b["data"]["order_external_id"] for b in cancelled) == ["order-1-a", "order-1-b"]
    assert {b["data"]["cart_external_id"] for b in cancelled} == {"cart-1"}
    request = receiver.requests[0]
    assert Webhook(secret).verify(request["body"], request["headers"]) == bodies[0]
    listed = people.get("/platform/webhooks").json()
    assert [w["url"] for w in listed] == [receiver.url]
    shop_api = shop_http
    assert shop_api.get("/webhooks").json() == []  # the shop does not see the marketplace's
    endpoint_id = listed[0]["id"]
    assert shop_api.delete(f"/webhooks/{endpoint_id}").status_code == 404
    assert people.delete(f"/platform/webhooks/{endpoint_id}").status_code == 204
    assert WebhookDelivery.objects.count() == 0
    shops_own = shop_api.post("/webhooks", {"url": receiver.url, "events": ["claim.created"]})
    assert people.delete(f"/platform/webhooks/{shops_own.json()['id']}").status_code == 404


# --- property: whatever arrives, nothing half-done ---------------------------------


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    row=st.dictionaries(
        st.sampled_from(["external_id", "shop", "buyer", "currency", "orders", "payment_method"]),
        st.one_of(
            st.none(),
            st.booleans(),
            st.integers(),
            st.text(st.characters(exclude_characters="\x00"), max_size=5),
            st.lists(st.integers(), max_size=2),
        ),
    )
)
@example(row={"external_id": "\ud800", "shop": "\udfff"})
def test_any_malformed_row_is_refused_with_a_reason(people: HttpApi, row: dict[str, Any]) -> None:
    before = snapshot()
    response = people.post("/platform/orders", {"carts": [row]})
    assert statuses(response) == ["refused"]
    assert response.json()["results"][0]["detail"]
    assert snapshot() == before


def test_idempotency_key_replays_a_batch(people: HttpApi) -> None:
    batch = {"carts": [cart_row(1)]}
    first = people.post("/platform/orders", batch, key="batch-1")
    second = people.post("/platform/orders", batch, key="batch-1")
    assert second["Idempotent-Replayed"] == "true"
    assert second.json() == first.json()
    assert Cart.objects.count() == 1
