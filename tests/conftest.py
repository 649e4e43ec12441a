"""Shared fixtures: people, the task queue, and strict skipping for CI."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.core import mail
from django.db import connection

from claimdesk.core.worker import drain_tasks
from tests.factories import BuyerFactory, OperatorFactory, SellerFactory

STRICT = os.environ.get("CLAIMDESK_STRICT", "") not in ("", "0")


def need(condition: bool, reason: str) -> None:
    """Skip the calling test for `reason` unless `condition`; fail instead under CLAIMDESK_STRICT."""
    if condition:
        return
    if STRICT:
        pytest.fail(f"required component missing (CLAIMDESK_STRICT is set): {reason}")
    pytest.skip(reason)


def is_postgres() -> bool:
    return connection.vendor == "postgresql"


@pytest.fixture
def postgres() -> None:
    """Require PostgreSQL (concurrency tests)."""
    need(
        is_postgres(),
        "needs PostgreSQL: set DATABASE_URL=postgres://… (row locks under real concurrency)",
    )


@pytest.fixture
def run_tasks() -> Callable[[], None]:
    """Return a function that runs every queued task, like one worker pass."""
    return drain_tasks


@pytest.fixture
def outbox() -> Iterator[list[object]]:
    mail.outbox = []
    yield mail.outbox


@pytest.fixture
def seller(db: None):  # type: ignore[no-untyped-def]
    return SellerFactory()


@pytest.fixture
def other_seller(db: None):  # type: ignore[no-untyped-def]
    return SellerFactory()


@pytest.fixture
def buyer(db: None):  # type: ignore[no-untyped-def]
    return BuyerFactory()


@pytest.fixture
def other_buyer(db: None):  # type: ignore[no-untyped-def]
    return BuyerFactory()


@pytest.fixture
def operator(db: None):  # type: ignore[no-untyped-def]
    return OperatorFactory()


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings: Any) -> None:
    """Hash test passwords cheaply: a real hasher costs half a second per user."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _fee_table(request: pytest.FixtureRequest) -> None:
    """Put back the seeded payment-fee table that a transactional test's flush removed."""
    if request.node.get_closest_marker("django_db") is None and "db" not in request.fixturenames:
        return
    request.getfixturevalue("_django_db_helper")
    from importlib import import_module

    from claimdesk.payments.models import PaymentFeeRule

    bands = import_module("claimdesk.payments.migrations.0002_fee_table").BANDS
    if PaymentFeeRule.objects.count() < len(bands):
        for method, minimum, fee in bands:
            PaymentFeeRule.objects.get_or_create(
                method=method, currency="JPY", min_amount_minor=minimum, defaults={"fee_minor": fee}
            )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test that asks for the `postgres` fixture with the `postgres` marker.

    `make test-core` deselects that marker on SQLite; a test that forgot the
    marker would otherwise fail there under CLAIMDESK_STRICT.
    """
    for item in items:
        if (
            "postgres" in getattr(item, "fixturenames", ())
            and item.get_closest_marker("postgres") is None
        ):
            item.add_marker(pytest.mark.postgres)
