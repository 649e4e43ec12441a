"""A worker told to stop (SIGTERM, as systemd and Kubernetes do) finishes the task at hand.

Killed in the middle of a task, the process would leave the task RUNNING for
good: no worker takes a claimed task again. These tests start `manage.py
worker` on the test database, hold a task in the middle with an advisory lock,
send SIGTERM and check that the task still finishes and the worker exits 0.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django_tasks_db.models import DBTaskResult

from tests.worker_tasks import HOLD_LOCK, hold

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

DEADLINE = 60


def _database_url() -> str:
    s = connection.settings_dict
    host = s["HOST"] or "127.0.0.1"
    return f"postgres://{s['USER']}:{s['PASSWORD']}@{host}:{s['PORT'] or 5432}/{s['NAME']}"


def _until(condition: Callable[[], bool], what: str) -> None:
    """Wait for another process to reach a state (polling the database or its log)."""
    end = time.monotonic() + DEADLINE
    while not condition():
        if time.monotonic() > end:
            pytest.fail(f"waited {DEADLINE} s for {what}")
        time.sleep(0.05)


@pytest.fixture
def worker(postgres: None, tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], Path]]:
    log = tmp_path / "worker.log"
    env = {**os.environ, "DATABASE_URL": _database_url(), "LOG_LEVEL": "INFO"}
    env.pop("MAIL_SMTP_HOST", None)
    with log.open("wb") as out:
        proc = subprocess.Popen(  # noqa: S603 - fixed command
            [sys.executable, "manage.py", "worker", "--interval", "0.1"],
            cwd=settings.BASE_DIR,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        try:
            yield proc, log
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=DEADLINE)


def test_sigterm_in_the_middle_of_a_task_lets_it_finish(worker):
    """The task being run when SIGTERM arrives finishes SUCCESSFUL; the worker then exits 0."""
    proc, log = worker
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(%s)", [HOLD_LOCK])
    try:
        result = hold.enqueue()
        _until(
            lambda: DBTaskResult.objects.get(pk=result.id).status == "RUNNING",
            "the worker to start the task",
        )
        proc.send_signal(signal.SIGTERM)
        _until(
            lambda: b"stopping after the task at hand" in log.read_bytes(),
            f"the worker to take the signal (log: {log.read_bytes()[-400:]!r})",
        )
        assert proc.poll() is None  # still there: the task is held
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [HOLD_LOCK])
    assert proc.wait(timeout=DEADLINE) == 0, log.read_text()
    task = DBTaskResult.objects.get(pk=result.id)
    assert task.status == "SUCCESSFUL", task.traceback
    assert task.return_value == "done"


def test_sigterm_while_idle_stops_at_once(worker):
    """An idle worker exits 0 on SIGTERM and takes no task queued afterwards."""
    proc, log = worker
    _until(lambda: b"sweep" in log.read_bytes(), "the worker to start")
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=DEADLINE) == 0, log.read_text()
    assert b"stopped" in log.read_bytes()
    result = hold.enqueue()
    assert DBTaskResult.objects.get(pk=result.id).status == "READY"
