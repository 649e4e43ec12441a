"""Idempotency on SQLite: two threads posting with one key make one effect.

The SQLite test database is a file (config/settings.py, TEST NAME), so the
threads' connections lock each other the way two processes do.
"""

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

pytestmark = pytest.mark.django_db(transaction=True)


def test_two_threads_with_one_key_ship_once() -> None:
    """Of two simultaneous calls with the same key, one ships; the other replays or waits."""
    if connection.vendor != "sqlite":
        pytest.skip("SQLite only (tests/test_api_idempotency_pg.py covers PostgreSQL)")
    seller, buyer = SellerFactory(), BuyerFactory()
    order = order_in("confirmed", seller=seller, buyer=buyer)
    _, raw = api_token_create(actor=seller, name="lite", can_write=True)
    barrier = threading.Barrier(2)
    answers: list[Any] = []
    errors: list[BaseException] = []

    def post() -> None:
        try:
            barrier.wait(timeout=10)
            response = Client().post(
                f"/api/v1/orders/{order.order_no}/ship",
                json.dumps({"carrier": "ヤマト", "tracking_no": "LITE-1"}),
                content_type="application/json",
                headers={"Authorization": f"Bearer {raw}", "Idempotency-Key": "same-key"},
            )
            answers.append((response.status_code, response.json()))
        except BaseException as error:  # noqa: BLE001 - reported by the main thread
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=post) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert len(answers) == 2
    codes = sorted(code for code, _ in answers)
    assert codes[0] == 200
    assert codes[1] in (200, 409)
    if codes[1] == 409:
        assert [b for c, b in answers if c == 409][0]["code"] == "idempotency_in_progress"
    else:
        assert answers[0][1] == answers[1][1]
    assert order.events.filter(kind="order.shipped").count() == 1
    assert ApiIdempotencyKey.objects.filter(key="same-key").count() == 1
