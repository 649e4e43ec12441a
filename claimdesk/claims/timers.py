"""Platform timers (SPEC section 9), run by the worker's periodic sweep."""

from __future__ import annotations

import datetime as dt
import logging

from django.utils import timezone

from claimdesk.core.conf import setting
from claimdesk.core.leases import lease_acquire

logger = logging.getLogger(__name__)


def sweep(*, now: dt.datetime | None = None) -> dict[str, int]:
    """Run every platform timer once; return what each did."""
    from claimdesk.payments.services import refunds_recover, refunds_retry_due

    now = now or timezone.now()
    return {
        "refunds_retried": refunds_retry_due(now=now),
        "refunds_recovered": refunds_recover(now=now),
    }


def sweep_if_due(*, holder: str, force: bool = False) -> dict[str, int] | None:
    """Run the sweep if no other worker ran it within the interval."""
    every = dt.timedelta(seconds=0 if force else setting("SWEEP_INTERVAL_SECONDS"))
    if not lease_acquire("platform-sweep", holder=holder, every=every):
        return None
    result = sweep()
    logger.info("sweep: %s", result)
    return result
