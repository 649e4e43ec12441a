"""The console's marketplace page: platform tokens, marketplace webhooks, the order sheet import."""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.test import Client
from openpyxl import Workbook, load_workbook

from claimdesk.accounts.models import ApiToken, ApiTokenKind, User
from claimdesk.intake.sheets import COLUMNS, template_rows
from claimdesk.messaging.models import WebhookEndpoint
from claimdesk.orders.models import Cart, Order
from tests.test_api_rest import Api
from tests.test_platform_api import buyer_row, shop_row

pytestmark = pytest.mark.django_db

PAGE = "/console/marketplace/"


@pytest.fixture
def console(operator: User) -> Client:
    client = Client()
    client.force_login(operator)
    return client


@pytest.fixture
def known(console: Client, operator: User) -> Client:
    """The shops and buyers the template's example names exist."""
    from claimdesk.accounts.tokens import platform_token_create

    _t, raw = platform_token_create(actor=operator, name="setup")
    api = Api(raw)
    api.post("/platform/shops", {"shops": [shop_row(1)]})
    api.post("/platform/buyers", {"buyers": [buyer_row(1)]})
    return console


def _csv(rows: list[list[Any]], header: tuple[str, ...] = COLUMNS) -> io.BytesIO:
    lines = [",".join(header)] + [",".join(str(c) for c in row) for row in rows]
    upload = io.BytesIO("\n".join(lines).encode())
    upload.name = "orders.csv"
    return upload


def test_a_token_made_in_the_console_is_shown_once_and_opens_the_platform_api(
    console: Client,
) -> None:
    response = console.post(PAGE + "action/", {"action": "token_create", "name": "ERP"})
    page = response.content.decode()
    raw = page.split('<code class="secret">')[1].split("<")[0]
    assert raw.startswith("cdp_")
    assert raw not in console.get(PAGE).content.decode()
    api = Api(raw)
    assert api.post("/platform/buyers", {"buyers": [buyer_row(3)]}).status_code == 200
    token = ApiToken.objects.get(kind=ApiTokenKind.PLATFORM)
    console.post(PAGE + "action/", {"action": "token_revoke", "token": str(token.pk)})
    assert api.post("/platform/buyers", {"buyers": []}).status_code == 401
    refused = console.post(
        PAGE + "action/", {"action": "token_revoke", "token": "²"}, follow=True, HTTP_REFERER=PAGE
    )
    assert "Choose an entry from the list." in refused.content.decode()


def test_a_marketplace_webhook_is_added_and_removed(console: Client, settings: Any) -> None:
    settings.CLAIMDESK = {**settings.CLAIMDESK, "WEBHOOKS_ALLOW_PRIVATE": True}
    response = console.post(
        PAGE + "action/",
        {
            "action": "webhook_create",
            "url": "http://127.0.0.1:9/hook",
            "events": ["order.cancelled"],
        },
    )
    assert "whsec_" in response.content.decode()
    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.shop_id is None
    assert endpoint.events == ["order.cancelled"]
    console.post(PAGE + "action/", {"action": "webhook_delete", "endpoint": str(endpoint.pk)})
    assert not WebhookEndpoint.objects.exists()


def test_a_dry_run_checks_the_sheet_and_keeps_nothing_then_the_import_keeps_it(
    known: Client,
) -> None:
    _header, rows = template_rows()
    dry = known.post(PAGE + "import/", {"file": _csv(rows), "dry_run": "1"})
    assert dry.status_code == 200
    text = dry.content.decode()
    assert "nothing was saved" in text
    assert "1 new, 0 updated, 0 unchanged, 0 refused" in text
    assert not Cart.objects.exists()
    real = known.post(PAGE + "import/", {"file": _csv(rows)})
    assert "1 new" in real.content.decode()
    assert sorted(Order.objects.values_list("external_id", flat=True)) == ["O-1001-1", "O-1001-2"]
    again = known.post(PAGE + "import/", {"file": _csv(rows)})
    assert "0 new, 0 updated, 1 unchanged, 0 refused" in again.content.decode()


def test_bad_lines_are_refused_with_their_line_number(known: Client) -> None:
    _header, rows = template_rows()
    bad = [list(r) for r in rows]
    bad[0][0] = bad[1][0] = "C-2"
    bad[0][COLUMNS.index("quantity")] = "²"
    unknown_shop = [list(r) for r in rows]
    for row in unknown_shop:
        row[0], row[1] = "C-3", "no-such-shop"
        row[COLUMNS.index("order_external_id")] += "-3"
    response = known.post(PAGE + "import/", {"file": _csv(bad + unknown_shop)})
    text = response.content.decode()
    assert "0 new, 0 updated, 0 unchanged, 2 refused" in text
    assert "quantity" in text
    assert "no-such-shop" in text
    assert not Cart.objects.exists()


def test_the_template_is_a_real_xlsx_that_imports(known: Client) -> None:
    download = known.get(PAGE + "template.xlsx")
    data = b"".join(download.streaming_content)
    sheet = load_workbook(io.BytesIO(data)).worksheets[0]
    header = [c.value for c in next(sheet.iter_rows(max_row=1))]
    assert tuple(header) == COLUMNS
    book = Workbook()
    out = book.active
    for row in sheet.iter_rows(values_only=True):
        out.append(list(row))
    buffer = io.BytesIO()
    book.save(buffer)
    buffer.seek(0)
    buffer.name = "orders.xlsx"
    response = known.post(PAGE + "import/", {"file": buffer})
    assert "1 new" in response.content.decode()


def test_a_sheet_with_unknown_columns_is_refused(known: Client) -> None:
    response = known.post(
        PAGE + "import/",
        {"file": _csv([["x"]], header=("cart", "price"))},
        follow=True,
        HTTP_REFERER=PAGE,
    )
    assert "Unknown: cart, price" in response.content.decode()
    assert not Cart.objects.exists()


@pytest.mark.parametrize("who", ["seller", "buyer"])
def test_only_operators_see_the_marketplace_page(who: str, request: Any) -> None:
    client = Client()
    client.force_login(request.getfixturevalue(who))
    assert client.get(PAGE).status_code == 404
    assert client.post(PAGE + "action/", {"action": "token_create", "name": "x"}).status_code == 404
    assert client.get(PAGE + "template.xlsx").status_code == 404
    assert not ApiToken.objects.filter(kind=ApiTokenKind.PLATFORM).exists()
