"""Draining the task queue: used by the worker command and by tests."""

from __future__ import annotations

import datetime as dt
import logging
import os
import signal
import socket
from types import FrameType

from django.db import transaction
from django.tasks import TaskResultStatus
from django.utils import timezone
from django_tasks_db.management.commands.db_worker import Worker
from django_tasks_db.models import DBTaskResult

from .conf import setting

logger = logging.getLogger(__name__)


def worker_id(pid: int | None = None) -> str:
    """Return an id naming this process (or process `pid` of this host) in task claims and leases."""
    return f"{socket.gethostname()}:{os.getpid() if pid is None else pid}"[:64]


def worker_gone(claimed_by: str) -> bool:
    """Return whether `claimed_by` names a process of this host that no longer exists.

    A worker restarted on the same host can thus take over at once the tasks
    its predecessor died holding; another host's worker is judged by time.
    """
    _, _, digits = claimed_by.rpartition(":")
    if not (digits.isascii() and digits.isdigit()) or worker_id(pid := int(digits)) != claimed_by:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # it exists, run by another user
        return False
    return False


def claim_is_free(claimed_by: str, claimed_at: dt.datetime | None, *, now: dt.datetime) -> bool:
    """Return whether a row claimed by `claimed_by` at `claimed_at` may be taken by another worker.

    Free when nobody claimed it, when the claiming process is gone from this
    host, or when the claim is older than CLAIM_STALE_SECONDS (a worker of
    another host, judged by time).
    """
    if not claimed_by or claimed_at is None or worker_gone(claimed_by):
        return True
    return claimed_at < now - dt.timedelta(seconds=setting("CLAIM_STALE_SECONDS"))


def tasks_recover(
    *, now: dt.datetime | None = None, starting: bool = False, stale_seconds: int | None = None
) -> int:
    """Hand the tasks whose worker died back to the queue; return how many.

    A worker killed in the middle of a task (kill -9, a lost machine) leaves
    its row RUNNING, and no worker takes a claimed task again. A RUNNING task
    is taken back when the process that claimed it is gone from this host
    (`worker_gone`), when it has run for more than TASK_STALE_SECONDS (a worker
    of another host), or, for the worker `starting` now, when it was claimed
    under this very process id (a restarted container reuses its pid). It goes
    back to READY and runs again from the start: every task is written to be
    run twice (a mail or a webhook claims its row before it goes out; a refund
    replays the gateway's answer; a bulk sheet and the sweep redo only what is
    not done). A conditional update lets one of several recovering workers win.
    """
    now = now or timezone.now()
    seconds = setting("TASK_STALE_SECONDS") if stale_seconds is None else stale_seconds
    cutoff = now - dt.timedelta(seconds=seconds)
    me = worker_id()
    running = DBTaskResult.objects.filter(status=TaskResultStatus.RUNNING)
    count = 0
    for pk, worker_ids, started_at in running.values_list("pk", "worker_ids", "started_at"):
        holder = worker_ids[-1] if worker_ids else ""
        dead = (
            started_at is None
            or started_at < cutoff
            or worker_gone(holder)
            or (starting and holder == me)
        )
        if not dead:
            continue
        count += DBTaskResult.objects.filter(
            pk=pk, status=TaskResultStatus.RUNNING, started_at=started_at
        ).update(status=TaskResultStatus.READY, started_at=None)
    if count:
        logger.warning("recovered %s tasks whose worker died", count)
    return count


class GracefulStop:
    """SIGTERM or SIGINT: finish the task at hand, then stop (a second signal stops at once).

    The process killed in the middle of a task would leave it RUNNING for good:
    no worker takes a claimed task again. A second signal raises SystemExit in
    the task, which the task runner records as FAILED (not RUNNING).
    """

    def __init__(self) -> None:
        self.requested = False
        self._worker: Worker | None = None

    def install(self) -> None:
        global _installed  # noqa: PLW0603 - one per worker process
        _installed = self
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, self._on_signal)

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        if self.requested:
            raise SystemExit(1)
        self.requested = True
        logger.warning("%s: stopping after the task at hand", signal.strsignal(signum))
        if self._worker is not None:
            self._worker.running = False  # its loop ends once the current task is done

    def watch(self, worker: Worker) -> None:
        self._worker = worker
        if self.requested:
            worker.running = False

    def release(self) -> None:
        self._worker = None


_installed: GracefulStop | None = None


def stop_requested() -> bool:
    """Whether this worker process was told to stop: a long task may hand its rest on."""
    return _installed is not None and _installed.requested


def drain_tasks(
    *,
    max_tasks: int | None = None,
    queues: list[str] | None = None,
    stop: GracefulStop | None = None,
) -> None:
    """Run every ready task until the queue is empty (or `max_tasks` ran, or `stop` came)."""
    worker = Worker(
        queue_names=queues or ["*"],
        interval=0,
        batch=True,
        backend_name="default",
        startup_delay=False,
        max_tasks=max_tasks,
        worker_id=worker_id(),
        excluded_queue_names=[],
    )
    if not transaction.get_connection().in_atomic_block:
        if stop is None:
            worker.run()
            return
        stop.watch(worker)
        try:
            worker.run()
        finally:
            stop.release()
        return
    # Called inside a transaction (a test's rolled-back one): Worker.run() closes
    # "old" connections between tasks, which on PostgreSQL kills this transaction.
    # Claim and run the tasks one by one instead, exactly as the worker would.
    ready = DBTaskResult.objects.ready().filter(backend_name="default")
    if queues and "*" not in queues:
        ready = ready.filter(queue_name__in=queues)
    ran = 0
    while max_tasks is None or ran < max_tasks:
        with transaction.atomic():
            task_result = ready.get_locked()
            if task_result is None:
                return
            task_result.claim(worker.worker_id)
        worker.run_task(task_result)
        ran += 1
