"""Run the background worker: the platform timers, then every ready task, until stopped.

SIGTERM or SIGINT stops it after the task at hand (a second one at once).
"""

from __future__ import annotations

import logging
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from claimdesk.claims.refunds import refunds_recover
from claimdesk.core.conf import setting
from claimdesk.core.worker import GracefulStop, drain_tasks, tasks_recover, worker_id
from claimdesk.ops.sweep import sweep_if_due

logger = logging.getLogger(__name__)


class Command(BaseCommand):
    help = "Run the task worker and the periodic platform sweep."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--once", action="store_true", help="Sweep once, drain the queue and exit."
        )
        parser.add_argument(
            "--interval", type=float, default=1.0, help="Seconds to wait when the queue is empty."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        me = worker_id()
        # A worker that died left its tasks RUNNING and its refunds pending: hand
        # them back now. Running one twice is harmless (each task is idempotent).
        tasks_recover(starting=True)
        recovered = refunds_recover(stale_seconds=0)
        if recovered:
            logger.info("recovered %s pending refunds", recovered)
        stop = GracefulStop()
        stop.install()
        every = setting("SWEEP_INTERVAL_SECONDS")
        next_recovery = time.monotonic() + every
        while not stop.requested:
            sweep_if_due(holder=me, force=bool(options["once"]))
            if stop.requested:
                break
            if time.monotonic() >= next_recovery:  # another worker may have died meanwhile
                tasks_recover()
                next_recovery = time.monotonic() + every
            drain_tasks(stop=stop)
            if options["once"]:
                return
            if not stop.requested:
                time.sleep(min(options["interval"], setting("SWEEP_INTERVAL_SECONDS")))
        logger.info("worker %s stopped", me)
