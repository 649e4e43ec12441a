"""Task rows deferred inside a batch: one INSERT at its end, the rows `enqueue` would write."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection, transaction
from django.tasks import task
from django.tasks.backends.immediate import ImmediateBackend
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from claimdesk.claims.refunds import process_refund
from claimdesk.core.tasks import defer, defer_at, task_batch
from claimdesk.messaging.tasks import send_notification

pytestmark = pytest.mark.django_db

FIELDS = (
    "status",
    "args_kwargs",
    "priority",
    "task_path",
    "queue_name",
    "run_after",
    "backend_name",
)


def _row(task_id: object) -> tuple[object, ...]:
    return DBTaskResult.objects.filter(pk=task_id).values_list(*FIELDS).get()


def test_a_batched_row_is_the_row_enqueue_writes() -> None:
    """Field for field, for a task to run now and one to run later; the worker can take both."""
    later = timezone.now() + dt.timedelta(minutes=5)
    with transaction.atomic():
        defer(process_refund, 7)
        defer_at(send_notification, later, 8)
    alone = list(DBTaskResult.objects.order_by("task_path").values_list(*FIELDS))
    DBTaskResult.objects.all().delete()
    with transaction.atomic(), task_batch():
        defer(process_refund, 7)
        defer_at(send_notification, later, 8)
        assert not DBTaskResult.objects.exists()  # written when the batch ends
    batched = list(DBTaskResult.objects.order_by("task_path").values_list(*FIELDS))
    assert batched == alone
    assert DBTaskResult.objects.ready().count() == 1  # the later one waits for its time
    results = [r.task_result for r in DBTaskResult.objects.order_by("task_path")]
    assert [r.args for r in results] == [[7], [8]]  # claims.refunds < messaging.tasks


def test_one_insert_for_the_whole_batch() -> None:
    with transaction.atomic(), CaptureQueriesContext(connection) as queries, task_batch():
        for n in range(5):
            defer(process_refund, n)
    inserts = [q for q in queries if q["sql"].startswith('INSERT INTO "django_tasks_database')]
    assert len(inserts) == 1
    assert sorted(r.task_result.args[0] for r in DBTaskResult.objects.all()) == [0, 1, 2, 3, 4]


def test_a_step_that_fails_takes_its_tasks_with_it() -> None:
    """An inner batch hands its rows to the outer one only when it ends without an error."""
    with transaction.atomic(), task_batch():
        defer(process_refund, 1)
        with pytest.raises(RuntimeError), transaction.atomic(), task_batch():
            defer(process_refund, 2)
            raise RuntimeError("refused")
        with transaction.atomic(), task_batch():
            defer(process_refund, 3)
    assert sorted(r.task_result.args[0] for r in DBTaskResult.objects.all()) == [1, 3]


def test_an_error_in_the_block_writes_nothing() -> None:
    with pytest.raises(RuntimeError), transaction.atomic(), task_batch():
        defer(process_refund, 1)
        raise RuntimeError("refused")
    assert not DBTaskResult.objects.exists()


def test_arguments_that_cannot_be_stored_are_refused_at_once() -> None:
    """Not at the end of the batch, where the caller could no longer tell which call it was."""
    with transaction.atomic(), task_batch():
        with pytest.raises(TypeError):
            defer(process_refund, object())
        defer(process_refund, 1)
    assert [r.task_result.args for r in DBTaskResult.objects.all()] == [[1]]


@pytest.mark.parametrize("batched", [False, True])
def test_background_work_waits_below_what_people_queue(batched: bool) -> None:
    """The sweep's tasks (shifted down, clamped at the minimum) are taken after people's."""
    from contextlib import nullcontext

    from claimdesk.core.tasks import background_work

    with transaction.atomic(), task_batch() if batched else nullcontext():
        with background_work():
            defer(send_notification, 1)
            defer(process_refund, 2)
            with background_work(shift=-90):
                defer(send_notification, 3)
        defer(send_notification, 4)
        defer(process_refund, 5)
    rows = DBTaskResult.objects.all()
    assert {r.task_result.args[0]: r.priority for r in rows} == {
        1: -20,
        2: -20,
        3: -100,
        4: 0,
        5: 0,
    }
    # the order the worker takes them in (the oldest first within a priority)
    taken = [r.task_result.args[0] for r in DBTaskResult.objects.ready()]
    assert (set(taken[:2]), set(taken[2:4]), taken[4]) == ({4, 5}, {1, 2}, 3)


class _NoPriorities(ImmediateBackend):
    supports_priority = False


def test_background_work_keeps_the_priority_a_backend_cannot_store(
    settings, django_capture_on_commit_callbacks
) -> None:
    """With a backend without priorities the sweep's task is still sent, at the usual priority."""
    from claimdesk.core.tasks import background_work

    settings.TASKS = {"default": {"BACKEND": f"{__name__}._NoPriorities"}}
    with django_capture_on_commit_callbacks(execute=True), background_work():
        defer(_remember, 7)
        assert _REMEMBERED == []  # sent once the transaction commits
    assert _REMEMBERED == [7]
    assert not DBTaskResult.objects.exists()


_REMEMBERED: list[int] = []


@task
def _remember(n: int) -> None:
    _REMEMBERED.append(n)
