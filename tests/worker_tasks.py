"""A task and a push provider for the worker tests: they hold until the test lets them go."""

from __future__ import annotations

import json
import os
from typing import Any

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


PUSH_LOCK = 4243  # held by the test while a push should wait at the provider


class HeldPushAdapter:
    """A push provider that waits for the test's advisory lock, then logs the push to a file.

    The file (CLAIMDESK_TEST_PUSH_LOG) is written only once the push went through,
    as a provider would answer only then.
    """

    def send(self, message: Any) -> None:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(%s)", [PUSH_LOCK])
            cursor.execute("SELECT pg_advisory_unlock(%s)", [PUSH_LOCK])
        line = json.dumps({"token": message.token, "note": message.data.get("note")})
        with open(os.environ["CLAIMDESK_TEST_PUSH_LOG"], "a", encoding="utf-8") as log:
            log.write(line + "\n")
