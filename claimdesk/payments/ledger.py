"""Posting balanced double-entry transactions, and reading balances from them."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from django.db.models import Sum

from claimdesk.core.bulk import insert_row, insert_rows, insert_values
from claimdesk.core.money import Money

from .models import Account, LedgerEntry, LedgerTransaction


class UnbalancedTransaction(AssertionError):
    """A transaction whose entries do not sum to zero: a programming error."""


@dataclass(frozen=True)
class Line:
    """One entry to post: positive debits, negative credits."""

    account: str
    amount: Money
    party_id: int | None = None
    order_id: int | None = None


def ledger_post(
    *,
    kind: str,
    lines: list[Line],
    order_id: int | None = None,
    cart_id: int | None = None,
    refund_id: int | None = None,
    memo: str = "",
) -> LedgerTransaction:
    """Write one balanced transaction; refuse (and write nothing) if it does not balance."""
    totals: dict[str, int] = defaultdict(int)
    for line in lines:
        totals[line.amount.currency] += line.amount.minor
    if any(totals.values()):
        raise UnbalancedTransaction(f"{kind} does not balance: {dict(totals)}")
    txn = insert_row(
        LedgerTransaction(
            kind=kind, order_id=order_id, cart_id=cart_id, refund_id=refund_id, memo=memo
        )
    )
    insert_rows(
        LedgerEntry,
        [
            LedgerEntry(
                transaction=txn,
                account=line.account,
                party_id=line.party_id,
                order_id=line.order_id if line.order_id is not None else order_id,
                amount_minor=line.amount.minor,
                currency=line.amount.currency,
            )
            for line in lines
            if line.amount.minor != 0
        ],
    )
    return txn


def ledger_post_many(postings: list[tuple[str, list[Line], int | None, str]]) -> int:
    """Write several balanced transactions (kind, lines, cart id, memo) with a few statements.

    Refuse them all, writing nothing, if any does not balance. Return how many.
    """
    for kind, lines, _cart, _memo in postings:
        totals: dict[str, int] = defaultdict(int)
        for line in lines:
            totals[line.amount.currency] += line.amount.minor
        if any(totals.values()):
            raise UnbalancedTransaction(f"{kind} does not balance: {dict(totals)}")
    txns = insert_rows(
        LedgerTransaction,
        [
            LedgerTransaction(kind=kind, cart_id=cart, memo=memo)
            for kind, _l, cart, memo in postings
        ],
    )
    insert_values(
        LedgerEntry,
        ("transaction_id", "account", "party_id", "order_id", "amount_minor", "currency"),
        [
            (
                txn.pk,
                str(line.account),
                line.party_id,
                line.order_id,
                line.amount.minor,
                line.amount.currency,
            )
            for txn, (_kind, lines, _cart, _memo) in zip(txns, postings, strict=True)
            for line in lines
            if line.amount.minor != 0
        ],
    )
    return len(txns)


def buyer_balance(buyer_id: int, currency: str) -> Money:
    """Return what the platform owes the buyer (credits on their balance account)."""
    total = (
        LedgerEntry.objects.filter(
            account=Account.BUYER_BALANCE, party_id=buyer_id, currency=currency
        ).aggregate(s=Sum("amount_minor"))["s"]
        or 0
    )
    return Money(-total, currency)


def seller_payable(shop_id: int, currency: str) -> Money:
    """Return what the platform owes the shop."""
    total = (
        LedgerEntry.objects.filter(
            account=Account.SELLER_PAYABLE, party_id=shop_id, currency=currency
        ).aggregate(s=Sum("amount_minor"))["s"]
        or 0
    )
    return Money(-total, currency)


def ledger_total() -> dict[str, int]:
    """Return the sum of every entry per currency (always zero when the books balance)."""
    rows = LedgerEntry.objects.values("currency").annotate(s=Sum("amount_minor"))
    return {row["currency"]: row["s"] for row in rows}
