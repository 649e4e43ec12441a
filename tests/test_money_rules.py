"""Money rules of SPEC section 5, with exact amounts.

Who gets the cart's shipping fee and the payment fee back, where the money
goes for each payment method, return-shipping deductions, partial non-receipt
refunds, and how commission and platform discounts are reversed in the ledger.
Also the `Money` value and the business-day calendar they rest on.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from django.db.models import Sum
from django.utils import timezone
from hypothesis import given
from hypothesis import strategies as st

from claimdesk.claims.cancel import (
    claim_approve_cancel,
    claim_cancel_instantly,
    claim_request_cancel,
    claim_seller_cancel,
)
from claimdesk.claims.models import Claim, ClaimStatus
from claimdesk.claims.non_receipt import claim_refund_non_receipt, claim_report_non_receipt
from claimdesk.claims.operator import claim_operator_cancel
from claimdesk.claims.returns import claim_complete_return, claim_request_return
from claimdesk.core.calendar import add_business_days, business_days_between, is_business_day
from claimdesk.core.errors import DomainError
from claimdesk.core.money import CurrencyMismatch, Money, money_sum
from claimdesk.intake.checkout import cart_mark_paid
from claimdesk.orders.models import Cart, Order
from claimdesk.orders.services import order_confirm, order_ship
from claimdesk.payments.ledger import buyer_balance, ledger_total, seller_payable
from claimdesk.payments.models import Account, LedgerEntry, Refund, RefundStatus
from claimdesk.payments.services import payment_fee_for
from tests.factories import order_in, place_cart

pytestmark = pytest.mark.django_db(transaction=False)

BANK_METHODS = ["bank_transfer", "convenience_store"]


@pytest.fixture(autouse=True)
def _cheap_passwords(settings: Any) -> None:
    # Password hashing is not under test here.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def paid_cart(*, seller: Any, buyer: Any, method: str, prices: list[int], **kwargs: Any) -> Cart:
    """Place a cart and, for bank transfer or convenience store, record the payment."""
    cart = place_cart(shop=seller.shop, buyer=buyer, method=method, prices=prices, **kwargs)
    if cart.paid_at is None:
        cart_mark_paid(actor=None, cart=cart)
    cart.refresh_from_db()
    return cart


def books_balance() -> bool:
    return set(ledger_total().values()) <= {0}


def order_account(order: Order, account: str) -> int:
    """Return the sum of `order`'s entries on `account` (positive = debit)."""
    total = LedgerEntry.objects.filter(order=order, account=account).aggregate(
        s=Sum("amount_minor")
    )["s"]
    return int(total or 0)


def breakdown(refund: Refund) -> tuple[int, int, int, int, bool]:
    return (
        refund.item_minor,
        refund.shipping_minor,
        refund.payment_fee_minor,
        refund.deduction_minor,
        refund.payment_fee_borne_by_seller,
    )


# --- the payment-fee table -----------------------------------------------------------


@pytest.mark.parametrize("method", BANK_METHODS)
@pytest.mark.parametrize(
    ("amount", "fee"),
    [(1, 108), (9_999, 108), (10_000, 216), (29_999, 216), (30_000, 324), (500_000, 324)],
)
def test_payment_fee_bands(method: str, amount: int, fee: int) -> None:
    """Bank transfer and convenience store cost 108 from 0, 216 from 10,000 and 324 from 30,000 JPY."""
    assert payment_fee_for(method=method, amount=Money(amount, "JPY")) == Money(fee, "JPY")


@pytest.mark.parametrize("method", ["card", "balance"])
def test_card_and_balance_carry_no_payment_fee(method: str) -> None:
    """Only bank transfer and convenience store carry a payment fee."""
    assert payment_fee_for(method=method, amount=Money(50_000, "JPY")) == Money(0, "JPY")


@pytest.mark.parametrize(
    ("prices", "shipping", "fee"),
    [([9_499], 500, 108), ([9_500], 500, 216), ([20_000, 9_500], 500, 324)],
    ids=["9999", "10000", "30000"],
)
def test_cart_fee_counts_goods_and_shipping(
    seller: Any, buyer: Any, prices: list[int], shipping: int, fee: int
) -> None:
    """The fee band is chosen on the cart's goods plus shipping."""
    cart = place_cart(
        shop=seller.shop, buyer=buyer, method="bank_transfer", prices=prices, shipping_fee=shipping
    )
    assert cart.payment_fee_minor == fee


# --- cancelling the orders of one cart -------------------------------------------------


@pytest.mark.parametrize("method", BANK_METHODS)
def test_buyer_cancels_both_orders_of_a_cart_fee_kept(seller: Any, buyer: Any, method: str) -> None:
    """The first cancel refunds only its item; the last adds the shipping, never the buyer-fault fee."""
    # given: two orders, shipping 500, fee 108
    cart = paid_cart(seller=seller, buyer=buyer, method=method, prices=[1000, 2000])
    first, last = cart.orders.order_by("pk")
    assert cart.payment_fee_minor == 108
    # when
    claim_cancel_instantly(actor=buyer, order=first, reason="EDIT_ORDER")
    # then
    assert breakdown(Refund.objects.get(order=first)) == (1000, 0, 0, 0, False)
    assert buyer_balance(buyer.pk, "JPY") == Money(1000, "JPY")
    assert books_balance()
    # when
    claim_cancel_instantly(actor=buyer, order=last, reason="EDIT_ORDER")
    # then
    refund = Refund.objects.get(order=last)
    assert breakdown(refund) == (2000, 500, 0, 0, False)
    assert refund.amount_minor == 2500
    assert refund.status == RefundStatus.SUCCEEDED
    assert buyer_balance(buyer.pk, "JPY") == Money(3500, "JPY")
    assert seller_payable(seller.shop_id, "JPY") == Money(0, "JPY")
    assert books_balance()


@pytest.mark.parametrize("method", BANK_METHODS)
def test_seller_fault_cancel_refunds_the_fee_on_the_last_order(
    seller: Any, buyer: Any, method: str
) -> None:
    """Out of stock is the seller's fault: the last cancel returns the fee, borne by the seller."""
    # given
    cart = paid_cart(seller=seller, buyer=buyer, method=method, prices=[1000, 2000])
    first, last = cart.orders.order_by("pk")
    # when
    for order in (first, last):
        claim_seller_cancel(
            actor=seller, order=order, reason="OUT_OF_STOCK", confirm_without_notice=True
        )
    # then
    assert breakdown(Refund.objects.get(order=first)) == (1000, 0, 0, 0, False)
    assert breakdown(Refund.objects.get(order=last)) == (2000, 500, 108, 0, True)
    assert buyer_balance(buyer.pk, "JPY") == Money(1000 + 2000 + 500 + 108, "JPY")
    # the seller paid the fee back out of its own pocket
    assert seller_payable(seller.shop_id, "JPY") == Money(-108, "JPY")
    assert books_balance()


@pytest.mark.parametrize("grant", [False, True], ids=["not-granted", "granted"])
def test_seller_may_grant_the_fee_on_a_buyer_request(seller: Any, buyer: Any, grant: bool) -> None:
    """A buyer-fault cancel keeps the fee unless the seller grants it, and then the seller bears it."""
    # given: a one-order cart, confirmed, the buyer asks to cancel
    cart = paid_cart(seller=seller, buyer=buyer, method="convenience_store", prices=[3000])
    order = cart.orders.get()
    order_confirm(
        actor=seller, order=order, est_ship_date=timezone.localdate() + dt.timedelta(days=2)
    )
    request = claim_request_cancel(actor=buyer, order=order, reason="EDIT_ORDER")
    # when
    claim_approve_cancel(actor=seller, claim=request, grant_payment_fee=grant)
    # then
    refund = Refund.objects.get(order=order)
    assert breakdown(refund) == (3000, 500, 108 if grant else 0, 0, grant)
    assert buyer_balance(buyer.pk, "JPY") == Money(3500 + (108 if grant else 0), "JPY")
    assert seller_payable(seller.shop_id, "JPY") == Money(-108 if grant else 0, "JPY")
    assert Claim.objects.get(pk=request.pk).status == ClaimStatus.CANCEL_COMPLETED
    assert books_balance()


# --- where the money goes ----------------------------------------------------------------


def test_card_refund_is_pending_until_the_worker_runs(
    seller: Any, buyer: Any, run_tasks: Callable[[], None]
) -> None:
    """A card refund goes back to the card through the gateway, not to the balance."""
    # given
    cart = paid_cart(seller=seller, buyer=buyer, method="card", prices=[1000, 2000])
    first, last = cart.orders.order_by("pk")
    # when
    claim_cancel_instantly(actor=buyer, order=first, reason="EDIT_ORDER")
    claim = claim_cancel_instantly(actor=buyer, order=last, reason="EDIT_ORDER")
    # then: nothing moved yet
    refund = Refund.objects.get(order=last)
    assert (refund.status, refund.destination, refund.amount_minor) == ("pending", "card", 2500)
    assert claim.status == ClaimStatus.CANCELLING
    # paid 3000 + 500 shipping, less 10 % commission on the items
    assert seller_payable(seller.shop_id, "JPY") == Money(3500 - 300, "JPY")
    # when
    run_tasks()
    # then
    refund.refresh_from_db()
    claim.refresh_from_db()
    assert refund.status == RefundStatus.SUCCEEDED
    assert claim.status == ClaimStatus.CANCEL_COMPLETED
    assert breakdown(refund) == (2000, 500, 0, 0, False)
    assert buyer_balance(buyer.pk, "JPY") == Money(0, "JPY")
    assert seller_payable(seller.shop_id, "JPY") == Money(0, "JPY")
    clearing = LedgerEntry.objects.filter(account=Account.GATEWAY_CLEARING).aggregate(
        s=Sum("amount_minor")
    )["s"]
    assert clearing == 0  # paid in by card, all paid back to the card
    assert books_balance()


def test_balance_payment_goes_back_to_the_balance(seller: Any, buyer: Any) -> None:
    """Money paid from the platform balance returns to it at once."""
    # given: place_cart tops the balance up with exactly the cart's price
    cart = paid_cart(seller=seller, buyer=buyer, method="balance", prices=[1200])
    assert buyer_balance(buyer.pk, "JPY") == Money(0, "JPY")
    # when
    claim_cancel_instantly(actor=buyer, order=cart.orders.get(), reason="EDIT_ORDER")
    # then
    refund = Refund.objects.get(order__cart=cart)
    assert (refund.destination, refund.status, refund.amount_minor) == (
        "balance",
        "succeeded",
        1700,
    )
    assert buyer_balance(buyer.pk, "JPY") == Money(1700, "JPY")
    assert books_balance()


# --- returns -------------------------------------------------------------------------------


def _returned(seller: Any, buyer: Any, *, reason: str, method: str = "card") -> Claim:
    order = order_in("delivered", seller=seller, buyer=buyer, method=method)
    return claim_request_return(actor=buyer, order=order, reason=reason)


@pytest.mark.parametrize(
    ("deduction", "refunded"), [(0, 1000), (800, 200), (1000, 0)], ids=["none", "800", "all"]
)
def test_buyer_fault_return_deducts_return_shipping(
    seller: Any, buyer: Any, deduction: int, refunded: int
) -> None:
    """After shipping no shipping fee comes back, and buyer-fault return shipping is deducted."""
    # given
    claim = _returned(seller, buyer, reason="OTHER", method="bank_transfer")
    # when
    claim_complete_return(
        actor=seller,
        claim=claim,
        goods_received=True,
        confirmed=True,
        return_shipping_deduction=deduction,
    )
    # then
    refund = Refund.objects.get(claim=claim)
    assert breakdown(refund) == (1000, 0, 0, deduction, False)
    assert refund.amount_minor == refunded
    assert buyer_balance(buyer.pk, "JPY") == Money(refunded, "JPY")
    # the seller keeps the shipping fee and the deducted return shipping
    assert seller_payable(seller.shop_id, "JPY") == Money(500 + deduction, "JPY")
    assert books_balance()


@pytest.mark.parametrize(
    ("deduction", "code"),
    [(1501, "deduction_too_large"), (-1, "deduction_invalid")],
)
def test_return_shipping_deduction_is_capped(
    seller: Any, buyer: Any, deduction: int, code: str
) -> None:
    """At most RETURN_SHIPPING_DEDUCTION_CAP_MINOR (1500) may be deducted; nothing changes otherwise."""
    # given
    claim = _returned(seller, buyer, reason="OTHER")
    # when
    with pytest.raises(DomainError) as refused:
        claim_complete_return(
            actor=seller,
            claim=claim,
            goods_received=True,
            confirmed=True,
            return_shipping_deduction=deduction,
        )
    # then
    assert refused.value.code == code
    claim.refresh_from_db()
    assert claim.status == ClaimStatus.RETURN_REQUESTED
    assert not Refund.objects.exists()


def test_deduction_above_the_item_is_refused(seller: Any, buyer: Any) -> None:
    """A deduction within the cap but above the refund is refused: no negative refund."""
    claim = _returned(seller, buyer, reason="OTHER")  # item 1000
    with pytest.raises(DomainError) as refused:
        claim_complete_return(
            actor=seller,
            claim=claim,
            goods_received=True,
            confirmed=True,
            return_shipping_deduction=1200,
        )
    assert refused.value.code == "refund_negative"
    assert not Refund.objects.exists()
    assert Claim.objects.get(pk=claim.pk).status == ClaimStatus.RETURN_REQUESTED


def test_seller_fault_return_allows_no_deduction_and_refunds_the_fee(
    seller: Any, buyer: Any
) -> None:
    """A defective item is the seller's fault: no deduction, and the payment fee comes back."""
    # given
    claim = _returned(seller, buyer, reason="DEFECTIVE", method="bank_transfer")
    # when
    with pytest.raises(DomainError) as refused:
        claim_complete_return(
            actor=seller,
            claim=claim,
            goods_received=True,
            confirmed=True,
            return_shipping_deduction=500,
        )
    claim_complete_return(actor=seller, claim=claim, goods_received=True, confirmed=True)
    # then
    assert refused.value.code == "deduction_not_allowed"
    assert breakdown(Refund.objects.get(claim=claim)) == (1000, 0, 108, 0, True)
    assert buyer_balance(buyer.pk, "JPY") == Money(1108, "JPY")
    assert books_balance()


# --- not received ----------------------------------------------------------------------------


def test_partial_non_receipt_refunds_the_missing_quantity(seller: Any, buyer: Any) -> None:
    """One of three items missing: a third of the item is refunded and the claim ends 15."""
    # given: quantity 3 at 1000
    order = order_in("shipped", seller=seller, buyer=buyer, quantity=3)
    claim = claim_report_non_receipt(actor=buyer, order=order, duty="SL", missing_quantity=1)
    # when
    done = claim_refund_non_receipt(actor=seller, claim=claim)
    # then
    order.refresh_from_db()
    assert done.status == ClaimStatus.NON_RECEIPT_PARTIALLY_REFUNDED == 15
    assert breakdown(Refund.objects.get(claim=claim)) == (1000, 0, 0, 0, False)
    assert order.returned_at is None  # the rest of the order stands
    assert books_balance()


def test_partial_non_receipt_refunds_an_amount(
    seller: Any, buyer: Any, run_tasks: Callable[[], None]
) -> None:
    """A seller may refund part of the amount: the claim ends 15 with exactly that amount."""
    order = order_in("shipped", seller=seller, buyer=buyer, prices=[3000])
    claim = claim_report_non_receipt(actor=buyer, order=order)
    done = claim_refund_non_receipt(actor=seller, claim=claim, amount_minor=1234)
    run_tasks()
    refund = Refund.objects.get(claim=claim)
    assert done.status == ClaimStatus.NON_RECEIPT_PARTIALLY_REFUNDED
    assert (refund.amount_minor, refund.status) == (1234, RefundStatus.SUCCEEDED)
    # 10 % commission: 300 taken at payment, 123 of it given back with the 1234
    assert seller_payable(seller.shop_id, "JPY") == Money(3000 - 300 + 500 - (1234 - 123), "JPY")
    assert books_balance()


@pytest.mark.parametrize("amount", [0, 3001, -5])
def test_partial_non_receipt_amount_must_fit_the_order(
    seller: Any, buyer: Any, amount: int
) -> None:
    """An amount outside 1..total is refused and the report stays open."""
    order = order_in("shipped", seller=seller, buyer=buyer, prices=[3000])
    claim = claim_report_non_receipt(actor=buyer, order=order)
    with pytest.raises(DomainError) as refused:
        claim_refund_non_receipt(actor=seller, claim=claim, amount_minor=amount)
    assert refused.value.code == "amount_invalid"
    assert Claim.objects.get(pk=claim.pk).status == ClaimStatus.NON_RECEIPT_REPORTED
    assert not Refund.objects.exists()


def test_refunds_of_an_order_never_exceed_what_was_paid(seller: Any, buyer: Any) -> None:
    """A second partial refund that would pass the order's total is refused; the rest can go."""
    # given: 2000 of a 3000 order already refunded for a first non-receipt report
    order = order_in("shipped", seller=seller, buyer=buyer, prices=[3000], method="bank_transfer")
    first = claim_report_non_receipt(actor=buyer, order=order)
    claim_refund_non_receipt(actor=seller, claim=first, amount_minor=2000)
    second = claim_report_non_receipt(actor=buyer, order=order)
    # when: the seller refunds another 2000 (each within 1..3000 taken alone)
    with pytest.raises(DomainError) as refused:
        claim_refund_non_receipt(actor=seller, claim=second, amount_minor=2000)
    # then: nothing changed, and a full refund gives back exactly the 1000 left
    assert refused.value.code == "refund_exceeds_paid"
    assert refused.value.data == {"paid": 3000}
    assert Claim.objects.get(pk=second.pk).status == ClaimStatus.NON_RECEIPT_REPORTED
    assert list(Refund.objects.filter(order=order).values_list("item_minor", flat=True)) == [2000]
    claim_refund_non_receipt(actor=seller, claim=second)
    items = Refund.objects.filter(order=order).aggregate(s=Sum("item_minor"))["s"]
    assert items == 3000
    assert books_balance()


def test_full_non_receipt_refund(seller: Any, buyer: Any) -> None:
    """Nothing arrived: item and shipping are refunded in full and the claim ends 14."""
    order = order_in("shipped", seller=seller, buyer=buyer, method="bank_transfer")
    claim = claim_report_non_receipt(actor=buyer, order=order)
    done = claim_refund_non_receipt(actor=seller, claim=claim)
    assert done.status == ClaimStatus.NON_RECEIPT_REFUNDED == 14
    # not received is the seller's responsibility: the fee comes back as well
    assert breakdown(Refund.objects.get(claim=claim)) == (1000, 500, 108, 0, True)
    assert buyer_balance(buyer.pk, "JPY") == Money(1608, "JPY")
    assert books_balance()


# --- commission and platform discount in the ledger ---------------------------------------


def test_commission_and_platform_discount_are_reversed(
    seller: Any, buyer: Any, operator: Any, run_tasks: Callable[[], None]
) -> None:
    """A refund gives back the platform's commission and recovers the platform's discount, per order."""
    # given: price 2000, seller discount 100, platform discount 200, commission 10 % of 1900
    cart = paid_cart(
        seller=seller,
        buyer=buyer,
        method="card",
        prices=[2000],
        seller_discount_minor=100,
        cart_platform_discount_minor=200,
    )
    order = cart.orders.get()
    assert (order.total_minor, order.commission_minor) == (1700, 190)
    # the seller is owed what the buyer paid plus the platform's discount, less commission
    assert seller_payable(seller.shop_id, "JPY") == Money(1700 + 200 - 190 + 500, "JPY")
    assert order_account(order, Account.PLATFORM_COMMISSION) == -190
    assert order_account(order, Account.PLATFORM_REVENUE) == 200
    assert books_balance()
    # when: a partial non-receipt refund of half the order
    order_confirm(
        actor=seller, order=order, est_ship_date=timezone.localdate() + dt.timedelta(days=1)
    )
    order_ship(actor=seller, order=order, carrier="ヤマト", tracking_no="1")
    claim = claim_report_non_receipt(actor=buyer, order=order)
    claim_refund_non_receipt(actor=seller, claim=claim, amount_minor=850)
    run_tasks()
    # then: half of each part reversed
    assert order_account(order, Account.PLATFORM_COMMISSION) == -190 + 95
    assert order_account(order, Account.PLATFORM_REVENUE) == 200 - 100
    assert seller_payable(seller.shop_id, "JPY") == Money(2210 - (850 - 95 + 100), "JPY")
    assert books_balance()
    # when: the rest is refunded (operator full cancel)
    claim_operator_cancel(actor=operator, order=order, reason="OUT_OF_STOCK", memo="seller inquiry")
    run_tasks()
    # then: the refunds never exceed what was paid, and all of it is reversed
    last = Refund.objects.get(claim__requested_by="operator")
    assert breakdown(last) == (850, 500, 0, 0, False)
    assert Refund.objects.filter(order=order).aggregate(s=Sum("item_minor"))["s"] == 1700
    assert seller_payable(seller.shop_id, "JPY") == Money(0, "JPY")
    assert order_account(order, Account.PLATFORM_COMMISSION) == 0
    assert order_account(order, Account.PLATFORM_REVENUE) == 0
    assert books_balance()


# --- Money ----------------------------------------------------------------------------------


@given(
    minor=st.integers(min_value=-(10**12), max_value=10**12),
    ratios=st.lists(st.integers(min_value=0, max_value=1000), min_size=1, max_size=12).filter(
        lambda r: sum(r) > 0
    ),
)
def test_allocate_sums_exactly(minor: int, ratios: list[int]) -> None:
    """Allocation never loses or invents a minor unit, and each part is within one unit of its share."""
    parts = Money(minor, "JPY").allocate(ratios)
    assert money_sum(parts, "JPY") == Money(minor, "JPY")
    total = sum(ratios)
    for part, ratio in zip(parts, ratios, strict=True):
        assert abs(part.minor * total - minor * ratio) < total


def test_allocate_gives_the_remainder_to_the_largest_shares() -> None:
    """¥100 in three: 34 + 33 + 33; in 1:2, 33 + 67."""
    assert [m.minor for m in Money(100, "JPY").allocate([1, 1, 1])] == [34, 33, 33]
    assert [m.minor for m in Money(100, "JPY").allocate([1, 2])] == [33, 67]
    assert [m.minor for m in Money(-100, "JPY").allocate([1, 1, 1])] == [-34, -33, -33]


@pytest.mark.parametrize("ratios", [[], [0, 0], [1, -1]])
def test_allocate_refuses_bad_ratios(ratios: list[int]) -> None:
    with pytest.raises(ValueError):
        Money(100, "JPY").allocate(ratios)


@pytest.mark.parametrize("value", [1.5, 1.0, True, "100", None])
def test_money_refuses_non_integers(value: object) -> None:
    """Floats, bools and strings are never money."""
    with pytest.raises(TypeError):
        Money(value, "JPY")  # type: ignore[arg-type]


def test_money_refuses_float_arithmetic() -> None:
    with pytest.raises(TypeError):
        Money(100, "JPY") * 1.1  # type: ignore[operator]
    with pytest.raises(TypeError):
        Money(100, "JPY") + 1  # type: ignore[operator]


@pytest.mark.parametrize(
    "combine",
    [
        lambda a, b: a + b,
        lambda a, b: a - b,
        lambda a, b: a < b,
        lambda a, b: a >= b,
    ],
    ids=["add", "sub", "lt", "ge"],
)
def test_money_refuses_mixed_currencies(combine: Callable[[Money, Money], object]) -> None:
    with pytest.raises(CurrencyMismatch):
        combine(Money(100, "JPY"), Money(100, "SGD"))


def test_money_refuses_unknown_currency() -> None:
    with pytest.raises(ValueError):
        Money(1, "XXX")


@pytest.mark.parametrize(
    ("money", "text"),
    [
        (Money(1200, "JPY"), "¥1,200"),
        (Money(-1200, "JPY"), "-¥1,200"),
        (Money(1250, "SGD"), "SGD 12.50"),
        (Money(5, "SGD"), "SGD 0.05"),
    ],
)
def test_money_formats_in_minor_units(money: Money, text: str) -> None:
    assert money.format() == text


@pytest.mark.parametrize(
    ("minor", "bp", "result"),
    [(1900, 1000, 190), (1905, 1000, 191), (1904, 1000, 190), (-15, 1000, -2)],
)
def test_percent_rounds_half_up(minor: int, bp: int, result: int) -> None:
    assert Money(minor, "JPY").percent_bp(bp) == Money(result, "JPY")


# --- the business-day calendar ------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "business"),
    [
        ("2026-04-28", True),
        ("2026-04-29", False),  # Showa Day
        ("2026-04-30", True),
        ("2026-05-01", True),
        ("2026-05-02", False),  # Saturday
        ("2026-05-03", False),  # Constitution Day (Sunday)
        ("2026-05-04", False),  # Greenery Day
        ("2026-05-05", False),  # Children's Day
        ("2026-05-06", False),  # substitute holiday for 3 May
        ("2026-05-07", True),
        ("2026-12-30", True),
        ("2026-12-31", False),  # year-end closing
        ("2027-01-01", False),
        ("2027-01-02", False),
        ("2027-01-03", False),
        ("2027-01-04", True),
    ],
)
def test_business_days(day: str, business: bool) -> None:
    """Golden Week 2026 and the year-end closing are not business days."""
    assert is_business_day(dt.date.fromisoformat(day)) is business


def test_business_day_arithmetic_skips_golden_week_and_year_end() -> None:
    """Counting delay days jumps over Golden Week and New Year."""
    assert add_business_days(dt.date(2026, 5, 1), 1) == dt.date(2026, 5, 7)
    assert add_business_days(dt.date(2026, 4, 28), 3) == dt.date(2026, 5, 7)
    assert business_days_between(dt.date(2026, 4, 28), dt.date(2026, 5, 7)) == 3
    assert add_business_days(dt.date(2026, 12, 30), 1) == dt.date(2027, 1, 4)
    assert business_days_between(dt.date(2026, 12, 30), dt.date(2027, 1, 4)) == 1
    assert business_days_between(dt.date(2026, 5, 7), dt.date(2026, 5, 1)) == 0
