"""An order's history replays to its current state, and a broken history is caught."""

from __future__ import annotations

import pytest

from claimdesk.claims.cancel import claim_cancel_instantly, claim_request_cancel, claim_withdraw
from claimdesk.claims.models import ClaimStatus
from claimdesk.claims.returns import (
    claim_accept_return,
    claim_complete_return,
    claim_request_return,
)
from claimdesk.core.errors import DomainError
from claimdesk.orders.models import OrderEvent, ShippingStatus
from claimdesk.orders.replay import ReplayMismatch, current_state, replay
from claimdesk.orders.services import order_mark_delivered, order_ship
from tests.factories import order_in, return_address

pytestmark = pytest.mark.django_db


def test_history_of_a_returned_order_replays_to_its_state(seller, buyer, run_tasks):
    """Placed, paid, confirmed, shipped, delivered, a withdrawn cancel, then a completed return."""
    # given
    return_address(seller.shop)
    order = order_in("confirmed", seller=seller, buyer=buyer, method="bank_transfer")
    request = claim_request_cancel(actor=buyer, order=order, reason="EDIT_ORDER")
    claim_withdraw(actor=buyer, claim=request)
    order_ship(actor=seller, order=order, carrier="ゆうパック", tracking_no="1212")
    order_mark_delivered(actor=buyer, order=order)
    ret = claim_request_return(actor=buyer, order=order, reason="DEFECTIVE")
    claim_accept_return(actor=seller, claim=ret, pickup_method="seller_collects")
    claim_complete_return(actor=seller, claim=ret, goods_received=True, confirmed=True)
    with pytest.raises(DomainError):  # a refused action leaves a refused row behind
        claim_withdraw(actor=buyer, claim=ret)
    run_tasks()
    # when
    replayed = replay(order)
    # then
    assert replayed == current_state(order)
    assert replayed == {
        "shipping_status": ShippingStatus.DELIVERED,
        "cancelled": False,
        "returned": True,
        "completed": False,
        "claims": {request.pk: ClaimStatus.WITHDRAWN, ret.pk: ClaimStatus.RETURN_COMPLETED},
    }
    assert OrderEvent.objects.filter(order=order, refused=True).exists()


def test_cancelled_order_replays_with_its_completed_cancel(seller, buyer, run_tasks):
    """An instant cancel of a card order ends cancelled, its claim completed by the refund."""
    order = order_in("new", seller=seller, buyer=buyer)
    claim = claim_cancel_instantly(actor=buyer, order=order, reason="EDIT_ORDER")
    assert replay(order)["claims"] == {claim.pk: ClaimStatus.CANCELLING}
    run_tasks()
    assert replay(order) == current_state(order)
    assert replay(order)["claims"] == {claim.pk: ClaimStatus.CANCEL_COMPLETED}
    assert replay(order)["cancelled"] is True


def test_a_row_that_does_not_start_where_the_last_one_ended_is_a_mismatch(seller, buyer):
    """A history row whose from_value skips a state is reported with the row and both values."""
    order = order_in("shipped", seller=seller, buyer=buyer)
    shipped = OrderEvent.objects.get(order=order, kind="order.shipped")
    OrderEvent.objects.filter(pk=shipped.pk).update(from_value=str(ShippingStatus.REQUESTED))
    with pytest.raises(ReplayMismatch) as mismatch:
        replay(order)
    assert mismatch.value.event_id == shipped.pk
    assert mismatch.value.field == "shipping_status"
    assert mismatch.value.expected == str(ShippingStatus.CONFIRMED)
    assert mismatch.value.found == str(ShippingStatus.REQUESTED)


def test_a_change_made_without_a_history_row_is_visible(seller, buyer):
    """An update that bypasses the services leaves replay and current state apart."""
    order = order_in("confirmed", seller=seller, buyer=buyer)
    type(order).objects.filter(pk=order.pk).update(shipping_status=ShippingStatus.ON_DELIVERY)
    assert replay(order)["shipping_status"] == ShippingStatus.CONFIRMED
    assert current_state(order)["shipping_status"] == ShippingStatus.ON_DELIVERY


def test_a_claim_changed_twice_from_the_same_status_is_a_mismatch(seller, buyer):
    """Two rows moving one claim out of the same status (a lost update) break the replay."""
    order = order_in("confirmed", seller=seller, buyer=buyer)
    request = claim_request_cancel(actor=buyer, order=order, reason="EDIT_ORDER")
    claim_withdraw(actor=buyer, claim=request)
    row = OrderEvent.objects.get(order=order, kind="claim.withdraw")
    row.pk = None
    row.save()
    with pytest.raises(ReplayMismatch) as mismatch:
        replay(order)
    assert mismatch.value.field == f"claim {request.pk} status"
