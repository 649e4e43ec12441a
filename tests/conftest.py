"""Shared fixtures: people, the task queue, and strict skipping for CI."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator

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
