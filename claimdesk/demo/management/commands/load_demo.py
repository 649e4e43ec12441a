"""Load the demo shops, buyers, orders and claims, once."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser, no_translations

from claimdesk.claims.models import ClaimStatus
from claimdesk.demo.builder import (
    DEMO_PASSWORD,
    DEMO_SEED,
    DemoSummary,
    demo_load,
    demo_logins,
    demo_try_this,
)
from claimdesk.orders.models import PaymentMethod, ShippingStatus
from claimdesk.payments.models import RefundStatus


class Command(BaseCommand):
    help = (
        "Create 3 demo shops, 30 buyers and 300+ orders in every shipping and claim status, "
        "through the services. Does nothing if the demo shops exist."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--seed", type=int, default=DEMO_SEED, help="Seed of the names and stories."
        )

    @no_translations
    def handle(self, *args: Any, **options: Any) -> None:
        started = time.monotonic()
        summary = demo_load(seed=options["seed"])
        if summary is None:
            self.stdout.write(self.style.WARNING("demo data already loaded; nothing changed."))
        else:
            self.stdout.write(
                self.style.SUCCESS(f"demo data loaded in {time.monotonic() - started:.1f} s.")
            )
            self._summary(summary)
        self._logins()
        self._try_this()

    def _summary(self, summary: DemoSummary) -> None:
        out = self.stdout.write
        out(f"\nOrders: {summary.orders} in {summary.carts} carts")
        out("Live orders by shipping status:")
        for status in ShippingStatus:
            out(
                f"  {status.value}  {status.label:<20} {summary.live_by_shipping_status.get(status, 0):>4}"
            )
        out(f"     {'delayed':<20} {summary.delayed:>4}")
        out(f"     {'trade completed':<20} {summary.completed:>4}")
        out(f"     {'cancelled/returned':<20} {summary.closed:>4}")
        out("Claims by status:")
        for claim_status in ClaimStatus:
            count = summary.claims_by_status.get(claim_status, 0)
            out(f"  {claim_status.value:>2}  {claim_status.label:<34} {count:>4}")
        out("Carts by payment method:")
        for method in PaymentMethod:
            out(f"  {method.label:<24} {summary.payment_methods.get(method, 0):>4}")
        out("Refunds:")
        for refund_status in RefundStatus:
            out(f"  {refund_status.label:<24} {summary.refunds_by_status.get(refund_status, 0):>4}")

    def _logins(self) -> None:
        out = self.stdout.write
        out(f"\nLogins (password for all: {DEMO_PASSWORD}):")
        out(f"  {'username':<14} {'role':<9} {'shop':<6} language")
        for login in demo_logins():
            out(f"  {login.username:<14} {login.role:<9} {login.shop or '-':<6} {login.language}")
        out("The operator may also sign in to /admin/.")

    def _try_this(self) -> None:
        out = self.stdout.write
        out("\nTry this (order no · sign in as):")
        for row in demo_try_this():
            out(f"  {row.what:<44} {row.order_no}  seller {row.seller} · buyer {row.buyer}")
