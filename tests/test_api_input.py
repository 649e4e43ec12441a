"""Hostile and malformed API input: strict numbers, ship-date limits, encodings and sizes."""

from __future__ import annotations

import datetime as dt
import json
import logging
from typing import Any

import pytest
from django.utils import timezone

from claimdesk.claims.models import Claim
from claimdesk.claims.non_receipt import claim_report_non_receipt
from claimdesk.orders.models import Order, ShippingStatus
from claimdesk.payments.models import Refund
from tests.factories import order_in
from tests.test_api_rest import BASE, api_for

pytestmark = pytest.mark.django_db


def _non_receipt_claim(seller: Any, buyer: Any) -> Claim:
    order = order_in("shipped", seller=seller, buyer=buyer)
    return claim_report_non_receipt(actor=buyer, order=order, memo="届かない")


@pytest.mark.parametrize("amount", [True, "100", 100.5, "1e2"])
def test_money_is_a_json_integer_only(seller: Any, buyer: Any, amount: object) -> None:
    """`true`, "100" and 100.5 are refused with 422 problem+json; nothing is refunded."""
    claim = _non_receipt_claim(seller, buyer)
    api = api_for(seller)
    response = api.post(
        f"/claims/{claim.order.order_no}/refund-non-receipt", {"amount_minor": amount}
    )
    assert response.status_code == 422, response.content
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["errors"][0]["loc"][-1] == "amount_minor"
    assert not Refund.objects.filter(order=claim.order).exists()
    claim.refresh_from_db()
    assert claim.is_open


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/orders/{no}/delay", {"est_ship_date": "2099-01-01", "delay_type": "1"}),
        ("/orders/{no}/delay", {"est_ship_date": "2099-01-01", "delay_type": True}),
        ("/orders/{no}/cancel", {"reason": "OUT_OF_STOCK", "confirm_without_notice": 1}),
    ],
)
def test_other_numbers_and_flags_are_strict(seller: Any, buyer: Any, path: str, body: Any) -> None:
    """A number sent as text or a flag sent as a number is refused, not coerced."""
    order = order_in("new", seller=seller, buyer=buyer)
    response = api_for(seller).post(path.format(no=order.order_no), body)
    assert response.status_code == 422, response.content
    order.refresh_from_db()
    assert order.shipping_status == ShippingStatus.REQUESTED
    assert order.cancelled_at is None


@pytest.mark.parametrize("days", [91, 3650])
def test_rest_confirm_refuses_a_ship_date_beyond_90_days(
    seller: Any, buyer: Any, days: int
) -> None:
    """The REST confirm refuses what the QAPI refuses: a date more than 90 days ahead."""
    order = order_in("new", seller=seller, buyer=buyer)
    day = timezone.localdate() + dt.timedelta(days=days)
    response = api_for(seller).post(
        f"/orders/{order.order_no}/confirm", {"est_ship_date": day.isoformat()}
    )
    assert response.status_code == 422, response.content
    assert response.json()["code"] == "date_too_far"
    order.refresh_from_db()
    assert order.shipping_status == ShippingStatus.REQUESTED


def test_rest_confirm_refuses_the_year_9999(seller: Any, buyer: Any) -> None:
    """A date outside the documented years (2000-2099) is refused as the document says."""
    order = order_in("new", seller=seller, buyer=buyer)
    response = api_for(seller).post(
        f"/orders/{order.order_no}/confirm", {"est_ship_date": "9999-12-31"}
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"][-1] == "est_ship_date"


def test_rest_confirm_takes_a_ship_date_90_days_ahead(seller: Any, buyer: Any) -> None:
    """The last allowed day (90 days ahead) is taken."""
    order = order_in("new", seller=seller, buyer=buyer)
    day = timezone.localdate() + dt.timedelta(days=90)
    response = api_for(seller).post(
        f"/orders/{order.order_no}/confirm", {"est_ship_date": day.isoformat()}
    )
    assert response.status_code == 200, response.content
    assert Order.objects.get(pk=order.pk).est_ship_date == day


def test_json_that_is_not_utf8_is_a_422_problem(seller: Any, buyer: Any) -> None:
    """A body in another encoding gets the documented 422 problem, not a 400 or a 500."""
    order = order_in("new", seller=seller, buyer=buyer)
    api = api_for(seller)
    body = json.dumps({"carrier": "ヤマト", "tracking_no": "1"}, ensure_ascii=False)
    response = api.client.post(
        f"{BASE}/orders/{order.order_no}/ship",
        body.encode("shift_jis"),
        content_type="application/json",
        headers=api.headers,
    )
    assert response.status_code == 422
    assert response["Content-Type"] == "application/problem+json"


def test_wrong_method_is_405(seller: Any) -> None:
    """A method a path does not have answers 405 with Allow."""
    api = api_for(seller)
    response = api.client.delete(f"{BASE}/orders", headers=api.headers)
    assert response.status_code == 405
    assert "GET" in response["Allow"]


def test_a_3mb_body_is_refused_without_a_traceback(
    seller: Any, buyer: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """A body over the upload limit gets 413 problem+json and logs no exception."""
    order = order_in("new", seller=seller, buyer=buyer)
    api = api_for(seller)
    body = json.dumps({"carrier": "x" * (3 * 1024 * 1024), "tracking_no": "1"})
    with caplog.at_level(logging.INFO):
        response = api.client.post(
            f"{BASE}/orders/{order.order_no}/ship",
            body,
            content_type="application/json",
            headers=api.headers,
        )
    assert response.status_code == 413
    assert response["Content-Type"] == "application/problem+json"
    assert not [r for r in caplog.records if r.exc_info]


def test_malformed_json_is_a_422_problem(seller: Any, buyer: Any) -> None:
    """A body that is no JSON at all gets the documented 422 problem."""
    order = order_in("new", seller=seller, buyer=buyer)
    api = api_for(seller)
    response = api.client.post(
        f"{BASE}/orders/{order.order_no}/ship",
        b'{"carrier": ',
        content_type="application/json",
        headers=api.headers,
    )
    assert response.status_code == 422
    assert response.json()["code"] == "invalid_input"
