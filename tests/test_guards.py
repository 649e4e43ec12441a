"""Guards of the claim state machine and the refund path that no ordinary flow reaches.

Each test takes away one reason a guard could be dropped unnoticed:
tests/mutation_check.py removes the guards in turn and expects a test to fail.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.db import transaction

from claimdesk.claims import refunds
from claimdesk.claims.cancel import claim_request_cancel, claim_seller_cancel, claim_withdraw
from claimdesk.claims.models import Claim, ClaimStatus
from claimdesk.claims.non_receipt import claim_refund_non_receipt, claim_report_non_receipt
from claimdesk.claims.policies import RefundBreakdown
from claimdesk.claims.states import TRANSITIONS, check, transition
from claimdesk.core.errors import Conflict, DomainError, Forbidden
from claimdesk.core.money import Money
from claimdesk.core.worker import drain_tasks
from claimdesk.payments.ledger import Line, UnbalancedTransaction, ledger_post, ledger_post_many
from claimdesk.payments.models import (
    Account,
    LedgerEntry,
    LedgerTransaction,
    Refund,
    RefundStatus,
    SimulatedGatewayRefund,
)
from tests.factories import order_in

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _cheap_passwords(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


S = ClaimStatus
#: Who may take each action on a claim, and from which statuses: SPEC section 3 written
#: out as data (not read from `TRANSITIONS`), so that a widened entry is noticed even
#: where the services in front of it would refuse first.
EXPECTED: dict[str, tuple[set[str], set[int]]] = {
    "approve_cancel": ({"seller"}, {S.CANCEL_REQUESTED}),
    "reject_by_shipping": ({"seller", "system"}, {S.CANCEL_REQUESTED}),
    "refund_succeeded": ({"system"}, {S.CANCELLING}),
    "withdraw": (
        {"buyer"},
        {
            S.CANCEL_REQUESTED,
            S.RETURN_REQUESTED,
            S.RETURNING,
            S.EXCHANGE_REQUESTED,
            S.EXCHANGE_APPROVED,
            S.NON_RECEIPT_REPORTED,
        },
    ),
    "operator_withdraw": (
        {"operator"},
        {
            S.CANCEL_REQUESTED,
            S.RETURN_REQUESTED,
            S.RETURNING,
            S.EXCHANGE_REQUESTED,
            S.EXCHANGE_APPROVED,
            S.REDELIVERING,
            S.NON_RECEIPT_REPORTED,
        },
    ),
    "accept_return": ({"seller"}, {S.RETURN_REQUESTED}),
    "complete_return": ({"seller"}, {S.RETURN_REQUESTED, S.RETURNING}),
    "convert_to_exchange": ({"seller"}, {S.RETURN_REQUESTED, S.RETURNING}),
    "approve_exchange": ({"seller"}, {S.EXCHANGE_REQUESTED}),
    "redeliver": ({"seller"}, {S.EXCHANGE_APPROVED, S.NON_RECEIPT_REPORTED}),
    "complete_redelivery": ({"buyer", "operator", "system"}, {S.REDELIVERING}),
    "refund_non_receipt": ({"seller"}, {S.NON_RECEIPT_REPORTED}),
    "operator_refund_return": ({"operator"}, {S.RETURN_REQUESTED, S.RETURNING}),
    "operator_refund_non_receipt": ({"operator"}, {S.NON_RECEIPT_REPORTED}),
}


def test_the_state_machine_itself_checks_who_and_from_where(
    seller: Any, buyer: Any, operator: Any
) -> None:
    """`check` allows each action to exactly its roles, from exactly its statuses."""
    assert set(EXPECTED) == set(TRANSITIONS)
    order = order_in("confirmed", seller=seller, buyer=buyer)
    people = {"seller": seller, "buyer": buyer, "operator": operator, "system": None}
    for action, (roles, sources) in EXPECTED.items():
        source = min(sources)
        for role, person in people.items():
            claim = Claim(order=order, status=source)
            if role in roles:
                check(action, claim, person)
            else:
                with pytest.raises(Forbidden):
                    check(action, claim, person)
        allowed = next(iter(roles))
        for status in S:
            claim = Claim(order=order, status=status)
            if status in sources:
                check(action, claim, people[allowed])
            else:
                with pytest.raises(DomainError) as refused:
                    check(action, claim, people[allowed])
                assert refused.value.code == "wrong_claim_status", (action, status)


def cancel_request(seller: Any, buyer: Any) -> Claim:
    order = order_in("confirmed", seller=seller, buyer=buyer)
    return claim_request_cancel(actor=buyer, order=order, reason="EDIT_ORDER")


def test_a_transition_cannot_lead_where_its_action_does_not(seller: Any, buyer: Any) -> None:
    """Approving a cancel leads to cancelling, never straight to withdrawn."""
    claim = cancel_request(seller, buyer)
    with transaction.atomic(), pytest.raises(AssertionError, match="cannot lead to"):
        transition(claim, "approve_cancel", ClaimStatus.WITHDRAWN, actor=seller)
    assert Claim.objects.get(pk=claim.pk).status == ClaimStatus.CANCEL_REQUESTED


def test_a_claim_changed_since_it_was_read_is_not_moved(seller: Any, buyer: Any) -> None:
    """A transition on a claim read before someone else moved it is refused (claim_changed)."""
    stale = cancel_request(seller, buyer)
    claim_withdraw(actor=buyer, claim=Claim.objects.get(pk=stale.pk))
    with transaction.atomic(), pytest.raises(Conflict) as refused:
        transition(stale, "approve_cancel", ClaimStatus.CANCELLING, actor=seller)
    assert refused.value.code == "claim_changed"
    assert Claim.objects.get(pk=stale.pk).status == ClaimStatus.WITHDRAWN


def test_a_claim_is_refunded_once(seller: Any, buyer: Any) -> None:
    """A second refund of the same claim is refused, even for a small amount."""
    # given: 100 of a 3000 order refunded for a non-receipt report
    order = order_in("shipped", seller=seller, buyer=buyer, method="bank_transfer", prices=[3000])
    claim = claim_report_non_receipt(actor=buyer, order=order)
    claim = claim_refund_non_receipt(actor=seller, claim=claim, amount_minor=100)
    zero = Money.zero("JPY")
    small = RefundBreakdown(Money(100, "JPY"), zero, zero, zero, False)
    with transaction.atomic(), pytest.raises(DomainError) as refused:
        refunds.refund_create(actor=seller, claim=claim, breakdown=small)
    assert refused.value.code == "refund_exists"
    assert Refund.objects.filter(claim=claim).count() == 1


def card_refund(seller: Any, buyer: Any) -> Refund:
    order = order_in("new", seller=seller, buyer=buyer)
    claim = claim_seller_cancel(
        actor=seller, order=order, reason="OUT_OF_STOCK", confirm_without_notice=True
    )
    return Refund.objects.get(claim=claim)


def test_a_settled_refund_is_not_sent_again(seller: Any, buyer: Any) -> None:
    """Processing a refund that has succeeded calls nobody and posts nothing."""
    refund = card_refund(seller, buyer)
    drain_tasks()
    refund.refresh_from_db()
    assert refund.status == RefundStatus.SUCCEEDED
    refunds.refund_process(refund_id=refund.pk)
    assert SimulatedGatewayRefund.objects.filter(approved=True).count() == 1
    assert LedgerTransaction.objects.filter(kind="refund", refund=refund).count() == 1


def test_a_balance_refund_never_reaches_the_card_processor(seller: Any, buyer: Any) -> None:
    """A stray task for a refund settled to the balance at once calls no processor."""
    order = order_in("new", seller=seller, buyer=buyer, method="bank_transfer")
    claim_seller_cancel(
        actor=seller, order=order, reason="OUT_OF_STOCK", confirm_without_notice=True
    )
    refund = Refund.objects.get(order=order)
    assert (refund.status, refund.destination) == (RefundStatus.SUCCEEDED, "balance")
    refunds.refund_process(refund_id=refund.pk)
    assert not SimulatedGatewayRefund.objects.exists()
    assert LedgerTransaction.objects.filter(kind="refund", refund=refund).count() == 1


@pytest.mark.parametrize("state", [RefundStatus.PENDING, RefundStatus.SUCCEEDED])
def test_only_a_failed_refund_is_resolved_by_hand(
    seller: Any, buyer: Any, operator: Any, state: str
) -> None:
    """An operator cannot settle a pending or succeeded refund to the balance."""
    refund = card_refund(seller, buyer)
    if state == RefundStatus.SUCCEEDED:
        drain_tasks()
        refund.refresh_from_db()
    with pytest.raises(DomainError) as refused:
        refunds.refund_resolve(actor=operator, refund=refund, reason="card closed")
    assert refused.value.code == "refund_not_failed"
    assert Refund.objects.get(pk=refund.pk).destination == "card"


def test_only_an_operator_resolves_a_refund_by_hand(seller: Any, buyer: Any) -> None:
    """Seller and buyer are refused; the refund stays a card refund."""
    refund = card_refund(seller, buyer)
    for person in (seller, buyer):
        with pytest.raises(DomainError) as refused:
            refunds.refund_resolve(actor=person, refund=refund, reason="card closed")
        assert refused.value.code == "role_not_allowed"
    assert Refund.objects.get(pk=refund.pk).destination == "card"


def test_unbalanced_postings_are_refused_whole() -> None:
    """One posting that does not sum to zero refuses the batch; nothing is written."""
    yen = Money(500, "JPY")
    balanced = [Line(Account.GATEWAY_CLEARING, yen), Line(Account.PLATFORM_REVENUE, -yen)]
    lopsided = [Line(Account.GATEWAY_CLEARING, yen), Line(Account.PLATFORM_REVENUE, -yen + yen)]
    with pytest.raises(UnbalancedTransaction):
        ledger_post(kind="top_up", lines=lopsided)
    with pytest.raises(UnbalancedTransaction):
        ledger_post_many([("top_up", balanced, None, ""), ("top_up", lopsided, None, "")])
    assert not LedgerEntry.objects.exists()
    assert not LedgerTransaction.objects.exists()
