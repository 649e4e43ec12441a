"""A task for the worker tests: it holds until the test lets it go."""

from __future__ import annotations

from django.db import connection
from django.tasks import task

HOLD_LOCK = 4242  # a PostgreSQL advisory lock the test holds while the task should wait


@task()
def hold() -> str:
    """Wait for the test's advisory lock (PostgreSQL), then finish."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(%s)", [HOLD_LOCK])
        cursor.execute("SELECT pg_advisory_unlock(%s)", [HOLD_LOCK])
    return "done"
