"""Scheduling background work so that a crash never loses it.

With the database task backend the task row is written in the same
transaction as the change that caused it (a transactional outbox): it becomes
visible to workers exactly when that transaction commits and disappears with
it on rollback. With any other backend the task is enqueued on commit.
Inside `task_batch()` (every `orders.history.history_batch()` opens one) the
rows are collected and written in one INSERT when the batch ends.

Workers take the highest priority first, then the oldest. What the periodic
sweep queues goes `BACKGROUND_SHIFT` below the same task queued for a
person's action (`background_work()`), so that the thousands of reminders a
sweep may queue never delay a refund or the mail of a cancel someone just
made.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any, cast

from django.db import DEFAULT_DB_ALIAS, router, transaction
from django.db.models import Q
from django.db.models.signals import pre_save
from django.tasks import Task, TaskResultStatus, task_backends
from django.tasks.base import TASK_MAX_PRIORITY, TASK_MIN_PRIORITY
from django.tasks.signals import task_enqueued
from django.utils.json import normalize_json

from .bulk import insert_rows

if TYPE_CHECKING:
    from django_tasks_db.models import DBTaskResult

#: The task rows of the running `task_batch()`, or None outside one.
_pending: ContextVar[list[DBTaskResult] | None] = ContextVar("task_batch", default=None)

#: How far below its usual priority a task deferred by background work is queued.
BACKGROUND_SHIFT = -20

#: The shift of the running `background_work()` block, 0 outside one.
_shift: ContextVar[int] = ContextVar("task_priority_shift", default=0)


@contextmanager
def background_work(shift: int = BACKGROUND_SHIFT) -> Iterator[None]:
    """Queue the tasks deferred in the block `shift` below their usual priority.

    For work nobody is waiting on at this moment (the periodic sweep): its
    tasks keep their order among themselves but wait behind those a person's
    action queued.
    """
    token = _shift.set(_shift.get() + shift)
    try:
        yield
    finally:
        _shift.reset(token)


def _shifted(task: Task[Any, Any]) -> Task[Any, Any]:
    shift = _shift.get()
    if not shift or not task_backends[task.backend].supports_priority:
        return task
    return task.using(
        priority=max(TASK_MIN_PRIORITY, min(TASK_MAX_PRIORITY, task.priority + shift))
    )


def _backend_is_transactional(task: Task[Any, Any]) -> bool:
    backend = task_backends[task.backend]
    return type(backend).__module__.startswith("django_tasks_db")


def defer(task: Task[Any, Any], *args: Any, **kwargs: Any) -> None:
    """Enqueue `task` so that it runs only if the current transaction commits.

    Inside `task_batch()` the task's row is written when the batch ends; inside
    `background_work()` it is queued below its usual priority.
    """
    task = _shifted(task)
    if not _backend_is_transactional(task):
        transaction.on_commit(lambda: task.enqueue(*args, **kwargs))
        return
    batch = _pending.get()
    if batch is None:
        task.enqueue(*args, **kwargs)
    else:
        batch.append(_task_row(task, args, kwargs))


def _task_row(task: Task[Any, Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> DBTaskResult:
    """The row `task.enqueue(*args, **kwargs)` would insert, built and checked now, not saved.

    The same fields as the database backend's enqueue; tests/test_tasks_batch.py
    compares the two rows, so an upgrade of the backend that changes them fails there.
    """
    from django_tasks_db.backend import DatabaseBackend
    from django_tasks_db.models import DBTaskResult

    backend = cast(DatabaseBackend, task_backends[task.backend])  # checked by defer()
    backend.validate_task(task)
    # run_after is None for "now" until the backend's pre_save handler fills it
    return DBTaskResult(  # type: ignore[misc]
        id=backend._get_id(),  # noqa: SLF001 - the backend's id (uuid4 unless configured)
        args_kwargs=normalize_json({"args": args, "kwargs": kwargs}),
        priority=task.priority,
        task_path=task.module_path,
        queue_name=task.queue_name,
        run_after=task.run_after,
        backend_name=backend.alias,
    )


@contextmanager
def task_batch() -> Iterator[None]:
    """Write the task rows deferred in the block in one multi-row INSERT at its end.

    Use inside a transaction, like `orders.history.history_batch()` (which opens
    one): after an error nothing is written, and a batch inside a batch hands its
    rows to the outer one only when it ends without an error. The rows' enqueued
    time is when the batch writes them (their order is kept), and
    `task_enqueued` is sent then. A step that may fail inside the block while
    the block goes on needs its own savepoint and batch, as for history lines.
    """
    from django_tasks_db.models import DBTaskResult

    outer = _pending.get()
    rows: list[DBTaskResult] = []
    token = _pending.set(rows)
    try:
        yield
    finally:
        _pending.reset(token)
    if outer is not None:
        outer.extend(rows)
        return
    if not rows:
        return
    using = router.db_for_write(DBTaskResult)
    for row in rows:  # the backend's own pre_save handler fills run_after
        pre_save.send(DBTaskResult, instance=row, raw=False, using=using, update_fields=None)
    if using == DEFAULT_DB_ALIAS:
        insert_rows(DBTaskResult, rows)
    else:
        DBTaskResult.objects.using(using).bulk_create(rows)
    for row in rows:
        backend = task_backends[row.backend_name]
        task_enqueued.send(type(backend), task_result=row.task_result)


def tasks_in_hand(
    task: Task[Any, Any],
    *,
    first_args: list[Any],
    running_since: Any,
    former_paths: tuple[str, ...] = (),
) -> set[Any]:
    """Return which of `first_args` have a row of `task` that a worker will run or is running.

    That is a row waiting in the queue, or one running since `running_since`
    unless the process that claimed it is gone (`core.worker.worker_gone`).
    Rows are matched by their first positional argument; rows queued under
    one of `former_paths` (the task's module path before it moved) count too.
    Empty with a backend other than the database: it has no queue to read.
    """
    if not first_args or not _backend_is_transactional(task):
        return set()
    from django_tasks_db.models import DBTaskResult

    from .worker import worker_gone

    rows = DBTaskResult.objects.filter(
        task_path__in=[task.module_path, *former_paths],
        backend_name=task.backend,
        args_kwargs__args__0__in=first_args,
    ).filter(
        Q(status=TaskResultStatus.READY)
        | Q(status=TaskResultStatus.RUNNING, started_at__gt=running_since)
    )
    return {
        args_kwargs["args"][0]
        for status, args_kwargs, worker_ids in rows.values_list(
            "status", "args_kwargs", "worker_ids"
        )
        if not (status == TaskResultStatus.RUNNING and worker_ids and worker_gone(worker_ids[-1]))
    }


def defer_at(task: Task[Any, Any], run_after: Any, *args: Any, **kwargs: Any) -> None:
    """Enqueue `task` to run after `run_after` once the current transaction commits."""
    later = task.using(run_after=run_after)
    defer(later, *args, **kwargs)
