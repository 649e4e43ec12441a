"""End-to-end flows through the services: the seed's main procedures."""

from __future__ import annotations

import pytest

from claimdesk.claims.cancel import claim_cancel_instantly, claim_seller_cancel
from claimdesk.claims.models import ClaimStatus
from claimdesk.payments.ledger import buyer_balance, ledger_total
from claimdesk.payments.models import Refund, RefundStatus
from tests.factories import order_in

pytestmark = pytest.mark.django_db(transaction=False)


def test_buyer_cancels_new_card_order_and_refund_completes_after_worker(
    seller, buyer, run_tasks, outbox
):
    """A buyer's instant cancel of a new order mails no one and refunds through the gateway."""
    # given
    order = order_in("new", seller=seller, buyer=buyer)
    # when
    claim = claim_cancel_instantly(actor=buyer, order=order, reason="EDIT_ORDER")
    # then
    assert claim.status == ClaimStatus.CANCELLING
    refund = Refund.objects.get(claim=claim)
    assert refund.status == RefundStatus.PENDING
    run_tasks()
    refund.refresh_from_db()
    claim.refresh_from_db()
    assert refund.status == RefundStatus.SUCCEEDED
    assert claim.status == ClaimStatus.CANCEL_COMPLETED
    assert refund.amount_minor == 1000 + 500  # item + the cart's shipping fee, last order
    assert all(seller.shop.email not in m.to for m in outbox)
    assert [m.to for m in outbox] == [[buyer.email]]  # the refund-completed mail only
    assert set(ledger_total().values()) == {0}


def test_bank_transfer_refund_goes_to_balance_at_once(seller, buyer):
    """Bank-transfer money goes back to the platform balance immediately."""
    order = order_in("new", seller=seller, buyer=buyer, method="bank_transfer")
    claim_seller_cancel(
        actor=seller, order=order, reason="OUT_OF_STOCK", confirm_without_notice=True
    )
    refund = Refund.objects.get(order=order)
    assert refund.status == RefundStatus.SUCCEEDED
    # seller fault: the payment fee goes back too
    assert refund.payment_fee_minor == 108
    assert buyer_balance(buyer.pk, "JPY").minor == 1000 + 500 + 108
