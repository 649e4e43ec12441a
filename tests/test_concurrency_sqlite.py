"""The concurrency scenarios (a) and (d) of test_concurrency_pg, and its processor race, on SQLite.

SQLite serialises writers with BEGIN IMMEDIATE (config/settings.py), so the
second of two simultaneous actions waits for the first and is then refused.

This needs a test database in a file. Django's default SQLite test database
lives in memory, shared between threads through SQLite's shared cache, where
a second writer gets "database table is locked" at once instead of waiting
for the busy timeout; the tests skip there. Give the test database a file
name (DATABASES["default"]["TEST"]["NAME"]) to run them.
"""

from __future__ import annotations

import pytest
from django.db import connection

from tests.test_concurrency_pg import scenario_two_instant_cancels, scenario_two_staff_approve
from tests.test_concurrency_pg import (
    test_the_same_refund_sent_twice_at_once_reaches_the_processor_once as same_refund_twice,
)

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def sqlite_file() -> None:
    if connection.vendor != "sqlite":
        pytest.skip("the SQLite variant of tests/test_concurrency_pg.py")
    if connection.is_in_memory_db():
        pytest.skip(
            "threads cannot wait for each other on the shared-cache in-memory test database"
        )


def test_two_staff_approve_the_same_cancel_request_on_sqlite(seller, buyer):
    """(a) Two staff members of the shop approve one cancel request at the same moment."""
    scenario_two_staff_approve(seller, buyer)


def test_two_instant_cancels_of_the_same_order_on_sqlite(seller, buyer):
    """(d) A double-clicked instant cancel: one claim, one refund."""
    scenario_two_instant_cancels(seller, buyer)


def test_the_same_refund_sent_twice_at_once_on_sqlite(seller, buyer, settings):
    """Two workers holding one refund call the processor together: one record, one refund."""
    same_refund_twice(seller, buyer, settings)
