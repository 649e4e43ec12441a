"""Reading payments: a buyer's platform balance, line by line."""

from __future__ import annotations

from django.db.models import QuerySet

from claimdesk.core.money import Money

from .ledger import buyer_balance
from .models import Account, LedgerEntry, Refund


def buyer_balance_lines(buyer_id: int) -> QuerySet[LedgerEntry]:
    """Return the buyer's balance lines, newest first, with their transaction and order."""
    return (
        LedgerEntry.objects.filter(account=Account.BUYER_BALANCE, party_id=buyer_id)
        .select_related("transaction", "order")
        .order_by("-transaction__created_at", "-id")
    )


def buyer_balance_totals(buyer_id: int) -> list[Money]:
    """Return the buyer's balance in each currency it has lines in (JPY when none)."""
    lines = LedgerEntry.objects.filter(account=Account.BUYER_BALANCE, party_id=buyer_id)
    currencies = sorted(set(lines.values_list("currency", flat=True).distinct()) or {"JPY"})
    return [buyer_balance(buyer_id, c) for c in currencies]


def buyer_refunds_to_balance(buyer_id: int) -> int:
    """Count the buyer's refunds paid to the platform balance."""
    return Refund.objects.filter(buyer_id=buyer_id, destination="balance").count()


def order_refunds(order_id: int) -> list[Refund]:
    """Return every refund of the order, the first made first."""
    return list(Refund.objects.filter(order_id=order_id).order_by("pk"))


def claim_refund(claim_id: int) -> Refund | None:
    """Return the claim's refund (a claim has at most one), or None."""
    return Refund.objects.filter(claim_id=claim_id).first()
