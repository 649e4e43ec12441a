"""Scheduling background work so that a crash never loses it.

With the database task backend the task row is written in the same
transaction as the change that caused it (a transactional outbox): it becomes
visible to workers exactly when that transaction commits and disappears with
it on rollback. With any other backend the task is enqueued on commit.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.tasks import Task, task_backends


def _backend_is_transactional(task: Task[Any, Any]) -> bool:
    backend = task_backends[task.backend]
    return type(backend).__module__.startswith("django_tasks_db")


def defer(task: Task[Any, Any], *args: Any, **kwargs: Any) -> None:
    """Enqueue `task` so that it runs only if the current transaction commits."""
    if _backend_is_transactional(task):
        task.enqueue(*args, **kwargs)
    else:
        transaction.on_commit(lambda: task.enqueue(*args, **kwargs))


def defer_at(task: Task[Any, Any], run_after: Any, *args: Any, **kwargs: Any) -> None:
    """Enqueue `task` to run after `run_after` once the current transaction commits."""
    later = task.using(run_after=run_after)
    defer(later, *args, **kwargs)
