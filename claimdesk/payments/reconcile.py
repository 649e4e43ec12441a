"""Reconciliation: claimdesk's card refunds and ledger against the provider's refund list.

`refunds_reconcile` lists the provider's refunds created since a day
(`PaymentGateway.refunds_since`: Stripe's refund list, or the simulated
processor's own records), pairs them with claimdesk's refunds by the attempt
key the provider keeps (else by the provider's refund id) and reports every
difference; the last report is shown on the console's refund monitor.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import Q, Sum
from django.utils import timezone
from django.utils.translation import gettext_lazy

from .gateways import PaymentGateway, ProviderRefund, get_gateway
from .models import (
    Account,
    LedgerEntry,
    ReconciliationReport,
    Refund,
    RefundDestination,
    RefundStatus,
)

#: Provider statuses under which money has left (or is leaving) the platform.
MOVING = frozenset({"succeeded", "pending", "requires_action"})

DIFFERENCE_LABELS = {
    "missing_at_provider": gettext_lazy("Completed in claimdesk, missing at the provider"),
    "unknown_to_claimdesk": gettext_lazy("At the provider, unknown to claimdesk"),
    "amount_mismatch": gettext_lazy("Amounts differ"),
    "status_mismatch": gettext_lazy("Completed at the provider, not in claimdesk"),
}


def _difference(
    kind: str, refund: Refund | None, found: ProviderRefund | None, **extra: Any
) -> dict[str, Any]:
    return {
        "kind": kind,
        "refund": refund.pk if refund else None,
        "order_no": refund.order.order_no if refund else "",
        "key": refund.attempt_key if refund else (found.key if found else ""),
        "reference": found.reference if found else (refund.gateway_reference if refund else ""),
        "currency": (refund.currency if refund else found.amount.currency if found else ""),
        "claimdesk_minor": refund.amount_minor if refund else None,
        "provider_minor": found.amount.minor if found else None,
        **extra,
    }


def _ledger_minor(refund_ids: list[int]) -> dict[int, int]:
    """Return what the ledger paid out through the gateway for each refund (a positive amount)."""
    rows = (
        LedgerEntry.objects.filter(
            transaction__refund_id__in=refund_ids, account=Account.GATEWAY_CLEARING
        )
        .values("transaction__refund_id")
        .annotate(total=Sum("amount_minor"))
    )
    return {r["transaction__refund_id"]: -r["total"] for r in rows}


def refunds_reconcile(
    *, since: dt.date, gateway: PaymentGateway | None = None
) -> ReconciliationReport:
    """Compare card refunds and their ledger postings since `since` with the provider; store the report."""
    gateway = gateway or get_gateway()
    start = dt.datetime.combine(since, dt.time.min, tzinfo=timezone.get_current_timezone())
    listed = [r for r in gateway.refunds_since(start) if r.status in MOVING]
    by_key = {r.key: r for r in listed if r.key}
    by_reference = {r.reference: r for r in listed}
    base_keys = {r.key.rpartition(":")[0] for r in listed if ":" in r.key}
    refunds = list(
        Refund.objects.select_related("order")
        .filter(
            Q(created_at__gte=start, destination=RefundDestination.CARD)
            | Q(idempotency_key__in=base_keys)
        )
        .order_by("pk")
    )
    ledger = _ledger_minor([r.pk for r in refunds])
    differences: list[dict[str, Any]] = []
    matched: set[str] = set()
    checked_local = 0
    for refund in refunds:
        found = by_key.get(refund.attempt_key) or (
            by_reference.get(refund.gateway_reference) if refund.gateway_reference else None
        )
        if refund.destination != RefundDestination.CARD:
            continue  # settled to the balance by hand: money the provider moved is unknown
        if found is not None:
            matched.add(found.reference)
        checked_local += 1
        succeeded = refund.status == RefundStatus.SUCCEEDED
        if found is None:
            if succeeded:
                differences.append(_difference("missing_at_provider", refund, None))
            continue
        paid = ledger.get(refund.pk)
        if found.amount.minor != refund.amount_minor or (
            succeeded and paid is not None and paid != found.amount.minor
        ):
            differences.append(_difference("amount_mismatch", refund, found, ledger_minor=paid))
        elif found.status == "succeeded" and not succeeded:
            differences.append(_difference("status_mismatch", refund, found, status=refund.status))
    for found in listed:
        if found.reference not in matched:
            differences.append(_difference("unknown_to_claimdesk", None, found))
    return ReconciliationReport.objects.create(
        provider=getattr(gateway, "name", type(gateway).__name__),
        since=since,
        checked_local=checked_local,
        checked_provider=len(listed),
        differences=differences,
    )


def reconciliation_latest() -> dict[str, Any]:
    """Return the last reconciliation report and its differences with their labels."""
    report = ReconciliationReport.objects.order_by("-created_at", "-pk").first()
    rows = []
    if report is not None:
        for d in report.differences:
            rows.append({**d, "label": DIFFERENCE_LABELS.get(d["kind"], d["kind"])})
    return {"reconciliation": report, "reconciliation_rows": rows}
