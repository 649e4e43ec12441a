"""Idempotency under real concurrency: two parallel POSTs with one key make one effect."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest
from django.db import connection
from django.test import Client

from claimdesk.accounts.models import ApiIdempotencyKey
from claimdesk.accounts.tokens import api_token_create
from tests.factories import BuyerFactory, SellerFactory, order_in

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_two_parallel_posts_with_one_key_ship_once(postgres: None) -> None:
    """Of two simultaneous calls with the same key, one ships; the other replays or waits."""
    seller, buyer = SellerFactory(), BuyerFactory()
    order = order_in("confirmed", seller=seller, buyer=buyer)
    _, raw = api_token_create(actor=seller, name="pg", can_write=True)
    barrier = threading.Barrier(2)
    answers: list[Any] = []

    def post() -> None:
        try:
            barrier.wait(timeout=10)
            response = Client().post(
                f"/api/v1/orders/{order.order_no}/ship",
                json.dumps({"carrier": "ヤマト", "tracking_no": "PG-1"}),
                content_type="application/json",
                headers={"Authorization": f"Bearer {raw}", "Idempotency-Key": "same-key"},
            )
            answers.append((response.status_code, response.json()))
        finally:
            connection.close()

    threads = [threading.Thread(target=post) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(answers) == 2
    codes = sorted(code for code, _ in answers)
    assert codes[0] == 200
    assert codes[1] in (200, 409)
    if codes[1] == 409:
        assert [b for c, b in answers if c == 409][0]["code"] == "idempotency_in_progress"
    assert order.events.filter(kind="order.shipped").count() == 1
    assert ApiIdempotencyKey.objects.filter(key="same-key").count() == 1
