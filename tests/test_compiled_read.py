"""A read compiled once (core.compiled) gives what the queryset it stands for gives."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection, models, transaction
from django.db.transaction import TransactionManagementError
from django.test.utils import CaptureQueriesContext
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.django import TestCase

from claimdesk.accounts.models import User
from claimdesk.claims.cancel import SELLER_CANCEL_COLUMNS
from claimdesk.core.compiled import CompiledRead
from claimdesk.core.errors import NotFound
from claimdesk.orders.access import (
    FOR_ACTION,
    access_order_for_buyer,
    access_order_for_operator,
    access_order_for_seller,
)
from claimdesk.orders.models import Order
from claimdesk.orders.services import lock_order
from tests.factories import BuyerFactory, OperatorFactory, SellerFactory, order_in

pytestmark = pytest.mark.django_db


def _state(obj: models.Model | None) -> Any:
    """The instance as the code sees it: loaded columns, deferred ones, related rows read with it."""
    if obj is None:
        return None
    return (
        type(obj),
        obj.__dict__ | {"_state": None},
        obj.get_deferred_fields(),
        obj._state.adding,
        obj._state.db,
        {name: _state(rel) for name, rel in obj._state.fields_cache.items()},
    )


@pytest.mark.parametrize(
    ("related", "only"),
    [
        (("cart", "shop", "buyer"), ()),
        (("cart", "buyer"), SELLER_CANCEL_COLUMNS),
        ((), ()),
        (("cart",), ("order_no", "cart__paid_at")),
    ],
)
def test_the_lock_reads_what_the_queryset_reads(
    seller: User, buyer: User, related: tuple[str, ...], only: tuple[str, ...]
) -> None:
    order = order_in("new", seller=seller, buyer=buyer)
    queryset = Order.objects.select_for_update(of=("self",))
    queryset = queryset.select_related(*related) if related else queryset
    with transaction.atomic():
        with CaptureQueriesContext(connection) as orm:
            expected = (queryset.only(*only) if only else queryset).get(pk=order.pk)
        with CaptureQueriesContext(connection) as queries:
            locked = lock_order(order, related=related, only=only)
            again = lock_order(order, related=related, only=only)
    assert _state(locked) == _state(expected)
    assert _state(again) == _state(expected)
    # one statement each, the related rows in it, the very one QuerySet.get() sends
    assert [q["sql"] for q in queries] == [orm[0]["sql"]] * 2
    if connection.features.has_select_for_update:
        assert all(" FOR UPDATE" in q["sql"] for q in queries)


@pytest.mark.django_db(transaction=True)  # outside the test's own transaction
def test_the_lock_is_refused_outside_a_transaction_where_the_orm_refuses_it(
    seller: User, buyer: User
) -> None:
    order = order_in("new", seller=seller, buyer=buyer)
    queryset = Order.objects.select_for_update(of=("self",)).filter(pk=order.pk)
    try:
        list(queryset)
    except TransactionManagementError:
        with pytest.raises(TransactionManagementError):
            lock_order(order)
        assert connection.features.has_select_for_update  # PostgreSQL refuses
    else:  # SQLite has no row locks and refuses nothing
        assert lock_order(order).pk == order.pk
        assert not connection.features.has_select_for_update


def test_a_missing_row_is_the_models_does_not_exist(seller: User, buyer: User) -> None:
    order = order_in("new", seller=seller, buyer=buyer)
    with transaction.atomic(), pytest.raises(Order.DoesNotExist):
        lock_order(Order(pk=order.pk + 1000))


def test_a_value_must_be_one_bound_parameter() -> None:
    twice = CompiledRead(lambda pk: Order.objects.filter(pk=pk, cart_id=pk), "pk")
    with pytest.raises(ValueError, match="exactly one bound parameter"):
        twice.get(pk=1)
    missing = CompiledRead(lambda pk: Order.objects.all(), "pk")
    with pytest.raises(ValueError, match="exactly one bound parameter"):
        missing.get(pk=1)


def test_the_access_reads_give_the_order_to_its_own_people_only(
    seller: User, other_seller: User, buyer: User, other_buyer: User, operator: User
) -> None:
    order = order_in("new", seller=seller, buyer=buyer)
    related = Order.objects.select_related("cart", "buyer", "shop")
    assert _state(access_order_for_seller(seller, order.order_no)) == _state(
        related.get(pk=order.pk)
    )
    assert _state(access_order_for_buyer(buyer, str(order.order_no))) == _state(
        Order.objects.select_related("cart", "shop").get(pk=order.pk)
    )
    assert _state(access_order_for_operator(operator, order.order_no)) == _state(
        related.get(pk=order.pk)
    )
    for stranger, read in (
        (other_seller, access_order_for_seller),
        (other_buyer, access_order_for_buyer),
        (seller, access_order_for_buyer),
        (buyer, access_order_for_seller),
        (seller, access_order_for_operator),
    ):
        with pytest.raises(NotFound) as refused:
            read(stranger, order.order_no)
        assert refused.value.code == "order_not_found"


def test_an_actions_read_is_the_order_row_alone_and_only_for_its_shop(
    seller: User, other_seller: User, buyer: User
) -> None:
    """An action's service reads the order again under its lock: the caller reads the row only."""
    order = order_in("new", seller=seller, buyer=buyer)
    with CaptureQueriesContext(connection) as read:
        found = access_order_for_seller(seller, order.order_no, related=FOR_ACTION)
    assert _state(found) == _state(Order.objects.get(pk=order.pk))
    assert len(read) == 1 and "JOIN" not in read[0]["sql"]
    # a related row the caller touches after all is read then, and is the same
    cart, shop = order.cart, order.shop
    with CaptureQueriesContext(connection) as touched:
        assert (found.cart, found.shop) == (cart, shop)
    assert len(touched) == 2
    for stranger in (other_seller, buyer):
        with pytest.raises(NotFound) as refused:
            access_order_for_seller(stranger, order.order_no, related=FOR_ACTION)
        assert refused.value.code == "order_not_found"


def _order_reads(queries: CaptureQueriesContext, order: Order) -> list[str]:
    return [
        q["sql"]
        for q in queries.captured_queries
        if q["sql"].startswith('SELECT "orders_order"."id"')
        and f'"orders_order"."order_no" = {order.order_no}' in q["sql"]
    ]


def test_the_cancel_over_http_reads_the_order_row_then_locks_it(
    client: Any, seller: User, other_seller: User, buyer: User
) -> None:
    """The portal's and the REST API's cancel read the order row, then the service its lock."""
    from tests.test_api_rest import api_for

    by_portal, by_api, foreign = (
        order_in("new", seller=seller, buyer=buyer),
        order_in("new", seller=seller, buyer=buyer),
        order_in("new", seller=other_seller, buyer=buyer),
    )
    client.force_login(seller)
    form = {"mode": "cancel", "reason": "OUT_OF_STOCK", "confirm_without_notice": "on"}
    with CaptureQueriesContext(connection) as portal:
        response = client.post(f"/seller/orders/{by_portal.order_no}/cancel/", form)
    assert response.status_code in (200, 302)
    with CaptureQueriesContext(connection) as api:
        answer = api_for(seller).post(
            f"/orders/{by_api.order_no}/cancel",
            {"reason": "OUT_OF_STOCK", "confirm_without_notice": True},
        )
    assert answer.status_code == 200, answer.content
    for queries, order in ((portal, by_portal), (api, by_api)):
        (read,) = _order_reads(queries, order)
        assert "JOIN" not in read and "FOR UPDATE" not in read
        order.refresh_from_db()
        assert order.cancelled_at is not None
    # another shop's order is still the same 404, and stays as it was
    assert client.post(f"/seller/orders/{foreign.order_no}/cancel/", form).status_code == 404
    refused = api_for(seller).post(
        f"/orders/{foreign.order_no}/cancel",
        {"reason": "OUT_OF_STOCK", "confirm_without_notice": True},
    )
    assert refused.status_code == 404
    foreign.refresh_from_db()
    assert foreign.cancelled_at is None


def test_the_buyers_cancel_over_http_reads_the_order_row_then_locks_it(
    client: Any, seller: User, buyer: User, other_buyer: User
) -> None:
    """My page's instant cancel reads the buyer's own order row; another buyer gets the 404."""
    order = order_in("new", seller=seller, buyer=buyer)
    assert _state(access_order_for_buyer(buyer, order.order_no, related=FOR_ACTION)) == _state(
        Order.objects.get(pk=order.pk)
    )
    client.force_login(other_buyer)
    form = {"reason": "EDIT_ORDER"}
    assert client.post(f"/my/orders/{order.order_no}/cancel/", form).status_code == 404
    order.refresh_from_db()
    assert order.cancelled_at is None
    client.force_login(buyer)
    with CaptureQueriesContext(connection) as queries:
        response = client.post(f"/my/orders/{order.order_no}/cancel/", form)
    assert response.status_code in (200, 302)
    (read,) = _order_reads(queries, order)
    assert "JOIN" not in read and "FOR UPDATE" not in read
    order.refresh_from_db()
    assert order.cancelled_at is not None


def test_qapis_cancel_and_ship_read_the_order_row_then_lock_it(
    seller: User, other_seller: User, buyer: User
) -> None:
    """Claim.SetCancelProcess and ShippingBasic.SetSendingInfo as a Qoo10 client sends them."""
    from tests.test_qapi import call, qapi_key

    to_cancel, to_ship, foreign = (
        order_in("new", seller=seller, buyer=buyer),
        order_in("confirmed", seller=seller, buyer=buyer),
        order_in("new", seller=other_seller, buyer=buyer),
    )
    key = qapi_key(seller)
    cancel = {"CancelReason": "3", "ConfirmWithoutNotice": "Y"}
    with CaptureQueriesContext(connection) as cancelling:
        done = call("Claim.SetCancelProcess", key, ContrNo=str(to_cancel.order_no), **cancel)
    with CaptureQueriesContext(connection) as shipping:
        sent = call(
            "ShippingBasic.SetSendingInfo",
            key,
            OrderNo=str(to_ship.order_no),
            ShippingCorp="ヤマト運輸",
            TrackingNo="1234-5678",
        )
    assert done["ResultCode"] == 0 and sent["ResultCode"] == 0
    for queries, order in ((cancelling, to_cancel), (shipping, to_ship)):
        (read,) = _order_reads(queries, order)
        assert "JOIN" not in read and "FOR UPDATE" not in read
    to_cancel.refresh_from_db()
    to_ship.refresh_from_db()
    assert to_cancel.cancelled_at is not None and to_ship.tracking_no == "1234-5678"
    # another shop's order is refused and stays as it was
    refused = call("Claim.SetCancelProcess", key, ContrNo=str(foreign.order_no), **cancel)
    assert refused["ResultCode"] != 0
    foreign.refresh_from_db()
    assert foreign.cancelled_at is None


class TestAnyOrderNumber(TestCase):
    """Whatever number arrives, the compiled read finds the order or says it was not found."""

    @classmethod
    def setUpTestData(cls) -> None:
        cls.seller = SellerFactory()
        cls.buyer = BuyerFactory()
        cls.operator = OperatorFactory()
        cls.order = order_in("new", seller=cls.seller, buyer=cls.buyer)

    @settings(max_examples=60, deadline=None)
    @given(
        number=st.one_of(
            st.integers(),
            st.integers(min_value=-(2**80), max_value=2**80),
            st.sampled_from([0, 2**31 - 1, 2**31, 2**63 - 1, 2**63, 2_147_480_011]),
        )
    )
    def test_any_number(self, number: int) -> None:
        for user, read in (
            (self.seller, access_order_for_seller),
            (self.buyer, access_order_for_buyer),
            (self.operator, access_order_for_operator),
        ):
            if number == self.order.order_no:
                assert read(user, number).pk == self.order.pk
                continue
            with pytest.raises(NotFound):
                read(user, number)


@pytest.mark.parametrize("number", ["0", "2147480011", "9223372036854775808", "9" * 40])
def test_order_numbers_nobody_has_are_not_found_over_http(
    client: Any, seller: User, buyer: User, operator: User, number: str
) -> None:
    """Any number in an order's address, however large, answers the portal's 404, changing nothing."""
    order = order_in("new", seller=seller, buyer=buyer)
    pages = [
        (seller, f"/seller/orders/{number}/", "get"),
        (seller, f"/seller/orders/{number}/cancel/", "post"),
        (buyer, f"/my/orders/{number}/", "get"),
        (operator, f"/console/orders/{number}/", "get"),
    ]
    for user, url, method in pages:
        client.force_login(user)
        response = getattr(client, method)(url)
        assert response.status_code == 404, url
        assert "<main" in response.content.decode(), url  # the portal's refusal page
    order.refresh_from_db()
    assert order.cancelled_at is None
