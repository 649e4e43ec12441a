"""Run a periodic job on one worker at a time."""

from __future__ import annotations

import datetime as dt

from django.db import IntegrityError, transaction
from django.utils import timezone

from .models import Lease
from .worker import worker_gone


def lease_acquire(
    name: str, *, holder: str, every: dt.timedelta, now: dt.datetime | None = None
) -> bool:
    """Take the lease `name` if it is free and the job is due; return whether we hold it."""
    now = now or timezone.now()
    with transaction.atomic():
        lease = Lease.objects.select_for_update().filter(name=name).first()
        if lease is None:
            try:
                with transaction.atomic():
                    Lease.objects.create(
                        name=name, holder=holder, until=now + every, last_run_at=now
                    )
            except IntegrityError:
                return False
            return True
        if lease.until > now and lease.holder != holder and not worker_gone(lease.holder):
            return False
        if worker_gone(lease.holder):
            # its holder died in the middle of the job: run it again now
            lease.last_run_at = None
        if lease.last_run_at is not None and lease.last_run_at + every > now:
            return False
        lease.holder = holder
        lease.until = now + every
        lease.last_run_at = now
        lease.save()
    return True
