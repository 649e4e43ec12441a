"""Draining the task queue: used by the worker command and by tests."""

from __future__ import annotations

import os
import socket

from django_tasks_db.management.commands.db_worker import Worker


def worker_id() -> str:
    """Return an id naming this process in task claims and leases."""
    return f"{socket.gethostname()}:{os.getpid()}"[:64]


def drain_tasks(*, max_tasks: int | None = None, queues: list[str] | None = None) -> None:
    """Run every ready task until the queue is empty (or `max_tasks` ran)."""
    Worker(
        queue_names=queues or ["*"],
        interval=0,
        batch=True,
        backend_name="default",
        startup_delay=False,
        max_tasks=max_tasks,
        worker_id=worker_id(),
        excluded_queue_names=[],
    ).run()
