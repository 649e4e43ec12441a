"""The periodic platform sweep: every timer of SPEC section 9, once, on one worker at a time.

The timers themselves live with the data they act on (`claimdesk.claims.timers`,
`claimdesk.claims.refunds`, `claimdesk.accounts.tokens`); each handles at most
`SWEEP_ROWS_PER_STEP` rows per sweep. This module runs them in order, puts the
tasks they queue below those of people's actions, and holds the lease that
keeps two workers from sweeping at once.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.utils import timezone

from claimdesk.accounts.tokens import idempotency_keys_purge
from claimdesk.claims.refunds import refunds_recover, refunds_retry_due
from claimdesk.claims.timers import (
    cancel_unpaid_due,
    compact_tallies,
    complete_redeliveries_due,
    complete_trades_due,
    escalate_claims_due,
    fill_claim_order_dates,
    fill_note_shops,
    flag_overdue_claims_due,
    give_delay_points_due,
    impose_restrictions_due,
    lift_restrictions_due,
    remind_delays_due,
)
from claimdesk.core.conf import setting
from claimdesk.core.leases import lease_acquire
from claimdesk.core.tasks import background_work

logger = logging.getLogger(__name__)

#: The lease a worker holds while it sweeps (`claimdesk.core.leases`).
SWEEP_LEASE = "platform-sweep"


def sweep(*, now: dt.datetime | None = None) -> dict[str, int]:
    """Run every platform timer once; return what each did.

    The tasks it queues, refunds apart, go below those of people's actions: a
    first sweep over a large database may queue thousands of reminders.
    """
    now = now or timezone.now()
    # refunds keep the usual priority: buyers are waiting for their money
    refunds = {
        "refunds_retried": refunds_retry_due(now=now),
        "refunds_recovered": refunds_recover(now=now),
    }
    with background_work():  # the rest waits behind the tasks of people's actions
        return refunds | _sweep(now)


def _sweep(now: dt.datetime) -> dict[str, int]:
    return {
        "unpaid_cancelled": cancel_unpaid_due(now=now),
        "delay_reminders": remind_delays_due(now=now),
        "delay_points": give_delay_points_due(now=now),
        # Lift first, so that a shop still late is judged again at once.
        "restrictions_lifted": lift_restrictions_due(now=now),
        "restrictions_imposed": impose_restrictions_due(now=now),
        "trades_completed": complete_trades_due(now=now),
        "claims_flagged_overdue": flag_overdue_claims_due(now=now),
        "claims_escalated": escalate_claims_due(now=now),
        "redeliveries_completed": complete_redeliveries_due(now=now),
        "idempotency_keys_purged": idempotency_keys_purge(now=now),
        "claim_order_dates_filled": fill_claim_order_dates(now=now),
        "note_shops_filled": fill_note_shops(now=now),
        "tally_rows_folded": compact_tallies(),
    }


def sweep_if_due(*, holder: str, force: bool = False) -> dict[str, int] | None:
    """Run the sweep if no other worker ran it within the interval."""
    every = dt.timedelta(seconds=0 if force else setting("SWEEP_INTERVAL_SECONDS"))
    if not lease_acquire(SWEEP_LEASE, holder=holder, every=every):
        return None
    result = sweep()
    logger.info("sweep: %s", result)
    return result
