"""The demo data command: every status to show, real history and ledger, loaded once."""

from __future__ import annotations

import datetime as dt
import re
from io import StringIO

import pytest
from django.contrib.auth import authenticate
from django.core.management import call_command
from django.db.models import Count
from django.utils import timezone

from claimdesk.accounts.models import Shop, ShopAddress, User
from claimdesk.claims.models import Claim, ClaimStatus, ClaimType
from claimdesk.demo.builder import DEMO_PASSWORD
from claimdesk.inquiries.models import Inquiry, InquiryStatus
from claimdesk.messaging.models import Note
from claimdesk.orders.models import Cart, Order, OrderEvent, PaymentMethod, ShippingStatus
from claimdesk.orders.replay import current_state, replay
from claimdesk.payments.ledger import ledger_total
from claimdesk.payments.models import LedgerEntry, Refund, RefundStatus

pytestmark = [pytest.mark.django_db(transaction=False), pytest.mark.slow]


def _load() -> str:
    out = StringIO()
    call_command("load_demo", stdout=out)
    return out.getvalue()


def _row_counts() -> dict[str, int]:
    models = (Shop, User, Cart, Order, OrderEvent, Claim, Refund, LedgerEntry, Note)
    return {model.__name__: model.objects.count() for model in models}


def test_demo_data_shows_every_status_with_real_history_and_loads_once() -> None:
    """The demo holds 300+ orders in every shipping and claim status, built through the
    services (history replays, ledger balances), and a second run changes nothing."""
    # when
    output = _load()

    # then: the volume and every status to demonstrate
    orders = Order.objects.all()
    assert orders.count() >= 300
    assert set(orders.values_list("shipping_status", flat=True)) == set(ShippingStatus.values)
    assert orders.filter(completed_at__isnull=False).exists()
    assert set(Claim.objects.values_list("status", flat=True)) == set(ClaimStatus.values)
    assert set(Cart.objects.values_list("payment_method", flat=True)) == set(PaymentMethod.values)
    delayed = Order.objects.delayed()
    assert delayed.filter(delay_type__isnull=False).exists()  # a registered delay
    assert delayed.filter(
        delay_type__isnull=True, est_ship_date__lt=timezone.localdate()
    ).exists()  # an estimated ship date that passed

    # seller cancels with and without a prior cancel note; failed card refunds
    seller_cancels = Claim.objects.filter(type=ClaimType.CANCEL, requested_by="seller")
    assert seller_cancels.filter(cancelled_without_notice=False).exists()
    assert seller_cancels.filter(cancelled_without_notice=True).exists()
    assert Refund.objects.filter(status=RefundStatus.FAILED).exists()
    assert Refund.objects.filter(status=RefundStatus.PENDING).exists()

    # dates spread over the last two months, none in the future
    now = timezone.now()
    assert orders.filter(ordered_at__lt=now - dt.timedelta(days=40)).exists()
    assert orders.filter(ordered_at__gt=now - dt.timedelta(days=2)).exists()
    assert not OrderEvent.objects.filter(created_at__gt=now).exists()

    # the money balances and every order's history replays to its current state
    assert ledger_total() == {"JPY": 0}
    for order in orders:
        assert replay(order) == current_state(order), order.order_no

    # shop3 has no return address, so that "add an address first" can be shown
    with_address = set(
        ShopAddress.objects.filter(is_default_return=True).values_list("shop__code", flat=True)
    )
    assert with_address == {"shop1", "shop2"}

    # the logins work
    for username in ("shop1-owner", "shop1-staff", "shop3-owner", "buyer01", "buyer30"):
        assert authenticate(username=username, password=DEMO_PASSWORD) is not None, username
    operator = authenticate(username="operator", password=DEMO_PASSWORD)
    assert operator is not None and operator.is_staff and operator.is_superuser
    assert "shop1-owner" in output and "demo-pass-2026" in output

    # the operator's queue has sellers' inquiries, some answered, one waiting for the seller
    assert Inquiry.objects.count() >= 4
    assert Inquiry.objects.filter(status=InquiryStatus.WAITING_SELLER).exists()
    assert Inquiry.objects.filter(status=InquiryStatus.OPEN, orders__isnull=False).exists()
    # carts of several orders, at different steps
    several = Cart.objects.annotate(n=Count("orders")).filter(n__gte=2)
    assert several.count() >= 20
    assert several.filter(n=3).exists()
    # a "try this" list: an order per state, with who to sign in as
    try_this = output[output.index("Try this") :]
    assert len(re.findall(r" \d{9}  seller shop1-owner · buyer buyer\d\d", try_this)) >= 6

    # when it runs again
    before = _row_counts()
    again = _load()

    # then nothing new was created
    assert "demo data already loaded" in again
    assert "buyer30" in again and "Try this" in again
    assert _row_counts() == before
