"""Recount the seller's box-count tallies from the orders and claims."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, no_translations
from django.db import connection, transaction

from claimdesk.claims.models import ClaimTally
from claimdesk.claims.tally import CLAIMS
from claimdesk.core import tally
from claimdesk.orders.models import OrderTally
from claimdesk.orders.tally import ORDERS


class Command(BaseCommand):
    help = (
        "Recount the box-count tallies from the orders and claims, after a load or restore "
        "that ran with the database triggers switched off. Safe to run at any time."
    )

    @no_translations
    def handle(self, *args: Any, **options: Any) -> None:
        began = time.monotonic()
        with transaction.atomic():
            # writers wait for the recount instead of adding rows it would delete
            if connection.vendor == "postgresql":
                with connection.cursor() as cursor:
                    cursor.execute(
                        "LOCK TABLE orders_order, claims_claim IN SHARE ROW EXCLUSIVE MODE"
                    )
            tally.rebuild(connection, ORDERS)
            tally.rebuild(connection, CLAIMS)
        self.stdout.write(
            f"tallies recounted in {time.monotonic() - began:.1f} s: "
            f"{OrderTally.objects.count()} order keys, {ClaimTally.objects.count()} claim keys"
        )
