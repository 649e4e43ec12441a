"""Draining the task queue: used by the worker command and by tests."""

from __future__ import annotations

import os
import socket

from django.db import transaction
from django_tasks_db.management.commands.db_worker import Worker
from django_tasks_db.models import DBTaskResult


def worker_id() -> str:
    """Return an id naming this process in task claims and leases."""
    return f"{socket.gethostname()}:{os.getpid()}"[:64]


def drain_tasks(*, max_tasks: int | None = None, queues: list[str] | None = None) -> None:
    """Run every ready task until the queue is empty (or `max_tasks` ran)."""
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
        worker.run()
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
