"""The platform intake under real concurrency, over HTTP: ten clients, one batch, each cart once."""

from __future__ import annotations

import json
import threading
import urllib.request
from typing import Any

import pytest

from claimdesk.accounts.tokens import platform_token_create
from claimdesk.orders.models import Cart, Order, OrderEvent
from claimdesk.payments.ledger import ledger_total
from claimdesk.payments.models import LedgerTransaction
from tests.factories import OperatorFactory
from tests.test_platform_api import buyer_row, cart_row, shop_row

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _post(url: str, raw: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(  # noqa: S310 - loopback test server
        url,
        data=json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {raw}", "Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310 - loopback test server
        return response.status, json.loads(response.read())


def test_ten_clients_sending_the_same_batch_create_each_order_once(
    postgres: None, live_server: Any
) -> None:
    _token, raw = platform_token_create(actor=OperatorFactory(), name="race")
    base = f"{live_server.url}/api/v1/platform"
    _post(f"{base}/shops", raw, {"shops": [shop_row(1), shop_row(2)]})
    _post(f"{base}/buyers", raw, {"buyers": [buyer_row(1), buyer_row(2)]})
    batch = {"carts": [cart_row(n, shop=1 + n % 2, buyer=1 + n % 2) for n in range(1, 31)]}
    barrier = threading.Barrier(10)
    answers: list[tuple[int, dict[str, Any]]] = []

    def send() -> None:
        barrier.wait(timeout=30)
        answers.append(_post(f"{base}/orders", raw, batch))

    threads = [threading.Thread(target=send) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert [code for code, _body in answers] == [200] * 10
    created = [body["created"] for _code, body in answers]
    assert sorted(created) == [0] * 9 + [30]
    assert all(body["unchanged"] == 30 for _c, body in answers if body["created"] == 0)
    assert Cart.objects.count() == 30
    assert Order.objects.count() == 60
    assert OrderEvent.objects.filter(kind="order.placed").count() == 60
    assert LedgerTransaction.objects.filter(kind="payment").count() == 30
    assert sum(ledger_total().values()) == 0
